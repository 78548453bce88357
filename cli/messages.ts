/**
 * Queue messages the CLI builds (replays) and reads (dead-letter queue entries), as pure functions over
 * plain values: the builder, the metadata rules and the parser are the contract's
 * (`functions/shared/contract/delivery.ts`), the same the receiver, the reconciler and the worker use.
 */
import type { Message } from "@aws-sdk/client-sqs";
import {
  buildDeliveryMessage,
  type DeliveryMetadata,
  metadataIdProblem,
  type ParamValue,
  parseMetadata,
  queryParameters,
  rawQueryOf,
  readClaimCheck,
  type TranscriptDelivery,
} from "../functions/shared/contract/delivery";
import { parseDeliveryMessage } from "../functions/shared/contract/delivery-schema";
import { INBOX_PREFIX } from "../functions/shared/contract/resources";
import { isRecord } from "../functions/shared/values";
import { CliError } from "./output";

/** Marks messages the CLI queued, where the receiver would put the caller's address. */
export const CLI_SOURCE_IP = "cli";

/** The URL a job is submitted with: the stack's webhook URL with the ids and any extra parameters. */
export function webhookUrlFor(
  stackWebhookUrl: string,
  customerId: string,
  orderId: string,
  extra: Readonly<Record<string, string>> = {},
): string {
  const url = new URL(stackWebhookUrl);
  // Percent-encoded, not searchParams' form encoding: that writes a space as `+`, which the receiver
  // reads as a plus sign (parseMetadata), so `o 1` would be stored as `o+1`.
  const params = new Map([["customer_id", customerId], ["order_id", orderId], ...Object.entries(extra)]);
  url.search = [...params]
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join("&");
  return url.toString();
}

function sameEndpoint(a: URL, b: URL): boolean {
  return a.origin === b.origin && a.pathname.replace(/\/$/, "") === b.pathname.replace(/\/$/, "");
}

export interface ReplayTarget {
  readonly metadata: DeliveryMetadata;
  /** False when the transcript's webhook_url is not this stack's (it may belong to another deployment). */
  readonly pointsHere: boolean;
}

/**
 * The metadata a replay carries: the transcript's own webhook_url read by the receiver's rules (so the
 * record is what the webhook would have made), with `--customer-id` / `--order-id` taking precedence. A
 * webhook_url those rules refuse is an error naming the problem, never silently trimmed.
 */
export function replayMetadata(
  transcriptId: string,
  webhookUrl: string | null | undefined,
  stackWebhookUrl: string,
  overrides: { readonly customerId?: string | undefined; readonly orderId?: string | undefined },
): ReplayTarget {
  let pointsHere = false;
  let params: Record<string, ParamValue> = {};
  if (webhookUrl && URL.canParse(webhookUrl)) {
    pointsHere = sameEndpoint(new URL(webhookUrl), new URL(stackWebhookUrl));
    const parsed = parseMetadata(rawQueryOf(webhookUrl));
    if (parsed.ok) params = { ...parsed.value.params };
    else if (overrides.customerId === undefined || parsed.problem.code !== "missing_parameter") {
      const hint = parsed.problem.code === "missing_parameter" ? ": pass --customer-id and --order-id" : "";
      throw new CliError(`transcript ${transcriptId}'s webhook_url: ${parsed.problem.message}${hint}`);
    } else {
      params = Object.fromEntries(queryParameters(rawQueryOf(webhookUrl)));
    }
  }
  const single = (value: ParamValue | undefined) => (typeof value === "string" ? value : undefined);
  const customerId = overrides.customerId ?? single(params.customer_id);
  const orderId = overrides.orderId ?? single(params.order_id);
  if (customerId === undefined || orderId === undefined) {
    throw new CliError(
      `transcript ${transcriptId} has no customer_id/order_id in its webhook_url: pass --customer-id and --order-id`,
    );
  }
  for (const [name, value] of [
    ["customer_id", customerId],
    ["order_id", orderId],
  ] as const) {
    const problem = metadataIdProblem(name, value);
    if (problem !== undefined) throw new CliError(`transcript ${transcriptId}: ${problem}`);
  }
  return {
    metadata: {
      customer_id: customerId,
      order_id: orderId,
      params: { ...params, customer_id: customerId, order_id: orderId },
    },
    pointsHere,
  };
}

/** Only a finished transcript can be ingested; anything else is a clear error naming its status. */
export function replayableStatus(transcriptId: string, status: string | undefined): "completed" | "error" {
  if (status === "completed" || status === "error") return status;
  throw new CliError(
    `transcript ${transcriptId} is ${status ?? "in an unknown state"}: only completed or error transcripts can be replayed`,
  );
}

/**
 * The message the receiver would have queued had the webhook arrived, marked as a replay: `received_at` is
 * now (when it entered the pipeline, as for every producer); AssemblyAI's times, when looked up, let the
 * worker order it against what is stored without looking them up again.
 */
