/** The worker's DynamoDB writes as UpdateItem requests (values unmarshalled), built from plain values. Pure. */
import type { Transcript } from "assemblyai";
import type {
  DeliveryMetadata,
  RedactedAudioDelivery,
  StreamingSessionDelivery,
  TranscriptDelivery,
} from "../shared/contract/delivery";
import {
  ERASED_ATTRIBUTE,
  FETCH_RETRY_ATTRIBUTES,
  FETCH_RETRY_STATUSES,
  FETCH_RETRY_WAITING,
  TABLE_PARTITION_KEY,
  TABLE_SORT_KEY,
  TIMES_ATTRIBUTES,
  UNDECIDED_ATTRIBUTE,
} from "../shared/contract/resources";
import { type Guard, guardFor, type TranscriptTimes } from "../shared/contract/winner";
import { clearsRedactedAudio, type StoredTranscript } from "./records";
import type { AssembledSession } from "./sessions";

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
  UNDECIDED_ATTRIBUTE,
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
  TIMES_ATTRIBUTES.created,
  TIMES_ATTRIBUTES.completed,
  "kind",
  "session_id",
  "word_count",
  "duration_ms",
  ...Object.values(FETCH_RETRY_ATTRIBUTES),
] as const;

/** The record's `kind` for a streaming session (a pre-recorded transcript's record has none). */
export const STREAMING_SESSION_KIND = "streaming_session";

/** Attributes only a streaming session's record has: a pre-recorded transcript replacing one removes them. */
export const SESSION_ATTRIBUTES = ["kind", "session_id", "word_count", "duration_ms"] as const;

/** Attributes only a pre-recorded transcript's record has: a streaming session replacing one removes them. */
const PRE_RECORDED_ATTRIBUTES = ["audio_duration", "language_code", "confidence", "error"] as const;

export const REDACTED_AUDIO_ATTRIBUTES = [
  "redacted_audio_s3_key",
  "redacted_audio_stored_at",
  "redacted_audio_error",
  "redacted_audio_transcript_id",
] as const;

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

/**
 * What a record write takes from its message: the transcript it keeps and where the message came from. A
 * streaming session is kept under its `session_id` as the record's `transcript_id` (see sessionRecordSource).
 */
export type RecordSource = Pick<
  TranscriptDelivery,
  "transcript_id" | "metadata" | "received_at" | "source" | "request_id"
>;

/**
 * A streaming session as a record source: its `session_id` stands where a transcript id does, so the one
 * winner rule, the write guard, the `transcript_id` index and the reconciler treat it like any transcript.
 */
export function sessionRecordSource(delivery: StreamingSessionDelivery): RecordSource {
  return {
    transcript_id: delivery.session_id,
    metadata: delivery.metadata,
    received_at: delivery.received_at,
    source: delivery.source,
    request_id: delivery.request_id,
  };
}

interface DeliveryContext {
  readonly delivery: RecordSource;
  readonly storedAt: string;
  /**
   * The item as read when the write was decided (see contract/winner.ts): the write's condition is that it
   * still holds the same transcript and status. When it held another transcript, redacted audio not known
   * to belong to this one is removed with it (see clearsRedactedAudio).
   */
  readonly stored: StoredTranscript;
  /** AssemblyAI's times for the transcript written, when known: kept on the record, else removed. */
  readonly times?: TranscriptTimes | undefined;
  /** The transcript this one replaced only by arrival order (see UNDECIDED_ATTRIBUTE): noted, else removed. */
  readonly undecided?: string | undefined;
}

/** The redacted-audio attributes a transcript write removes, if any. */
function staleRedactedAudio({ delivery, stored }: DeliveryContext): string[] {
  return clearsRedactedAudio(stored, delivery.transcript_id) ? [...REDACTED_AUDIO_ATTRIBUTES] : [];
}

/** A pre-recorded transcript's write over a streaming session's record drops the session's own fields. */
function staleSession({ stored }: DeliveryContext): string[] {
  return stored.kind === STREAMING_SESSION_KIND ? [...SESSION_ATTRIBUTES] : [];
}

