/**
 * The receiver's request flow: route, allowlist, authenticate, queue (a delivery, or the request quarantined),
 * answer, log once. The decisions live in pure modules; this file only sequences them around the AWS calls
 * (Secrets Manager, SQS, and S3 for a claim check).
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { claimCheckBody, type DeliveryMessage, serializeDeliveryMessage } from "../shared/contract/delivery";
import { claimCheckKey } from "../shared/contract/s3-keys";
import { CachedValue } from "../shared/secret-cache";
import { readSecretString } from "../shared/secrets";
import { isSourceIpAllowed } from "./allowlists";
import { authenticate, findHeader } from "./auth";
import type { ObjectWrite } from "./clients";
import type { ReceiverConfig } from "./config";
import { checkRoute, intake, loggableIds } from "./core";
import { withDeadline } from "./deadline";
import { deliveryLogEvent, errorResponse, queuedResponse, type Rejection, unavailable } from "./outcome";
// The receiver's own emitter, not Powertools: see the reason in ./telemetry.ts.
import { describeError, emit } from "./telemetry";

export interface ReceiverDeps {
  readonly sqs: SQSClient;
  readonly secretsManager: SecretsManagerClient;
  /** S3 PutObject, for claim checks only (clients.ts loads the S3 client on first use). */
  readonly putObject: (write: ObjectWrite) => Promise<void>;
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
  | { readonly message: DeliveryMessage; readonly messageId: string };

/** What the flow learnt before it stopped, for the log line. */
interface Progress {
  message?: DeliveryMessage;
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

  /**
   * Queues the message; one too large for SQS is first written to the bucket's inbox and the queue carries
   * its key (a claim check). The S3 client is loaded only then, so the usual path's cold start does not
   * pay for it. Dying between the two writes loses nothing: no 2xx was sent, so AssemblyAI posts again, and
   * the orphaned object expires with the inbox's lifecycle rule.
   */
  async function enqueue(message: DeliveryMessage, receivedAt: number): Promise<string> {
    const remaining = () => Math.max(1, config.responseBudgetMs - (now() - receivedAt));
    const serialized = serializeDeliveryMessage(message);
    let body: string;
    if (serialized.ok) {
      body = serialized.body;
    } else {
      const key = claimCheckKey(message.received_at, message.request_id);
      const claimController = new AbortController();
      await withDeadline(
        deps.putObject({
          bucket: config.bucketName,
          key,
          body: serialized.body,
          signal: claimController.signal,
        }),
        Math.min(config.claimDeadlineMs, remaining()),
        "S3 PutObject (claim check)",
        () => claimController.abort(),
      );
      body = claimCheckBody({ key, bytes: serialized.bytes });
    }
    const controller = new AbortController();
    const command = new SendMessageCommand({ QueueUrl: config.queueUrl, MessageBody: body });
    const result = await withDeadline(
      deps.sqs.send(command, { abortSignal: controller.signal }),
      Math.min(config.enqueueDeadlineMs, remaining()),
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

    // Authenticated: from here on nothing is refused (AssemblyAI never retries a 4xx); what cannot be
    // routed is queued as a quarantine message, kept whole with the reason.
    const message = intake(
      {
        body: event.body,
        isBase64Encoded: event.isBase64Encoded === true,
        rawQueryString: event.rawQueryString,
        headers: event.headers,
        receivedAt: new Date(receivedAt),
        sourceIp,
        requestId: event.requestContext?.requestId ?? "",
      },
      config,
    );
    progress.message = message;

    try {
      return { message, messageId: await enqueue(message, receivedAt) };
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
      "rejection" in result
        ? errorResponse(result.rejection)
        : queuedResponse(result.message, result.messageId);
    const finishedAt = now();
    const { message } = progress;
    emit(
      deliveryLogEvent({
        statusCode: response.statusCode ?? 500,
        requestId: event?.requestContext?.requestId ?? "",
        sourceIp: event?.requestContext?.http?.sourceIp ?? "",
        latencyMs: finishedAt - receivedAt,
        ...(message !== undefined ? { kind: message.kind } : {}),
        ...(message?.kind === "unknown" && message.note !== undefined ? { note: message.note } : {}),
        ...(message?.kind === "quarantine"
          ? { quarantine: { reason: message.reason, message: message.reason_message } }
          : {}),
        ...("rejection" in result
          ? {
              error: result.rejection.error,
              errorMessage: result.rejection.message,
              ...(result.detail !== undefined ? { errorDetail: result.detail } : {}),
            }
          : { messageId: result.messageId }),
        ...loggableIds(message, event?.rawQueryString),
      }),
      finishedAt,
    );
    return response;
  };
}
