/**
 * The worker's decisions as pure functions: parse and validate a queue message, classify what AssemblyAI
 * answered, compute the retry backoff, build the DynamoDB updates and decide duplicate/superseded.
 * No I/O here: everything takes plain values (clock and randomness included) and returns plain values.
 */
import type { Transcript } from "assemblyai";
import { DELETED_TRANSCRIPT_TEXT } from "../shared/assemblyai";
import {
  DELIVERY_MESSAGE_VERSION,
  type DeliveryMessage,
  type DeliveryMetadata,
  type DeliverySource,
  METADATA_ID_PATTERN,
  type RedactedAudioDelivery,
  TRANSCRIPT_ID_PATTERN,
  type TranscriptDelivery,
} from "../shared/contract/delivery";
import { BUCKET_PREFIXES, TABLE_PARTITION_KEY, TABLE_SORT_KEY } from "../shared/contract/resources";
import type { LogEvent } from "../shared/telemetry";
import { isRecord } from "../shared/values";

// ---------------------------------------------------------------------------------------------------------
// Outcomes

export type Outcome =
  | "stored"
  | "duplicate"
  | "superseded"
  | "transient_failure"
  | "final_failure"
  | "deleted_skipped"
  | "unknown_archived"
  | "redacted_audio_stored";

/** The statuses a stored transcript item can have. */
export type RecordStatus = "completed" | "error" | "fetch_failed";

export const DELETED_TRANSCRIPT_ERROR = "transcript was deleted at AssemblyAI";
export const API_KEY_NOT_SET_REASON = "AssemblyAI API key not set";
/** Counted beside `Records` on a record that failed because the key is still the placeholder (alarmed). */
export const API_KEY_NOT_SET_METRIC = "ApiKeyNotSet";

// ---------------------------------------------------------------------------------------------------------
// Parsing the queue message

export type ParseResult =
  | { readonly ok: true; readonly message: DeliveryMessage }
  | { readonly ok: false; readonly reason: string };

const SOURCES: readonly DeliverySource[] = ["webhook", "replay", "reconciler"];
const MAX_REQUEST_ID_LENGTH = 256;
const MAX_URL_LENGTH = 4096;

class MalformedMessage extends Error {
  override readonly name = "MalformedMessage";
}

function fail(reason: string): never {
  throw new MalformedMessage(reason);
}

/**
 * Validates a message body against the delivery contract (the queue is trusted, but a message may come from
 * an older receiver, a hand-written replay or a bug): anything off is reported, never thrown. A `kind` this
 * worker does not know is read as `unknown`, so that a newer producer's messages are archived, not dropped.
 */
export function parseDeliveryMessage(body: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { ok: false, reason: "message body is not JSON" };
  }
  try {
    return { ok: true, message: toDeliveryMessage(raw) };
  } catch (error) {
    if (error instanceof MalformedMessage) return { ok: false, reason: error.message };
    throw error;
  }
}

function toDeliveryMessage(raw: unknown): DeliveryMessage {
  if (!isRecord(raw)) fail("message body is not a JSON object");
  if (raw.version !== DELIVERY_MESSAGE_VERSION)
    fail(`unsupported message version ${JSON.stringify(raw.version)?.slice(0, 40)}`);
  const source = raw.source;
  if (typeof source !== "string" || !(SOURCES as readonly string[]).includes(source)) {
    fail("source is missing or not one of webhook, replay, reconciler");
  }
  const base = {
    version: DELIVERY_MESSAGE_VERSION,
    source: source as DeliverySource,
    metadata: toMetadata(raw.metadata),
    received_at: toInstant(raw.received_at),
    source_ip: typeof raw.source_ip === "string" ? raw.source_ip : fail("source_ip is not a string"),
    request_id: toRequestId(raw.request_id),
    payload: isRecord(raw.payload) ? raw.payload : fail("payload is not an object"),
  };
  const kind = raw.kind;
  if (typeof kind !== "string" || kind.length === 0) fail("kind is missing");
  if (kind === "transcript") {
    const transcriptId = raw.transcript_id;
    if (typeof transcriptId !== "string" || !TRANSCRIPT_ID_PATTERN.test(transcriptId)) {
      fail("transcript_id is missing or not letters, digits and dashes");
    }
    const status = raw.status;
    if (status !== "completed" && status !== "error") fail("status is not completed or error");
    return { ...base, kind, transcript_id: transcriptId, status };
  }
  if (kind === "redacted_audio") {
    return { ...base, kind, redacted_audio_url: toDownloadUrl(raw.redacted_audio_url) };
  }
  return { ...base, kind: "unknown" };
}

