/**
 * Which transcript a record keeps: the one rule, used by the worker (before fetching, to guard its write,
 * after a lost race), the reconciler and replay. Pure: plain values in, a verdict out.
 *
 * The rule:
 * 1. Nothing stored: write.
 * 2. The same transcript: the same status again is a duplicate; a failure (`fetch_failed`) never replaces
 *    its own result (`completed`/`error`); any other change of status is written (a replay that succeeds).
 * 3. Another transcript: a result beats a failure, whichever is stored (a failure never replaces a result,
 *    and a result always replaces a failure, so the outcome does not depend on arrival order). Between two
 *    results, or two failures, the newer transcript by AssemblyAI's own times wins: the later `created` (the
 *    later-submitted job), then the later `completed` as a tie-break; on a full tie what is stored stays.
 *    Arrival order never decides, except where AssemblyAI cannot tell (see `TranscriptTimes`).
 * So, whatever order deliveries arrive in, a record ends with the newest transcript that has a result, or
 * the newest failure when none has.
 */

import { normalizeAssemblyAiTime } from "./delivery";
import { TIMES_ATTRIBUTES } from "./resources";

/** The statuses a stored transcript item can have. */
export type RecordStatus = "completed" | "error" | "fetch_failed";

/**
 * AssemblyAI's times for a transcript (normalised, see normalizeAssemblyAiTime):
 * - `{ created, completed? }`: known;
 * - `"oldest"`: looked up, and AssemblyAI lists nothing created before it (older than every listed one);
 * - `"unknown"`: looked up, and the list could not say (then arrival order, `received_at`, decides);
 * - `undefined`: not known yet: the verdict is `need_times` when the rule needs it.
 */
export type TranscriptTimes =
  | { readonly created: string; readonly completed?: string | undefined }
  | "oldest"
  | "unknown";

/**
 * AssemblyAI's times from anything that carries them as `created` and `completed`: a list item, a queue
 * message. Undefined when `created` is missing or unreadable (then they must be looked up).
 */
export function timesFrom(source: {
  readonly created?: unknown;
  readonly completed?: unknown;
}): TranscriptTimes | undefined {
  const created = normalizeAssemblyAiTime(source.created);
  if (created === undefined) return undefined;
  const completed = normalizeAssemblyAiTime(source.completed);
  return completed === undefined ? { created } : { created, completed };
}

/** AssemblyAI's times as a stored record keeps them (TIMES_ATTRIBUTES). */
export function storedTimes(
  item: Readonly<Record<string, unknown>> | undefined,
): TranscriptTimes | undefined {
  return item === undefined
    ? undefined
    : timesFrom({ created: item[TIMES_ATTRIBUTES.created], completed: item[TIMES_ATTRIBUTES.completed] });
}

export interface HeldTranscript {
  readonly transcriptId: string | undefined;
  readonly status: string | undefined;
  readonly receivedAt?: string | undefined;
  readonly times?: TranscriptTimes | undefined;
}

export interface IncomingTranscript {
  readonly transcriptId: string;
  readonly status: RecordStatus;
  readonly receivedAt: string;
  readonly times?: TranscriptTimes | undefined;
}

export type Verdict =
  /** Write it: nothing is stored, or it replaces what is (`byArrival`: only because it arrived later). */
  | { readonly verdict: "write"; readonly byArrival?: true }
  /** What is stored already says this. */
  | { readonly verdict: "duplicate" }
  /** What is stored wins; the reason says why (`byArrival`: only because it arrived later). */
  | { readonly verdict: "superseded"; readonly reason: string; readonly byArrival?: true }
  /** Another transcript is stored and the times that order the two are missing for these sides. */
  | { readonly verdict: "need_times"; readonly held: boolean; readonly incoming: boolean };

export function isResult(status: string | undefined): boolean {
  return status === "completed" || status === "error";
}

/** Positive when `a` is newer than `b`, negative when older, 0 when AssemblyAI's times do not tell. */
function compareTimes(a: TranscriptTimes, b: TranscriptTimes): number | "unknown" {
  if (a === "unknown" || b === "unknown") return "unknown";
  if (a === "oldest" || b === "oldest") return a === b ? 0 : a === "oldest" ? -1 : 1;
  if (a.created !== b.created) return a.created > b.created ? 1 : -1;
  if (a.completed !== undefined && b.completed !== undefined && a.completed !== b.completed) {
    return a.completed > b.completed ? 1 : -1;
  }
  return 0;
}

export function decide(held: HeldTranscript, incoming: IncomingTranscript): Verdict {
  if (held.transcriptId === undefined) return { verdict: "write" };
  if (held.transcriptId === incoming.transcriptId) {
    if (held.status === incoming.status) return { verdict: "duplicate" };
    if (incoming.status === "fetch_failed" && isResult(held.status)) {
      return { verdict: "superseded", reason: `transcript ${held.transcriptId} is stored with its result` };
    }
    return { verdict: "write" };
  }
  if (incoming.status === "fetch_failed" && isResult(held.status)) {
    return {
      verdict: "superseded",
      reason: `a failure never replaces a stored result (transcript ${held.transcriptId})`,
    };
  }
  if (isResult(incoming.status) && held.status === "fetch_failed") return { verdict: "write" };
  if (held.times === undefined || incoming.times === undefined) {
    return { verdict: "need_times", held: held.times === undefined, incoming: incoming.times === undefined };
  }
  const order = compareTimes(incoming.times, held.times);
  if (order === "unknown") {
    // AssemblyAI could not order them: the later arrival wins, as it did before times were known, and the
    // verdict says so (the worker marks the record, and the reconciler has it decided again later).
    const later = held.receivedAt === undefined || held.receivedAt <= incoming.receivedAt;
    if (later && held.receivedAt !== incoming.receivedAt) return { verdict: "write", byArrival: true };
    return {
      verdict: "superseded",
      reason: `AssemblyAI's list cannot order it and the stored transcript ${held.transcriptId}; the stored one arrived ${later ? "at the same time" : "later"}`,
      byArrival: true,
    };
  }
  if (order > 0) return { verdict: "write" };
  return {
    verdict: "superseded",
    reason: `the stored transcript ${held.transcriptId} is ${order < 0 ? "newer" : "as new"} by AssemblyAI's times`,
  };
}

/** A DynamoDB condition (names as `#attribute`) and its values. */
export interface Guard {
  readonly condition: string;
  readonly values: Readonly<Record<string, unknown>>;
}

/**
 * The condition a write decided by `decide` carries: the item still holds the transcript (and status) the
 * verdict was reached on. When it fails, the item is read again and decided again: one rule, not a second
 * encoding of it in a condition expression.
 */
export function guardFor(held: HeldTranscript): Guard {
  if (held.transcriptId === undefined)
    return { condition: "attribute_not_exists(#transcript_id)", values: {} };
  return held.status === undefined
    ? {
        condition: "#transcript_id = :held_transcript_id AND attribute_not_exists(#status)",
        values: { ":held_transcript_id": held.transcriptId },
      }
    : {
        condition: "#transcript_id = :held_transcript_id AND #status = :held_status",
        values: { ":held_transcript_id": held.transcriptId, ":held_status": held.status },
      };
}
