/**
 * The events the stack publishes to EventBridge, one per committed change of a record: their detail types,
 * details and ids. Pure: a record's image before and after a write in, the events it makes out. The publisher
 * (functions/publisher) runs it on each DynamoDB stream record; docs/events/*.schema.json describe the
 * details (test/unit/contract/events.test.ts checks every event built here against them).
 *
 * What counts as a change (a write that changes none of these publishes nothing, so a duplicate delivery,
 * which writes nothing, and a write of only the reconciler's notes, publish nothing):
 * - the record's transcript and status: `Transcript Stored` (`completed`) or `Transcript Failed` (`error`,
 *   `fetch_failed`), when the pair (transcript_id, status) differs from the one before;
 * - its redacted audio: `Redacted Audio Stored`, when the audio's key or transcript differs from before.
 * A deleted record (REMOVE) publishes nothing here, and nor does an erased order's tombstone (an image with
 * ERASED_ATTRIBUTE, written by `aai-webhooks erase`): the erasure is announced by the CLI's own
 * `Customer Erased` event (docs/events/customer-erased.v1.schema.json), and a record's replacement by its
 * tombstone must not read as a change of its transcript.
 */
import { createHash } from "node:crypto";
import { ERASED_ATTRIBUTE, TABLE_PARTITION_KEY, TABLE_SORT_KEY } from "./resources";

/** The `source` of the events unless the `eventSource` setting says otherwise. */
export const DEFAULT_EVENT_SOURCE = "assemblyai.webhooks";

/** The detail's major version: it changes only when a field is removed or changes meaning. */
export const EVENT_SCHEMA_VERSION = 1;

export const DETAIL_TYPES = {
  stored: "Transcript Stored",
  failed: "Transcript Failed",
  redactedAudio: "Redacted Audio Stored",
} as const;

export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

/** The schema file of each detail type, under docs/events/. */
export const DETAIL_SCHEMA_FILES: Readonly<Record<DetailType, string>> = {
  "Transcript Stored": "transcript-stored.v1.schema.json",
  "Transcript Failed": "transcript-failed.v1.schema.json",
  "Redacted Audio Stored": "redacted-audio-stored.v1.schema.json",
};

/**
 * The webhook URL's other parameters are left out of the detail past this many bytes of JSON (and
 * `metadata_omitted` says so): an event stays a few KB whatever the URL carried; the record has them all.
 */
export const METADATA_MAX_BYTES = 4096;
/** A failure's reason is cut to this many characters (AssemblyAI's messages are far shorter). */
export const REASON_MAX_CHARS = 1024;

type Image = Readonly<Record<string, unknown>>;

interface CommonDetail {
  readonly schema_version: typeof EVENT_SCHEMA_VERSION;
  /** The same for every publication of the same change: subscribers deduplicate on it. */
  readonly id: string;
  readonly customer_id: string;
  readonly order_id: string;
  /** The webhook URL's query parameters but customer_id and order_id; absent when metadata_omitted. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly metadata_omitted?: true;
  readonly bucket: string;
}

export interface TranscriptDetail extends CommonDetail {
  readonly transcript_id: string;
  readonly status: "completed" | "error" | "fetch_failed";
  /** `streaming_session` for a streaming session's record (transcript_id is then its session id). */
  readonly kind: "transcript" | "streaming_session";
  /** What made the change: a webhook delivery, a replay, or the reconciler. */
  readonly source?: string;
  readonly stored_at: string;
  /** The full JSON (gzipped), where there is one: `completed` and `error`. */
  readonly transcript_s3_key?: string;
  /** The text, when too large to be kept on the record. */
  readonly text_s3_key?: string;
  readonly audio_duration?: number;
  readonly language_code?: string;
  /** A streaming session's length in ms and its word count. */
  readonly duration_ms?: number;
  readonly word_count?: number;
}

export interface TranscriptStoredDetail extends TranscriptDetail {
  readonly status: "completed";
}

export interface TranscriptFailedDetail extends TranscriptDetail {
  readonly status: "error" | "fetch_failed";
  /** AssemblyAI's error message (`error`), or why the transcript could not be fetched (`fetch_failed`). */
  readonly reason: string;
  /** `fetch_failed` only: AssemblyAI's HTTP answer, when it was one. */
  readonly fetch_status?: number;
  /** `fetch_failed` only: the reconciler will queue it again (a new API key or a later read may fix it). */
  readonly retry_scheduled?: boolean;
}

