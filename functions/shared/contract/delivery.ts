/**
 * The queue message contract between the receiver (producer), the worker (consumer) and the operations
 * tools (replay, reconcile, DLQ redrive). A change here is a change to data already sitting in queues:
 * add fields, never rename or remove them, and bump `version` only with a worker that reads both.
 */

export const DELIVERY_MESSAGE_VERSION = 1 as const;

/** `transcript_id` becomes part of a URL path at the worker: letters, digits and dashes only. */
export const TRANSCRIPT_ID_PATTERN = /^[A-Za-z0-9-]{1,128}$/;

/** `customer_id` and `order_id` become DynamoDB keys and S3 key segments. */
export const METADATA_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,256}$/;

/** How the worker treats a delivery, decided by the receiver from the payload's shape. */
export type DeliveryKind = "transcript" | "redacted_audio" | "unknown";

/** Where a message came from: a webhook delivery, or an operator/reconciler re-ingesting a transcript. */
export type DeliverySource = "webhook" | "replay" | "reconciler";

export interface DeliveryMetadata {
  readonly customer_id: string;
  readonly order_id: string;
  /** Every query parameter of the webhook URL (customer_id and order_id included), bounded by the receiver. */
  readonly params: Readonly<Record<string, string>>;
}

interface DeliveryBase {
  readonly version: typeof DELIVERY_MESSAGE_VERSION;
  readonly source: DeliverySource;
  readonly metadata: DeliveryMetadata;
  /**
   * ISO-8601 instant the receiver accepted the delivery: the start of delivery-to-stored latency, and what
   * "the latest delivery wins" compares. For reconciler messages, when the webhook would have arrived (the
   * transcript's completion time), so that a recovered old transcript never beats a newer one.
   */
  readonly received_at: string;
  readonly source_ip: string;
  /** API Gateway request id (or a generated id for replays): ties log lines across functions. */
  readonly request_id: string;
  /** The webhook body exactly as parsed, so nothing AssemblyAI sent is ever dropped. */
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface TranscriptDelivery extends DeliveryBase {
  readonly kind: "transcript";
  readonly transcript_id: string;
  readonly status: "completed" | "error";
}

export interface RedactedAudioDelivery extends DeliveryBase {
  readonly kind: "redacted_audio";
  /** https, on a host from the receiver's allowlist: the worker downloads it. */
  readonly redacted_audio_url: string;
}

export interface UnknownDelivery extends DeliveryBase {
  readonly kind: "unknown";
  /** Why a delivery that looked like a known kind was not treated as one (archived, never fetched). */
  readonly note?: string;
}

export type DeliveryMessage = TranscriptDelivery | RedactedAudioDelivery | UnknownDelivery;