/** The fields every transcript write sets, and the times it sets or removes. */
function deliveryFields(context: DeliveryContext): { set: Record<string, unknown>; remove: string[] } {
  const { delivery, storedAt, times } = context;
  const set: Record<string, unknown> = {
    transcript_id: delivery.transcript_id,
    metadata: delivery.metadata.params,
    received_at: delivery.received_at,
    stored_at: storedAt,
    source: delivery.source,
    request_id: delivery.request_id,
  };
  const remove: string[] = [...staleRedactedAudio(context)];
  const known = typeof times === "object" ? times : undefined;
  if (known === undefined) {
    // Stale times of a replaced transcript must not stay beside this one's.
    remove.push(TIMES_ATTRIBUTES.created, TIMES_ATTRIBUTES.completed);
  } else {
    set[TIMES_ATTRIBUTES.created] = known.created;
    if (known.completed === undefined) remove.push(TIMES_ATTRIBUTES.completed);
    else set[TIMES_ATTRIBUTES.completed] = known.completed;
  }
  return { set, remove };
}

/**
 * Every write that could create or fill an item also requires that the order was not erased: an erased
 * order's item is a tombstone (ERASED_ATTRIBUTE) holding no transcript, which "nothing stored" would
 * otherwise match, so a worker that read the item before the erasure cannot write it back after.
 */
export const NOT_ERASED = `attribute_not_exists(#${ERASED_ATTRIBUTE})`;

function guarded(stored: StoredTranscript): Pick<UpdateParts, "condition" | "conditionValues"> {
  const guard: Guard = guardFor(stored);
  return { condition: `${guard.condition} AND ${NOT_ERASED}`, conditionValues: guard.values };
}

/** The write for a transcript AssemblyAI answered as completed or error, once `decide` said "write". */
export function buildTranscriptUpdate(
  context: DeliveryContext & {
    readonly transcript: Transcript;
    readonly status: "completed" | "error";
    readonly transcriptS3Key: string;
    readonly text: TextPlacement;
  },
): ItemUpdate {
  const { transcript, status, text } = context;
  const fields = deliveryFields(context);
  const set: Record<string, unknown> = { ...fields.set, status, transcript_s3_key: context.transcriptS3Key };
  const remove: string[] = [...fields.remove, ...staleSession(context)];
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
  // A stored result ends the wait for a retry (see FETCH_RETRY_ATTRIBUTES).
  remove.push(...Object.values(FETCH_RETRY_ATTRIBUTES));
  if (context.undecided !== undefined) set[UNDECIDED_ATTRIBUTE] = context.undecided;
  else remove.push(UNDECIDED_ATTRIBUTE);
  return buildUpdate(itemKey(context.delivery.metadata), { set, remove, ...guarded(context.stored) });
}

/**
 * Notes, on a record that kept its transcript only because it arrived later, which transcript lost (see
 * UNDECIDED_ATTRIBUTE); only while the item still holds the kept transcript.
 */
export function buildUndecidedUpdate(
  metadata: DeliveryMetadata,
  keptTranscriptId: string,
  otherTranscriptId: string,
): ItemUpdate {
  return {
    key: itemKey(metadata),
    updateExpression: "SET #undecided = :undecided",
    conditionExpression: "#transcript_id = :kept",
    names: { "#undecided": UNDECIDED_ATTRIBUTE, "#transcript_id": "transcript_id" },
    values: { ":undecided": otherTranscriptId, ":kept": keptTranscriptId },
  };
}

/**
 * Why a fetch failed, when a later read may succeed: AssemblyAI's status, the API key's fingerprint and the
 * region that answered.
 */
export interface FetchRetry {
  readonly status: number;
  readonly keyFingerprint: string;
  readonly region?: string | undefined;
}

/**
 * The write for a transcript that could not be fetched for good (or was deleted at AssemblyAI). A 401, 403
 * or 404 (`retry`) marks the record as waiting for the reconciler to queue it again (FETCH_RETRY_ATTRIBUTES).
 */
