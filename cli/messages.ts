/**
 * Queue messages the CLI builds (replays) and reads (dead-letter queue entries), as pure functions over
 * plain values: the contract is `functions/shared/delivery.ts`, validated by the worker's own parser.
 */
import type { Message } from "@aws-sdk/client-sqs";
import {
  DELIVERY_MESSAGE_VERSION,
  type DeliveryMetadata,
  METADATA_ID_PATTERN,
  type TranscriptDelivery,
} from "../functions/shared/contract/delivery";
import { isRecord } from "../functions/shared/values";
import { parseDeliveryMessage } from "../functions/worker/core";
import { CliError } from "./output";

/** Bounds the receiver applies to webhook URL parameters (functions/receiver/core.ts). */
const MAX_PARAMS = 32;
const MAX_PARAM_NAME = 64;
const MAX_PARAM_VALUE = 1024;

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
  url.searchParams.set("customer_id", customerId);
  url.searchParams.set("order_id", orderId);
  for (const [name, value] of Object.entries(extra)) url.searchParams.set(name, value);
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
 * The metadata a replay carries: the query parameters of the transcript's own webhook_url (so the record
 * looks as if the webhook had arrived), with `--customer-id` / `--order-id` taking precedence.
 */
export function replayMetadata(
  transcriptId: string,
  webhookUrl: string | null | undefined,
  stackWebhookUrl: string,
  overrides: { readonly customerId?: string | undefined; readonly orderId?: string | undefined },
): ReplayTarget {
  let params: Record<string, string> = {};
  let pointsHere = false;
  if (webhookUrl) {
    try {
      const url = new URL(webhookUrl);
      pointsHere = sameEndpoint(url, new URL(stackWebhookUrl));
      const entries = [...url.searchParams];
      const bounded =
        entries.length <= MAX_PARAMS &&
        entries.every(
          ([name, value]) =>
            name.length > 0 && name.length <= MAX_PARAM_NAME && value.length <= MAX_PARAM_VALUE,
        );
      params = bounded
        ? Object.fromEntries(entries)
        : Object.fromEntries(entries.filter(([name]) => name === "customer_id" || name === "order_id"));
    } catch {
      params = {};
    }
  }
  const customerId = overrides.customerId ?? params.customer_id;
  const orderId = overrides.orderId ?? params.order_id;
  if (customerId === undefined || orderId === undefined) {
    throw new CliError(
      `transcript ${transcriptId} has no customer_id/order_id in its webhook_url: pass --customer-id and --order-id`,
    );
  }
  for (const [name, value] of [
    ["customer_id", customerId],
    ["order_id", orderId],
  ] as const) {
    if (!METADATA_ID_PATTERN.test(value)) {
      throw new CliError(
        `transcript ${transcriptId}: ${name} "${value.slice(0, 40)}" from its webhook_url is malformed`,
      );
    }
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

/** The message the receiver would have queued had the webhook arrived, marked as a replay. */
export function buildReplayMessage(input: {
  readonly transcriptId: string;
  readonly status: "completed" | "error";
  readonly metadata: DeliveryMetadata;
  readonly now: Date;
  readonly requestId: string;
}): TranscriptDelivery {
  return {
    version: DELIVERY_MESSAGE_VERSION,
    source: "replay",
    kind: "transcript",
    transcript_id: input.transcriptId,
    status: input.status,
    metadata: input.metadata,
    received_at: input.now.toISOString(),
    source_ip: CLI_SOURCE_IP,
    request_id: input.requestId,
    payload: { transcript_id: input.transcriptId, status: input.status },
  };
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
  const parsed = parseDeliveryMessage(message.Body ?? "");
  if (parsed.ok) {
    const delivery = parsed.message;
    return {
      ...common,
      kind: delivery.kind,
      ...(delivery.kind === "transcript" ? { transcript_id: delivery.transcript_id } : {}),
      customer_id: delivery.metadata.customer_id,
      order_id: delivery.metadata.order_id,
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
