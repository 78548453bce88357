/**
 * The receiver's request flow: route, authenticate, allowlist, validate, enqueue, answer, log once. The
 * decisions live in pure modules; this file only sequences them around the two AWS calls.
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { DeliveryKind } from "../shared/contract/delivery";
import { CachedValue } from "../shared/secret-cache";
import { readSecretString } from "../shared/secrets";
import { isSourceIpAllowed } from "./allowlists";
import { authenticate, findHeader } from "./auth";
import type { ReceiverConfig } from "./config";
import {
  buildDeliveryMessage,
  checkRoute,
  classifyPayload,
  decodeBody,
  loggableIds,
  type Payload,
  parseMetadata,
  parsePayload,
  serializeDeliveryMessage,
} from "./core";
import { withDeadline } from "./deadline";
import { deliveryLogEvent, errorResponse, queuedResponse, type Rejection, unavailable } from "./outcome";
// The receiver's own emitter, not Powertools: see the reason in ./telemetry.ts.
import { describeError, emit } from "./telemetry";

export interface ReceiverDeps {
  readonly sqs: SQSClient;
  readonly secretsManager: SecretsManagerClient;
  /** Clock for received_at, latency and the secret cache's TTL. */
  readonly now?: () => number;
}

export type WebhookHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

export class SecretUnavailableError extends Error {
  override readonly name = "SecretUnavailableError";
}

const UNAUTHORIZED: Rejection = {
  statusCode: 401,
  error: "unauthorized",
  message: "the authentication header is missing or does not match",
};

const FORBIDDEN: Rejection = {
  statusCode: 403,
  error: "forbidden",
  message: "deliveries are not accepted from this source address",
};

/**
 * The secret values a delivery may present: AWSCURRENT; AWSPENDING, which `rotate-secret` stages a cache
 * TTL before it becomes current so that every instance accepts a new value before anyone sends it; and
 * AWSPREVIOUS, so jobs submitted before a rotation still deliver. Values are trimmed because HTTP strips
 * surrounding whitespace from header values, so a stored trailing newline could otherwise never match.
 */
export async function readAcceptedSecrets(client: SecretsManagerClient, secretId: string): Promise<string[]> {
  // In parallel: one round trip, so a cold read keeps within SECRET_DEADLINE_MS.
  const [current, pending, previous] = await Promise.all([
    readSecretString(client, secretId, "AWSCURRENT"),
    readSecretString(client, secretId, "AWSPENDING"),
    readSecretString(client, secretId, "AWSPREVIOUS"),
  ]);
  return acceptedValues(current, pending, previous);
}

/** The distinct non-empty values of the three stages, AWSCURRENT first; throws without AWSCURRENT. */
export function acceptedValues(
  current: string | undefined,
  pending: string | undefined,
  previous: string | undefined,
): string[] {
  const currentValue = current?.trim();
  if (!currentValue) throw new SecretUnavailableError("the webhook secret has no AWSCURRENT string value");
  const values = [currentValue];
  for (const value of [pending?.trim(), previous?.trim()]) {
    if (value && !values.includes(value)) values.push(value);
  }
  return values;
}

type Result =
  | { readonly rejection: Rejection; readonly detail?: string }
  | { readonly kind: DeliveryKind; readonly messageId: string };

/** What the flow learnt before it stopped, for the log line. */
interface Progress {
  payload?: Payload;
  kind?: DeliveryKind;
  note?: string;
}