export function buildFetchFailedUpdate(
  context: DeliveryContext & { readonly error: string; readonly retry?: FetchRetry | undefined },
): ItemUpdate {
  const fields = deliveryFields(context);
  const { retry } = context;
  const waits = retry !== undefined && FETCH_RETRY_STATUSES.has(retry.status);
  const waiting =
    waits && retry !== undefined
      ? {
          [FETCH_RETRY_ATTRIBUTES.state]: FETCH_RETRY_WAITING,
          [FETCH_RETRY_ATTRIBUTES.since]: context.storedAt,
          [FETCH_RETRY_ATTRIBUTES.status]: retry.status,
          [FETCH_RETRY_ATTRIBUTES.key]: retry.keyFingerprint,
          ...(retry.region !== undefined ? { [FETCH_RETRY_ATTRIBUTES.region]: retry.region } : {}),
        }
      : {};
  return buildUpdate(itemKey(context.delivery.metadata), {
    set: { ...fields.set, ...waiting, status: "fetch_failed", error: context.error },
    remove: [
      "text",
      "text_s3_key",
      "audio_duration",
      "language_code",
      "confidence",
      "transcript_s3_key",
      ...fields.remove,
      ...staleSession(context),
      // Another failure ends the wait of an earlier one, unless it waits itself.
      ...(waits ? [] : Object.values(FETCH_RETRY_ATTRIBUTES)),
    ],
    ...guarded(context.stored),
  });
}

/**
 * The write for a streaming session, once `decide` said "write": always `completed` (the body is the
 * result), its text assembled from the turns, the raw body at `transcriptS3Key`.
 */
export function buildSessionUpdate(
  context: DeliveryContext & {
    readonly session: AssembledSession;
    readonly transcriptS3Key: string;
    readonly text: TextPlacement;
  },
): ItemUpdate {
  const { session, text } = context;
  const fields = deliveryFields(context);
  const set: Record<string, unknown> = {
    ...fields.set,
    status: "completed",
    kind: STREAMING_SESSION_KIND,
    session_id: context.delivery.transcript_id,
    word_count: session.wordCount,
    transcript_s3_key: context.transcriptS3Key,
  };
  // A stored result ends the wait for a retry of an earlier fetch_failed (see FETCH_RETRY_ATTRIBUTES).
  const remove: string[] = [
    ...fields.remove,
    ...PRE_RECORDED_ATTRIBUTES,
    ...Object.values(FETCH_RETRY_ATTRIBUTES),
  ];
  const optional = {
    duration_ms: session.durationMs,
    text: text.kind === "inline" ? text.text : undefined,
    text_s3_key: text.kind === "s3" ? text.key : undefined,
  };
  for (const [name, value] of Object.entries(optional)) {
    if (value === undefined) remove.push(name);
    else set[name] = value;
  }
  return buildUpdate(itemKey(context.delivery.metadata), { set, remove, ...guarded(context.stored) });
}

/**
 * Keeps AssemblyAI's times, looked up to order two transcripts, on the record that won, so that they are
 * never looked up again for it; only while the item still holds that transcript and has no times.
 */
export function buildTimesUpdate(
  metadata: DeliveryMetadata,
  transcriptId: string,
  times: TranscriptTimes,
): ItemUpdate | undefined {
  if (typeof times !== "object") return undefined;
  return buildUpdate(itemKey(metadata), {
    set: {
      [TIMES_ATTRIBUTES.created]: times.created,
      ...(times.completed !== undefined ? { [TIMES_ATTRIBUTES.completed]: times.completed } : {}),
    },
    remove: [],
    condition: `#transcript_id = :held_transcript_id AND attribute_not_exists(#${TIMES_ATTRIBUTES.created})`,
    conditionValues: { ":held_transcript_id": transcriptId },
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
    condition: known ? `${AUDIO_BELONGS} AND ${NOT_ERASED}` : NOT_ERASED,
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
      ? `attribute_not_exists(#redacted_audio_s3_key) AND ${AUDIO_BELONGS} AND ${NOT_ERASED}`
      : `attribute_not_exists(#redacted_audio_s3_key) AND ${NOT_ERASED}`,
  });
}
