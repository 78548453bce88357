/** The parts of a stored item the worker's decisions read, and the rules about what a write keeps. Pure. */
import { type RedactedAudioDelivery, TRANSCRIPT_ID_PATTERN } from "../shared/contract/delivery";
import { ERASED_ATTRIBUTE, UNDECIDED_ATTRIBUTE } from "../shared/contract/resources";
import { type HeldTranscript, storedTimes } from "../shared/contract/winner";

/** The parts of a stored item the worker's decisions depend on. */
export interface StoredTranscript extends HeldTranscript {
  /** The transcript the stored redacted audio (or its error) belongs to, when that was known. */
  readonly redactedAudioTranscriptId?: string | undefined;
  /** `streaming_session` when the record holds a streaming session; undefined for a pre-recorded transcript. */
  readonly kind?: string | undefined;
  /** The transcript this one won against only by arrival order (UNDECIDED_ATTRIBUTE), when noted. */
  readonly undecided?: string | undefined;
  /** When the order was erased: the item is a tombstone (ERASED_ATTRIBUTE), and nothing is stored for it. */
  readonly erasedAt?: string | undefined;
}

export function readStoredTranscript(item: Readonly<Record<string, unknown>> | undefined): StoredTranscript {
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  return {
    transcriptId: text(item?.transcript_id),
    status: text(item?.status),
    receivedAt: text(item?.received_at),
    times: storedTimes(item),
    redactedAudioTranscriptId: text(item?.redacted_audio_transcript_id),
    kind: text(item?.kind),
    undecided: text(item?.[UNDECIDED_ATTRIBUTE]),
    erasedAt: text(item?.[ERASED_ATTRIBUTE]),
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