export function buildReplayMessage(input: {
  readonly transcriptId: string;
  readonly status: "completed" | "error";
  readonly metadata: DeliveryMetadata;
  readonly now: Date;
  readonly requestId: string;
  readonly created?: string | undefined;
  readonly completed?: string | undefined;
}): TranscriptDelivery {
  return buildDeliveryMessage({
    source: "replay",
    kind: "transcript",
    transcriptId: input.transcriptId,
    status: input.status,
    metadata: input.metadata,
    receivedAt: input.now,
    sourceIp: CLI_SOURCE_IP,
    requestId: input.requestId,
    payload: { transcript_id: input.transcriptId, status: input.status },
    created: input.created,
    completed: input.completed,
  }) as TranscriptDelivery;
}

// ---------------------------------------------------------------------------------------------------------
// Dead-letter queue entries

export interface DlqEntry {
  readonly message_id: string;
  readonly kind: string;
  readonly transcript_id?: string;
  readonly customer_id?: string;
  readonly order_id?: string;
  readonly source?: string;
  readonly received_at?: string;
  /** ApproximateReceiveCount: the worker's attempts (plus one per look at the DLQ, listing included). */
  readonly receive_count?: number;
  /** When the message was first queued (SentTimestamp, kept when SQS moves it to the DLQ). */
  readonly sent_at?: string;
  /** Why the worker could not even read it, when that is the case: the reason itself. */
  readonly problem?: string;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function timestamp(millis: string | undefined): string | undefined {
  if (millis === undefined || !/^\d+$/.test(millis)) return undefined;
  return new Date(Number(millis)).toISOString();
}

/** What one dead-letter message is, read with the worker's parser; unreadable ones say why. */
export function summarizeDlqMessage(message: Message): DlqEntry {
  const attributes = message.Attributes ?? {};
  const receiveCount = Number(attributes.ApproximateReceiveCount);
  const common = {
    message_id: message.MessageId ?? "-",
    ...(Number.isFinite(receiveCount) && attributes.ApproximateReceiveCount !== undefined
      ? { receive_count: receiveCount }
      : {}),
    ...(timestamp(attributes.SentTimestamp)
      ? { sent_at: timestamp(attributes.SentTimestamp) as string }
      : {}),
  };
  const claim = readClaimCheck(message.Body ?? "", INBOX_PREFIX);
  if (claim !== undefined) {
    // The message itself waits in the bucket; the worker's log line for this message id says why it failed.
    return {
      ...common,
      kind: "claim_check",
      problem: `message stored at ${claim.key} (${claim.bytes} bytes)`,
    };
  }
  const parsed = parseDeliveryMessage(message.Body ?? "");
  if (parsed.ok) {
    const delivery = parsed.message;
    return {
      ...common,
      kind: delivery.kind,
      ...(delivery.kind === "transcript" ? { transcript_id: delivery.transcript_id } : {}),
      ...("metadata" in delivery
        ? { customer_id: delivery.metadata.customer_id, order_id: delivery.metadata.order_id }
        : {}),
      // A session's id is its record's transcript_id, and the worker logs it as one.
      ...(delivery.kind === "streaming_session" ? { transcript_id: delivery.session_id } : {}),
      // The worker's own retry of a delete at AssemblyAI (deleteFromAssemblyAi).
      ...(delivery.kind === "assemblyai_delete" ? { transcript_id: delivery.transcript_id } : {}),
      source: delivery.source,
      received_at: delivery.received_at,
    };
  }
  // Unreadable for the worker: show whatever fields are there, and the worker's reason.
  let raw: unknown;
  try {
    raw = JSON.parse(message.Body ?? "");
  } catch {
    raw = undefined;
  }
  const body = isRecord(raw) ? raw : {};
  const metadata = isRecord(body.metadata) ? body.metadata : {};
  const loose = {
    transcript_id: text(body.transcript_id),
    customer_id: text(metadata.customer_id),
    order_id: text(metadata.order_id),
    source: text(body.source),
    received_at: text(body.received_at),
  };
  return {
    ...common,
    kind: "malformed",
    ...Object.fromEntries(Object.entries(loose).filter(([, value]) => value !== undefined)),
    problem: parsed.reason,
  };
}

/** A CloudWatch Logs Insights query for the worker's log group that finds why a message failed. */
export function failureLogQuery(messageIds: readonly string[]): string {
  const ids = messageIds.slice(0, 20).map((id) => `"${id}"`);
  const filter = ids.length === 1 ? `message_id = ${ids[0]}` : `message_id in [${ids.join(", ")}]`;
  return `fields @timestamp, message_id, transcript_id, outcome, reason | filter ${filter} | sort @timestamp desc`;
}