function toMetadata(value: unknown): DeliveryMetadata {
  if (!isRecord(value)) fail("metadata is not an object");
  const { customer_id: customerId, order_id: orderId, params } = value;
  if (typeof customerId !== "string" || !METADATA_ID_PATTERN.test(customerId)) {
    fail("metadata.customer_id is missing or malformed");
  }
  if (typeof orderId !== "string" || !METADATA_ID_PATTERN.test(orderId)) {
    fail("metadata.order_id is missing or malformed");
  }
  if (!isRecord(params)) fail("metadata.params is not an object");
  const entries = Object.entries(params);
  for (const [name, param] of entries) {
    if (typeof param !== "string") fail(`metadata.params.${name.slice(0, 64)} is not a string`);
  }
  // fromEntries defines own properties: a parameter named __proto__ or constructor is kept as data, where an
  // assignment to a plain object would set its prototype (and drop the parameter) instead.
  const copy = Object.fromEntries(entries) as Record<string, string>;
  return { customer_id: customerId, order_id: orderId, params: copy };
}

/** Normalised to `toISOString()` form, so that stored `received_at` values compare correctly as strings. */
function toInstant(value: unknown): string {
  if (typeof value !== "string") fail("received_at is not a string");
  const millis = Date.parse(value);
  if (!Number.isFinite(millis)) fail("received_at is not an ISO-8601 instant");
  return new Date(millis).toISOString();
}

function toRequestId(value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_REQUEST_ID_LENGTH) {
    fail("request_id is missing or too long");
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(value)) fail("request_id contains control characters");
  return value;
}

function toDownloadUrl(value: unknown): string {
  if (typeof value !== "string" || value.length > MAX_URL_LENGTH) fail("redacted_audio_url is missing");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail("redacted_audio_url is not a URL");
  }
  // The receiver allows https on allowlisted hosts only; http reaches the local stack's simulator.
  if (url.protocol !== "https:" && url.protocol !== "http:") fail("redacted_audio_url is not http(s)");
  return url.toString();
}

/** SQS's ApproximateReceiveCount as a number: 1 on the first delivery. */
export function receiveCount(attribute: string | undefined): number {
  const count = Number(attribute);
  return Number.isInteger(count) && count >= 1 ? count : 1;
}

// ---------------------------------------------------------------------------------------------------------
// Retry backoff

/** Default first delay; the worker's is RETRY_BASE_SECONDS (see config.ts). */
export const DEFAULT_BACKOFF_BASE_SECONDS = 30;
/** The exponential backoff stops growing here; only a longer Retry-After waits longer. */
export const BACKOFF_CAP_SECONDS = 60 * 60;
/** Jitter adds up to this fraction of the delay (and at least a second). */
export const BACKOFF_JITTER_FRACTION = 0.25;
/** SQS rejects a visibility timeout above 12 hours. */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 60 * 60;

/**
 * Seconds until a failed record is visible again: the longer of AssemblyAI's Retry-After (when it sent one)
 * and base · 2^(attempt-1) capped at an hour, plus jitter of 1 s up to a quarter of that, so that records
 * that failed together do not come back together, none comes back before it was asked to, and none comes
 * back at once. Never more than SQS's 12 hours.
 */