export function createHandler(config: ReceiverConfig, deps: ReceiverDeps): WebhookHandler {
  const now = deps.now ?? (() => Date.now());
  // Fetched on first use and kept for the TTL, and re-read only when the TTL has passed: never because of
  // what a request presents, so no unauthenticated caller can drive Secrets Manager reads or use up a
  // re-read a genuine delivery would need. rotate-secret stages a value a TTL ahead, so none is needed.
  const acceptedSecrets = new CachedValue(
    () =>
      withDeadline(
        readAcceptedSecrets(deps.secretsManager, config.webhookSecretArn),
        config.secretDeadlineMs,
        "Secrets Manager",
      ),
    config.secretCacheTtlMs,
    now,
  );

  async function enqueue(body: string): Promise<string> {
    const controller = new AbortController();
    const command = new SendMessageCommand({ QueueUrl: config.queueUrl, MessageBody: body });
    const result = await withDeadline(
      deps.sqs.send(command, { abortSignal: controller.signal }),
      config.enqueueDeadlineMs,
      "SQS SendMessage",
      () => controller.abort(),
    );
    return result.MessageId ?? "";
  }

  async function receive(
    event: APIGatewayProxyEventV2,
    receivedAt: number,
    progress: Progress,
  ): Promise<Result> {
    const route = checkRoute(event.rawPath, event.requestContext?.http?.method);
    if (!route.ok) return route;

    // The source address first: a probe from outside the allowlist costs no Secrets Manager call (and
    // learns nothing about the secret).
    const sourceIp = event.requestContext?.http?.sourceIp ?? "";
    if (!isSourceIpAllowed(config.sourceIps, sourceIp)) return { rejection: FORBIDDEN };

    const presented = findHeader(event.headers, config.authHeaderName);
    // A missing header is refused before any Secrets Manager call.
    if (!presented) return { rejection: UNAUTHORIZED };
    let accepted: readonly string[];
    try {
      accepted = await acceptedSecrets.get();
    } catch (error) {
      return { rejection: unavailable.secret(), detail: describeError(error) };
    }
    if (!authenticate(presented, accepted)) return { rejection: UNAUTHORIZED };

    const text = decodeBody(event.body, event.isBase64Encoded === true, config.maxBodyBytes);
    if (!text.ok) return text;
    const payload = parsePayload(text.value);
    if (!payload.ok) return payload;
    progress.payload = payload.value;

    const metadata = parseMetadata(event.rawQueryString);
    if (!metadata.ok) return metadata;
    const classification = classifyPayload(payload.value, config.redactedAudioHosts);
    if (!classification.ok) return classification;
    progress.kind = classification.value.kind;
    if (classification.value.kind === "unknown") progress.note = classification.value.note;

    const message = buildDeliveryMessage(classification.value, {
      metadata: metadata.value,
      payload: payload.value,
      receivedAt: new Date(receivedAt),
      sourceIp,
      requestId: event.requestContext?.requestId ?? "",
    });
    const body = serializeDeliveryMessage(message);
    if (!body.ok) return body;

    try {
      return { kind: message.kind, messageId: await enqueue(body.value) };
    } catch (error) {
      return { rejection: unavailable.queue(), detail: describeError(error) };
    }
  }

  return async function handler(event) {
    const receivedAt = now();
    const progress: Progress = {};
    let result: Result;
    try {
      result = await receive(event, receivedAt, progress);
    } catch (error) {
      // Never leak the detail to the caller; it goes to the log line only.
      result = { rejection: unavailable.internal(), detail: describeError(error) };
    }
    const response =
      "rejection" in result ? errorResponse(result.rejection) : queuedResponse(result.kind, result.messageId);
    const finishedAt = now();
    emit(
      deliveryLogEvent({
        statusCode: response.statusCode ?? 500,
        requestId: event?.requestContext?.requestId ?? "",
        sourceIp: event?.requestContext?.http?.sourceIp ?? "",
        latencyMs: finishedAt - receivedAt,
        ...(progress.kind !== undefined ? { kind: progress.kind } : {}),
        ...(progress.note !== undefined ? { note: progress.note } : {}),
        ...("rejection" in result
          ? {
              error: result.rejection.error,
              errorMessage: result.rejection.message,
              ...(result.detail !== undefined ? { errorDetail: result.detail } : {}),
            }
          : { messageId: result.messageId }),
        ...loggableIds(event?.rawQueryString, progress.payload),
      }),
      finishedAt,
    );
    return response;
  };
}