export interface RedactedAudioStoredDetail extends CommonDetail {
  /** The transcript the audio belongs to, when known. */
  readonly transcript_id?: string;
  readonly redacted_audio_s3_key: string;
  readonly stored_at: string;
}

export type EventDetail = TranscriptStoredDetail | TranscriptFailedDetail | RedactedAudioStoredDetail;

export interface ChangeEvent {
  readonly detailType: DetailType;
  readonly detail: EventDetail;
}

const text = (image: Image | undefined, name: string): string | undefined => {
  const value = image?.[name];
  return typeof value === "string" ? value : undefined;
};
const number = (image: Image | undefined, name: string): number | undefined => {
  const value = image?.[name];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
};

/** A stable id of one change: a hash of what identifies it (stream retries and re-publications agree). */
export function changeId(parts: readonly string[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 32);
}

function metadataOf(image: Image): Pick<CommonDetail, "metadata" | "metadata_omitted"> {
  const all = image.metadata;
  if (all === null || typeof all !== "object" || Array.isArray(all)) return {};
  const others = Object.fromEntries(
    Object.entries(all).filter(([name]) => name !== TABLE_PARTITION_KEY && name !== TABLE_SORT_KEY),
  );
  return Buffer.byteLength(JSON.stringify(others), "utf8") <= METADATA_MAX_BYTES
    ? { metadata: others }
    : { metadata_omitted: true };
}

/** Drops absent fields, so that a detail holds only what the record has. */
function defined<T extends object>(detail: T): T {
  return Object.fromEntries(Object.entries(detail).filter(([, value]) => value !== undefined)) as T;
}

const TRANSCRIPT_STATUSES = new Set(["completed", "error", "fetch_failed"]);

function transcriptEvent(before: Image | undefined, after: Image, bucket: string): ChangeEvent | undefined {
  const transcriptId = text(after, "transcript_id");
  const status = text(after, "status");
  if (transcriptId === undefined || status === undefined || !TRANSCRIPT_STATUSES.has(status))
    return undefined;
  if (text(before, "transcript_id") === transcriptId && text(before, "status") === status) return undefined;
  const customerId = text(after, TABLE_PARTITION_KEY) ?? "";
  const orderId = text(after, TABLE_SORT_KEY) ?? "";
  const storedAt = text(after, "stored_at") ?? "";
  const detailType = status === "completed" ? DETAIL_TYPES.stored : DETAIL_TYPES.failed;
  const common: TranscriptDetail = {
    schema_version: EVENT_SCHEMA_VERSION,
    id: changeId([detailType, customerId, orderId, transcriptId, status, storedAt]),
    customer_id: customerId,
    order_id: orderId,
    transcript_id: transcriptId,
    status: status as TranscriptDetail["status"],
    kind: text(after, "kind") === "streaming_session" ? "streaming_session" : "transcript",
    source: text(after, "source"),
    stored_at: storedAt,
    bucket,
    transcript_s3_key: text(after, "transcript_s3_key"),
    text_s3_key: text(after, "text_s3_key"),
    audio_duration: number(after, "audio_duration"),
    language_code: text(after, "language_code"),
    duration_ms: number(after, "duration_ms"),
    word_count: number(after, "word_count"),
    ...metadataOf(after),
  };
  if (status === "completed") {
    return { detailType, detail: defined(common as TranscriptStoredDetail) };
  }
  const failed: TranscriptFailedDetail = {
    ...(common as TranscriptFailedDetail),
    reason: (text(after, "error") ?? "no reason recorded").slice(0, REASON_MAX_CHARS),
    ...(status === "fetch_failed"
      ? {
          fetch_status: number(after, "fetch_retry_status"),
          retry_scheduled: text(after, "fetch_retry_state") !== undefined,
        }
      : {}),
  };
  return { detailType, detail: defined(failed) };
}