export function backoffSeconds(
  attempt: number,
  retryAfterSeconds: number | undefined,
  random: number,
  baseSeconds: number = DEFAULT_BACKOFF_BASE_SECONDS,
): number {
  const exponent = Number.isFinite(attempt) ? Math.min(Math.max(Math.floor(attempt), 1) - 1, 30) : 0;
  const base = Number.isFinite(baseSeconds) && baseSeconds >= 1 ? baseSeconds : DEFAULT_BACKOFF_BASE_SECONDS;
  const exponential = Math.min(BACKOFF_CAP_SECONDS, base * 2 ** exponent);
  const retryAfter =
    retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds)
      ? Math.min(MAX_VISIBILITY_TIMEOUT_SECONDS, Math.max(0, retryAfterSeconds))
      : 0;
  const delay = Math.ceil(Math.max(retryAfter, exponential));
  const fraction = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0.5;
  const jitter = Math.max(1, Math.ceil(fraction * delay * BACKOFF_JITTER_FRACTION));
  return Math.min(MAX_VISIBILITY_TIMEOUT_SECONDS, delay + jitter);
}

/** A Retry-After header (delay in seconds, or an HTTP date) as seconds from `nowMs`; undefined if absent or unreadable. */
export function parseRetryAfter(header: string | null | undefined, nowMs: number): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

// ---------------------------------------------------------------------------------------------------------
// Classifying what AssemblyAI answered

/** What the AssemblyAI client saw; produced by assemblyai-client.ts. */
export type FetchResult =
  | {
      readonly type: "transcript";
      readonly status: number;
      readonly retryAfter: string | null;
      readonly transcript: Transcript;
      /** The response body exactly as sent: archived as is, so the transcript is serialised only once. */
      readonly body: Uint8Array;
    }
  | {
      readonly type: "http_error";
      readonly status: number;
      readonly retryAfter: string | null;
      /** AssemblyAI's `{ "error": "..." }`, when the body had one. */
      readonly message: string | undefined;
    }
  | { readonly type: "invalid_body"; readonly status: number; readonly reason: string }
  | { readonly type: "network_error"; readonly timedOut: boolean; readonly reason: string };

export type FetchDecision =
  | { readonly action: "store"; readonly transcript: Transcript; readonly status: "completed" | "error" }
  | { readonly action: "deleted" }
  | { readonly action: "transient"; readonly reason: string; readonly retryAfterSeconds?: number }
  | { readonly action: "final"; readonly reason: string };

/** Whether an HTTP status is worth retrying: throttling, timeouts and server errors. Any other 4xx is final. */
export function isRetryableStatus(status: number): boolean {
  // 408 (the server timed out waiting for us) is a transient condition, even though it is a 4xx.
  return status === 408 || status === 429 || status >= 500 || status < 400;
}

export function classifyFetch(result: FetchResult, transcriptId: string, nowMs: number): FetchDecision {
  switch (result.type) {
    case "network_error":
      return {
        action: "transient",
        reason: result.timedOut ? "AssemblyAI request timed out" : `AssemblyAI unreachable: ${result.reason}`,
      };
    case "invalid_body":
      return {
        action: "transient",
        reason: `AssemblyAI answered HTTP ${result.status} with ${result.reason}`,
      };
    case "http_error": {
      const reason = `AssemblyAI answered HTTP ${result.status}${result.message ? `: ${result.message}` : ""}`;
      if (!isRetryableStatus(result.status)) return { action: "final", reason };
      const retryAfterSeconds = parseRetryAfter(result.retryAfter, nowMs);
      return retryAfterSeconds === undefined
        ? { action: "transient", reason }
        : { action: "transient", reason, retryAfterSeconds };
    }
    case "transcript": {
      const { transcript } = result;
      if (transcript.id !== transcriptId) {
        return {
          action: "transient",
          reason: `AssemblyAI answered a different transcript id (${transcript.id})`,
        };
      }
      if (transcript.status === "queued" || transcript.status === "processing") {
        return { action: "transient", reason: `transcript is still ${transcript.status} at AssemblyAI` };
      }
      if (transcript.status !== "completed" && transcript.status !== "error") {
        return {
          action: "transient",
          reason: `transcript has unexpected status ${JSON.stringify(transcript.status)?.slice(0, 40)}`,
        };
      }
      if (transcript.text === DELETED_TRANSCRIPT_TEXT) return { action: "deleted" };
      return { action: "store", transcript, status: transcript.status };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The stored item and what to do about it

/** The parts of a stored item the worker's decisions depend on. */
export interface StoredTranscript {
  readonly transcriptId: string | undefined;
  readonly status: string | undefined;
  readonly receivedAt: string | undefined;
  /** The transcript the stored redacted audio (or its error) belongs to, when that was known. */
  readonly redactedAudioTranscriptId?: string | undefined;
}

export function readStoredTranscript(item: Readonly<Record<string, unknown>> | undefined): StoredTranscript {
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  return {
    transcriptId: text(item?.transcript_id),
    status: text(item?.status),
    receivedAt: text(item?.received_at),
    redactedAudioTranscriptId: text(item?.redacted_audio_transcript_id),
  };
}

/**
 * Whether a transcript write must drop the stored redacted-audio fields: it replaces another transcript,
 * and the audio is not known to belong to the one being written (audio may arrive before its transcript).
 */
export function clearsRedactedAudio(stored: StoredTranscript | undefined, transcriptId: string): boolean {
  return (
    stored?.transcriptId !== undefined &&
    stored.transcriptId !== transcriptId &&
    stored.redactedAudioTranscriptId !== transcriptId
  );
}

function isResult(status: string | undefined): boolean {
  return status === "completed" || status === "error";
}

/** Before fetching: skip work a stored item already makes pointless. */
export function decideBeforeFetch(
  stored: StoredTranscript,
  delivery: Pick<TranscriptDelivery, "transcript_id" | "status" | "received_at">,
): "duplicate" | "superseded" | "fetch" {
  if (stored.transcriptId === delivery.transcript_id && stored.status === delivery.status) return "duplicate";
  if (
    stored.transcriptId !== undefined &&
    stored.transcriptId !== delivery.transcript_id &&
    stored.receivedAt !== undefined &&
    stored.receivedAt > delivery.received_at
  ) {
    return "superseded";
  }
  return "fetch";
}

/** A deleted transcript never replaces a stored result; with nothing stored, the deletion is recorded. */
export function decideDeleted(stored: StoredTranscript): "skip" | "record_fetch_failed" {
  return isResult(stored.status) ? "skip" : "record_fetch_failed";
}

/**
 * After a conditional write failed and the item was read again: another delivery of the same transcript won
 * (`duplicate`), a newer delivery or a stored result won (`superseded`), or the item moved under us in a way
 * the condition did not expect (`retry`).
 */
export function classifyConditionFailure(
  stored: StoredTranscript,
  written: { readonly transcriptId: string; readonly status: RecordStatus; readonly receivedAt: string },
): "duplicate" | "superseded" | "retry" {
  if (stored.transcriptId === undefined) return "retry";
  if (stored.transcriptId === written.transcriptId) {
    if (stored.status === written.status) return "duplicate";
    if (written.status === "fetch_failed" && isResult(stored.status)) return "superseded";
    return "retry";
  }
  if (written.status === "fetch_failed" && isResult(stored.status)) return "superseded";
  if (stored.receivedAt !== undefined && stored.receivedAt > written.receivedAt) return "superseded";
  return "retry";
}

// ---------------------------------------------------------------------------------------------------------
// S3 keys

export function transcriptJsonKey(customerId: string, orderId: string, transcriptId: string): string {
  return `${BUCKET_PREFIXES.transcripts}${customerId}/${orderId}/${transcriptId}.json.gz`;
}

export function transcriptTextKey(customerId: string, orderId: string, transcriptId: string): string {
  return `${BUCKET_PREFIXES.transcripts}${customerId}/${orderId}/${transcriptId}.txt`;
}

export function unknownArchiveKey(
  customerId: string,
  orderId: string,
  receivedAt: string,
  requestId: string,
): string {
  return `${BUCKET_PREFIXES.unknown}${customerId}/${orderId}/${receivedAt}-${safeKeySegment(requestId)}.json`;
}

/** Where a message that failed validation is kept, so that nothing AssemblyAI sent is lost. */
export function malformedArchiveKey(receivedAt: string, messageId: string): string {
  return `${BUCKET_PREFIXES.unknown}_malformed/${receivedAt.slice(0, 10)}/${safeKeySegment(messageId)}.json`;
}

export function redactedAudioKey(delivery: RedactedAudioDelivery): string {
  const { customer_id: customerId, order_id: orderId } = delivery.metadata;
  const fileName = fileNameFromUrl(delivery.redacted_audio_url) ?? safeKeySegment(delivery.received_at);
  return `${BUCKET_PREFIXES.redactedAudio}${customerId}/${orderId}/${fileName}`;
}

/**
 * The transcript a redacted audio file belongs to: `transcript_id` in the webhook body when it is a valid
 * id, else the URL's file name without its extension when that looks like an AssemblyAI id (letters, digits
 * and dashes, with at least one dash); undefined when neither tells.
 */
export function redactedAudioTranscriptId(
  delivery: Pick<RedactedAudioDelivery, "payload" | "redacted_audio_url">,
): string | undefined {
  const fromPayload = delivery.payload.transcript_id;
  if (typeof fromPayload === "string" && TRANSCRIPT_ID_PATTERN.test(fromPayload)) return fromPayload;
  let segment: string;
  try {
    segment = decodeURIComponent(new URL(delivery.redacted_audio_url).pathname.split("/").pop() ?? "");
  } catch {
    return undefined;
  }
  const stem = segment.replace(/\.[A-Za-z0-9]{1,10}$/, "");
  return TRANSCRIPT_ID_PATTERN.test(stem) && stem.includes("-") ? stem : undefined;
}

/** The last path segment of a URL, made safe for an S3 key; undefined when there is none. */
export function fileNameFromUrl(url: string): string | undefined {
  let segment: string;
  try {
    segment = new URL(url).pathname.split("/").pop() ?? "";
    segment = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  const safe = safeKeySegment(segment).slice(-200);
  return /^[._]*$/.test(safe) ? undefined : safe;
}

function safeKeySegment(value: string): string {
  return value.replace(/[^A-Za-z0-9._=@-]/g, "_");
}

// ---------------------------------------------------------------------------------------------------------
// DynamoDB updates

export interface ItemKey {
  readonly customer_id: string;
  readonly order_id: string;
}

/** An UpdateItem request, ready for the document client (values unmarshalled). */
export interface ItemUpdate {
  readonly key: ItemKey;
  readonly updateExpression: string;
  readonly conditionExpression: string | undefined;
  readonly names: Readonly<Record<string, string>>;
  readonly values: Readonly<Record<string, unknown>>;
}

interface UpdateParts {
  readonly set: Readonly<Record<string, unknown>>;
  /** Set only when the attribute is absent. */
  readonly setIfAbsent?: Readonly<Record<string, unknown>>;
  readonly remove: readonly string[];
  readonly condition?: string;
  /** Extra values the condition refers to. */
  readonly conditionValues?: Readonly<Record<string, unknown>>;
}

/** Every attribute goes through a `#name` alias (several of ours, such as `status`, are reserved words). */
function buildUpdate(key: ItemKey, parts: UpdateParts): ItemUpdate {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ...parts.conditionValues };
  const assignments: string[] = [];
  for (const [name, value] of Object.entries(parts.set)) {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    assignments.push(`#${name} = :${name}`);
  }
  for (const [name, value] of Object.entries(parts.setIfAbsent ?? {})) {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    assignments.push(`#${name} = if_not_exists(#${name}, :${name})`);
  }
  for (const name of parts.remove) names[`#${name}`] = name;
  for (const name of (parts.condition ?? "").match(/#[A-Za-z0-9_]+/g) ?? []) names[name] = name.slice(1);
  const clauses = [`SET ${assignments.join(", ")}`];
  if (parts.remove.length > 0) clauses.push(`REMOVE ${parts.remove.map((name) => `#${name}`).join(", ")}`);
  return {
    key,
    updateExpression: clauses.join(" "),
    conditionExpression: parts.condition,
    names,
    values,
  };
}

export function itemKey(metadata: DeliveryMetadata): ItemKey {
  return { [TABLE_PARTITION_KEY]: metadata.customer_id, [TABLE_SORT_KEY]: metadata.order_id } as ItemKey;
}

/** The attributes a transcript write owns; the redacted-audio write never touches them, and vice versa. */
export const TRANSCRIPT_ATTRIBUTES = [
  "transcript_id",
  "status",
  "text",
  "text_s3_key",
  "error",
  "audio_duration",
  "language_code",
  "confidence",
  "metadata",
  "received_at",
  "stored_at",
  "transcript_s3_key",
  "source",
  "request_id",
] as const;

export const REDACTED_AUDIO_ATTRIBUTES = [
  "redacted_audio_s3_key",
  "redacted_audio_stored_at",
  "redacted_audio_error",
  "redacted_audio_transcript_id",
] as const;

/** Who may write: no transcript yet; an older delivery of another transcript (the latest wins). */
const REPLACEABLE =
  "attribute_not_exists(#transcript_id) OR " +
  "(#transcript_id <> :transcript_id AND (attribute_not_exists(#received_at) OR #received_at <= :received_at))";

/** Where a transcript's text lives: inline on the item, in the bucket, or nowhere (an errored transcript). */
export type TextPlacement =
  | { readonly kind: "inline"; readonly text: string }
  | { readonly kind: "s3"; readonly key: string }
  | { readonly kind: "none" };

export function placeText(
  text: string | null | undefined,
  maxInlineBytes: number,
  s3Key: string,
): TextPlacement {
  if (text === null || text === undefined) return { kind: "none" };
  return Buffer.byteLength(text, "utf8") <= maxInlineBytes
    ? { kind: "inline", text }
    : { kind: "s3", key: s3Key };
}

interface DeliveryContext {
  readonly delivery: TranscriptDelivery;
  readonly storedAt: string;
  /**
   * The item as read before the write: when it held another transcript, redacted audio not known to belong
   * to this one is removed with it (see clearsRedactedAudio). The write's condition guards the race.
   */
  readonly stored?: StoredTranscript | undefined;
}

/** The redacted-audio attributes a transcript write removes, if any. */
function staleRedactedAudio({ delivery, stored }: DeliveryContext): string[] {
  return clearsRedactedAudio(stored, delivery.transcript_id) ? [...REDACTED_AUDIO_ATTRIBUTES] : [];
}

function deliveryFields({ delivery, storedAt }: DeliveryContext): Record<string, unknown> {
  return {
    transcript_id: delivery.transcript_id,
    metadata: delivery.metadata.params,
    received_at: delivery.received_at,
    stored_at: storedAt,
    source: delivery.source,
    request_id: delivery.request_id,
  };
}

/**
 * The write for a transcript AssemblyAI answered as completed or error. It succeeds when nothing is stored
 * yet, when it replaces an older delivery of another transcript, or when it changes the status of the same
 * transcript (fetch_failed → completed on replay); a repeat of what is stored fails its condition.
 */
export function buildTranscriptUpdate(
  context: DeliveryContext & {
    readonly transcript: Transcript;
    readonly status: "completed" | "error";
    readonly transcriptS3Key: string;
    readonly text: TextPlacement;
  },
): ItemUpdate {
  const { transcript, status, text } = context;
  const set: Record<string, unknown> = {
    ...deliveryFields(context),
    status,
    transcript_s3_key: context.transcriptS3Key,
  };
  const remove: string[] = [];
  const optional = {
    audio_duration: transcript.audio_duration,
    language_code: transcript.language_code,
    confidence: transcript.confidence,
    error: status === "error" ? (transcript.error ?? "transcription failed") : undefined,
    text: text.kind === "inline" ? text.text : undefined,
    text_s3_key: text.kind === "s3" ? text.key : undefined,
  };
  for (const [name, value] of Object.entries(optional)) {
    if (value === undefined || value === null) remove.push(name);
    else set[name] = value;
  }
  remove.push(...staleRedactedAudio(context));
  return buildUpdate(itemKey(context.delivery.metadata), {
    set,
    remove,
    condition: `${REPLACEABLE} OR (#transcript_id = :transcript_id AND #status <> :status)`,
  });
}

/**
 * The write for a transcript that could not be fetched for good (or was deleted at AssemblyAI). It never
 * replaces a stored result of the same transcript; a deleted transcript never replaces any stored result.
 */
export function buildFetchFailedUpdate(
  context: DeliveryContext & { readonly error: string; readonly deleted: boolean },
): ItemUpdate {
  const condition = context.deleted
    ? `(${REPLACEABLE}) AND (attribute_not_exists(#status) OR NOT (#status IN (:status_completed, :status_error)))`
    : REPLACEABLE;
  return buildUpdate(itemKey(context.delivery.metadata), {
    set: { ...deliveryFields(context), status: "fetch_failed", error: context.error },
    remove: [
      "text",
      "text_s3_key",
      "audio_duration",
      "language_code",
      "confidence",
      "transcript_s3_key",
      ...staleRedactedAudio(context),
    ],
    condition,
    ...(context.deleted
      ? { conditionValues: { ":status_completed": "completed", ":status_error": "error" } }
      : {}),
  });
}

/** Only while the item holds no transcript, or the one the audio belongs to. */
const AUDIO_BELONGS =
  "(attribute_not_exists(#transcript_id) OR #transcript_id = :redacted_audio_transcript_id)";

/**
 * Records a stored redacted-audio file; creates the item (with its metadata) when the transcript is not there
 * yet. With the audio's transcript id known, the write fails its condition (superseded) when the item holds
 * another transcript; unknown, it is written as it comes.
 */
export function buildRedactedAudioUpdate(
  delivery: RedactedAudioDelivery,
  s3Key: string,
  storedAt: string,
  transcriptId: string | undefined,
): ItemUpdate {
  const known = transcriptId !== undefined;
  return buildUpdate(itemKey(delivery.metadata), {
    set: {
      redacted_audio_s3_key: s3Key,
      redacted_audio_stored_at: storedAt,
      ...(known ? { redacted_audio_transcript_id: transcriptId } : {}),
    },
    setIfAbsent: { metadata: delivery.metadata.params },
    remove: known ? ["redacted_audio_error"] : ["redacted_audio_error", "redacted_audio_transcript_id"],
    ...(known ? { condition: AUDIO_BELONGS } : {}),
  });
}

/**
 * Records why the redacted audio could not be downloaded, unless a file from another delivery is stored
 * (or, with the audio's transcript id known, the item holds another transcript).
 */
export function buildRedactedAudioErrorUpdate(
  delivery: RedactedAudioDelivery,
  error: string,
  transcriptId: string | undefined,
): ItemUpdate {
  const known = transcriptId !== undefined;
  return buildUpdate(itemKey(delivery.metadata), {
    set: { redacted_audio_error: error, ...(known ? { redacted_audio_transcript_id: transcriptId } : {}) },
    setIfAbsent: { metadata: delivery.metadata.params },
    remove: known ? [] : ["redacted_audio_transcript_id"],
    condition: known
      ? `attribute_not_exists(#redacted_audio_s3_key) AND ${AUDIO_BELONGS}`
      : "attribute_not_exists(#redacted_audio_s3_key)",
  });
}

// ---------------------------------------------------------------------------------------------------------
// Redacted-audio download

/** 2xx: store it. 408/429/5xx: try again. Any other 4xx (403/404/410: the presigned URL expired): final. */
export function classifyDownloadStatus(status: number): "ok" | "transient" | "final" {
  if (status >= 200 && status < 300) return "ok";
  return isRetryableStatus(status) ? "transient" : "final";
}

// ---------------------------------------------------------------------------------------------------------
// Telemetry

export interface RecordReport {
  readonly outcome: Outcome;
  readonly kind: string | undefined;
  readonly messageId: string;
  readonly attempt: number;
  readonly transcriptId?: string | undefined;
  readonly customerId?: string | undefined;
  readonly orderId?: string | undefined;
  readonly requestId?: string | undefined;
  readonly receivedAt?: string | undefined;
  readonly storedAt?: string | undefined;
  readonly reason?: string | undefined;
  readonly s3Key?: string | undefined;
  /** Seconds the record stays invisible before its next attempt (transient failures). */
  readonly retryInSeconds?: number | undefined;
  readonly maxReceiveCount?: number;
  /** webhook, replay or reconciler: only webhook deliveries measure the pipeline's own latency. */
  readonly source?: string | undefined;
}

/** One log line and metric set per record. */
export function recordEvent(report: RecordReport): LogEvent {
  const latencyMs =
    report.receivedAt !== undefined && report.storedAt !== undefined
      ? Math.max(0, Date.parse(report.storedAt) - Date.parse(report.receivedAt))
      : undefined;
  const lastAttempt =
    report.outcome === "transient_failure" &&
    report.maxReceiveCount !== undefined &&
    report.attempt >= report.maxReceiveCount;
  const failed = report.outcome === "transient_failure" || report.outcome === "final_failure";
  const fields: Record<string, unknown> = {
    transcript_id: report.transcriptId,
    customer_id: report.customerId,
    order_id: report.orderId,
    kind: report.kind,
    outcome: report.outcome,
    attempt: report.attempt,
    message_id: report.messageId,
    request_id: report.requestId,
  };
  if (latencyMs !== undefined) fields.latency_ms = latencyMs;
  if (report.reason !== undefined) fields.reason = report.reason;
  if (report.s3Key !== undefined) fields.s3_key = report.s3Key;
  if (report.retryInSeconds !== undefined) fields.retry_in_seconds = report.retryInSeconds;
  // SQS's redrive policy moves the message to the dead-letter queue after this attempt.
  if (lastAttempt) fields.moving_to_dlq = true;
  const metrics: Record<string, { value: number; unit: "Count" | "Milliseconds" }> = {
    Records: { value: 1, unit: "Count" },
  };
  // A replayed or reconciled record's received_at is when its webhook would have arrived: its latency is the
  // outage it recovers from, not the pipeline's, so it stays in the log line and out of the metric.
  if (report.outcome === "stored" && latencyMs !== undefined && (report.source ?? "webhook") === "webhook") {
    metrics.DeliveryToStoredLatency = { value: latencyMs, unit: "Milliseconds" };
  }
  if (report.reason === API_KEY_NOT_SET_REASON) metrics[API_KEY_NOT_SET_METRIC] = { value: 1, unit: "Count" };
  if (report.source !== undefined && report.source !== "webhook") fields.source = report.source;
  return {
    level: lastAttempt || report.outcome === "final_failure" ? "error" : failed ? "warn" : "info",
    message: `record ${report.outcome}`,
    metrics,
    dimensions: { Outcome: report.outcome },
    fields,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Concurrency

/** Maps with at most `limit` calls in flight; results keep the input order. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}