function redactedAudioEvent(
  before: Image | undefined,
  after: Image,
  bucket: string,
): ChangeEvent | undefined {
  const key = text(after, "redacted_audio_s3_key");
  if (key === undefined) return undefined;
  const transcriptId = text(after, "redacted_audio_transcript_id");
  if (
    text(before, "redacted_audio_s3_key") === key &&
    text(before, "redacted_audio_transcript_id") === transcriptId
  ) {
    return undefined;
  }
  const customerId = text(after, TABLE_PARTITION_KEY) ?? "";
  const orderId = text(after, TABLE_SORT_KEY) ?? "";
  const storedAt = text(after, "redacted_audio_stored_at") ?? "";
  const detailType = DETAIL_TYPES.redactedAudio;
  const detail: RedactedAudioStoredDetail = {
    schema_version: EVENT_SCHEMA_VERSION,
    id: changeId([detailType, customerId, orderId, key, storedAt]),
    customer_id: customerId,
    order_id: orderId,
    transcript_id: transcriptId,
    redacted_audio_s3_key: key,
    stored_at: storedAt,
    bucket,
    ...metadataOf(after),
  };
  return { detailType, detail: defined(detail) };
}

/** A PutEvents entry, as plain data (the SDK's PutEventsRequestEntry has this shape). */
export interface EventEntry {
  readonly EventBusName: string;
  readonly Source: string;
  readonly DetailType: DetailType;
  readonly Detail: string;
  /** The change's own time (`stored_at`), so that every publication of it is the same event. */
  readonly Time?: Date;
}

/** The entry that publishes `event` on `eventBusName` (a name or an ARN) with source `eventSource`. */
export function eventEntry(
  event: ChangeEvent,
  where: { readonly eventBusName: string; readonly eventSource: string },
): EventEntry {
  const storedAt = Date.parse(event.detail.stored_at);
  return {
    EventBusName: where.eventBusName,
    Source: where.eventSource,
    DetailType: event.detailType,
    Detail: JSON.stringify(event.detail),
    ...(Number.isFinite(storedAt) ? { Time: new Date(storedAt) } : {}),
  };
}

/**
 * A message of the events dead-letter queue written by the publisher (functions/publisher): an entry
 * EventBridge still refused after the publisher's retries, kept whole. The event source mapping's own
 * pointers to failed batches in that queue have `DDBStreamBatchInfo` instead. `aai-webhooks events redrive`
 * puts `entry` again as it is (its `Time` as an ISO string, since the message is JSON).
 */
export interface EventsDeadLetter {
  readonly kind: "event";
  readonly reason: string;
  readonly failed_at: string;
  readonly attempts: number;
  readonly entry: {
    readonly Source: string;
    readonly DetailType: string;
    readonly Detail: string;
    readonly EventBusName: string;
    readonly Time?: string;
  };
  /** The stream record the event came from. */
  readonly record: {
    readonly event_id: string;
    readonly sequence_number: string;
    readonly customer_id: string;
    readonly order_id: string;
  };
}

/**
 * What `redrive` needs of a dead letter: its kind and the whole entry. The rest (reason, times, the stream
 * record) is for people, and a message missing it, or re-sent by hand, is still put on the bus again.
 */
export type RedrivableDeadLetter = Pick<EventsDeadLetter, "kind" | "entry"> & Record<string, unknown>;

/** Whether a parsed dead-letter message is the publisher's: the entry `redrive` needs is all there. */
export function isEventsDeadLetter(value: unknown): value is RedrivableDeadLetter {
  const entry = (value as { entry?: Record<string, unknown> } | undefined)?.entry;
  return (
    (value as { kind?: unknown } | undefined)?.kind === "event" &&
    typeof entry?.Source === "string" &&
    typeof entry.DetailType === "string" &&
    typeof entry.Detail === "string" &&
    typeof entry.EventBusName === "string"
  );
}

/**
 * The events one committed write makes: `before` and `after` are the record's images (unmarshalled) before
 * and after it; `after` undefined (a deletion) or a tombstone (an erasure) makes none.
 */
export function eventsForChange(
  before: Image | undefined,
  after: Image | undefined,
  bucket: string,
): ChangeEvent[] {
  // A tombstone holds only the keys and erased_at today, so it would make none anyway: checked by name so
  // that this holds whatever a tombstone comes to carry.
  if (after === undefined || after[ERASED_ATTRIBUTE] !== undefined) return [];
  return [transcriptEvent(before, after, bucket), redactedAudioEvent(before, after, bucket)].filter(
    (event): event is ChangeEvent => event !== undefined,
  );
}
