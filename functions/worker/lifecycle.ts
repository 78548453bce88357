/**
 * What happens to a transcript after it is stored (settings `retentionDays` and `deleteFromAssemblyAi`): when
 * its record expires, how AssemblyAI's answer to a DELETE is read, when a delete waits for the redacted audio,
 * how a failed one is retried, and the writes that record it. Pure.
 */
import type { Transcript } from "assemblyai";
import type { DeleteResult } from "../shared/assemblyai-client";
import { EXPIRES_AT_ATTRIBUTE } from "../shared/contract/resources";
import { isRetryableStatus } from "./answers";
import { parseRetryAfter } from "./backoff";
import type { ItemKey, ItemUpdate } from "./updates";

const DAY_SECONDS = 86_400;

/** When a record written at `nowMs` expires: `retentionDays` later, in epoch seconds (DynamoDB's TTL unit). */
export function expiresAt(nowMs: number, retentionDays: number): number {
  return Math.floor(nowMs / 1000) + retentionDays * DAY_SECONDS;
}

/**
 * The write, also setting the record's expiry. Every write the worker makes sets it, so a record lives
 * `retentionDays` past its last write, and past every object it points at (each is written before the item).
 */
export function withExpiry(update: ItemUpdate, epochSeconds: number): ItemUpdate {
  if (!update.updateExpression.startsWith("SET ")) {
    throw new Error("a record write must start with SET to carry its expiry");
  }
  const name = `#${EXPIRES_AT_ATTRIBUTE}`;
  const value = `:${EXPIRES_AT_ATTRIBUTE}`;
  return {
    ...update,
    updateExpression: `SET ${name} = ${value}, ${update.updateExpression.slice("SET ".length)}`,
    names: { ...update.names, [name]: EXPIRES_AT_ATTRIBUTE },
    values: { ...update.values, [value]: epochSeconds },
  };
}

/** What the record says about the transcript's copy at AssemblyAI. */
export const ASSEMBLYAI_DELETE_ATTRIBUTES = {
  /** true once deleted; false once given up (never set while a retry is queued). */
  deleted: "assemblyai_deleted",
  /** When AssemblyAI answered the DELETE with a 2xx (ISO-8601, the worker's clock). */
  deletedAt: "assemblyai_deleted_at",
  /** Why the last try failed: kept while a retry is queued and when given up, removed once deleted. */
  error: "assemblyai_delete_error",
  /** Tries made so far, while they fail. */
  attempts: "assemblyai_delete_attempts",
  /** `redacted_audio` while the delete waits for the transcript's redacted audio (see deleteWaitsForRedactedAudio). */
  waitsFor: "assemblyai_delete_waits_for",
} as const;

export const WAITS_FOR_REDACTED_AUDIO = "redacted_audio";

/**
 * A transcript write (another transcript, or a new result) starts its transcript's story afresh: the
 * deletion state of the one it replaces goes with it. `waitsForRedactedAudio` notes on the record that
 * this one's delete waits for its redacted audio (so a repeated delivery knows whether it may delete).
 */
export function withoutDeleteState(update: ItemUpdate, waitsForRedactedAudio = false): ItemUpdate {
  const waits = `#${ASSEMBLYAI_DELETE_ATTRIBUTES.waitsFor}`;
  const removed = Object.values(ASSEMBLYAI_DELETE_ATTRIBUTES).filter(
    (attribute) => !waitsForRedactedAudio || attribute !== ASSEMBLYAI_DELETE_ATTRIBUTES.waitsFor,
  );
  const names: Record<string, string> = Object.fromEntries(
    Object.values(ASSEMBLYAI_DELETE_ATTRIBUTES).map((attribute) => [`#${attribute}`, attribute]),
  );
  const list = removed.map((attribute) => `#${attribute}`).join(", ");
  const [set, remove] = update.updateExpression.split(" REMOVE ");
  const assignments = waitsForRedactedAudio ? `${set}, ${waits} = :assemblyai_delete_waits_for` : set;
  const expression = `${assignments} REMOVE ${remove === undefined ? list : `${remove}, ${list}`}`;
  return {
    ...update,
    updateExpression: expression,
    names: { ...update.names, ...names },
    values: waitsForRedactedAudio
      ? { ...update.values, ":assemblyai_delete_waits_for": WAITS_FOR_REDACTED_AUDIO }
      : update.values,
  };
}

/**
 * Whether a repeated delivery of the record's transcript should delete it: the record holds it as a result,
 * and no delete happened, is queued or was given up (a worker stopped between the write and the delete),
 * and it waits for no redacted audio any longer.
 */
export function deleteStillDue(item: Item, transcriptId: string): boolean {
  if (item?.transcript_id !== transcriptId || item.kind !== undefined) return false;
  if (item.status !== "completed" && item.status !== "error") return false;
  const a = ASSEMBLYAI_DELETE_ATTRIBUTES;
  if (item[a.deleted] !== undefined || item[a.deletedAt] !== undefined || item[a.attempts] !== undefined) {
    return false;
  }
  return item[a.waitsFor] !== WAITS_FOR_REDACTED_AUDIO || redactedAudioSettled(item, transcriptId);
}

/** Tries of a DELETE within the invocation that stored the record, and the pauses between them. */
export const DELETE_PAUSES_MS = [250, 1_000] as const;
export const DELETE_TRIES_IN_INVOCATION = DELETE_PAUSES_MS.length + 1;
/** A Retry-After longer than this is left to a queued retry rather than waited for in the invocation. */
export const MAX_IN_INVOCATION_WAIT_MS = 2_000;
/** Queued retries before the worker gives up: about 45 minutes on AWS (60 s doubling, at most 15 minutes). */
export const MAX_QUEUED_DELETE_ATTEMPTS = 6;
/** SQS's largest DelaySeconds. */
export const MAX_DELETE_DELAY_SECONDS = 900;

/**
 * How long queued retry number `attempt` (1 for the first) waits: twice the worker's first backoff, doubling
 * per attempt (60 s, 120 s, … on AWS), never sooner than Retry-After, at most SQS's 15 minutes.
 */
export function deleteRetryDelaySeconds(
  attempt: number,
  retryBaseSeconds: number,
  retryAfterSeconds?: number,
): number {
  const backoff = retryBaseSeconds * 2 ** Math.max(1, attempt);
  return Math.min(MAX_DELETE_DELAY_SECONDS, Math.max(backoff, retryAfterSeconds ?? 0));
}

export type DeleteDecision =
  | { readonly action: "deleted" }
  | { readonly action: "retry"; readonly reason: string; readonly retryAfterSeconds?: number }
  /** 404: not in this region (with several regions, the next one is asked). */
  | { readonly action: "not_here"; readonly reason: string }
  | { readonly action: "final"; readonly reason: string };

/** AssemblyAI's 400 for a job it has not finished: it refuses to delete one still queued or processing. */
const STILL_PROCESSING = /\b(queued|processing)\b/i;

/**
 * What the worker makes of a DELETE's answer. 429/5xx, timeouts and a job still processing: retry later.
 * 401/403: retry too (a key being fixed; the retries are bounded). 404: not there. Any other 4xx: final.
 */
export function classifyDelete(result: DeleteResult, nowMs: number): DeleteDecision {
  switch (result.type) {
    case "deleted":
      return { action: "deleted" };
    case "network_error":
      return {
        action: "retry",
        reason: result.timedOut
          ? "AssemblyAI delete timed out"
          : `AssemblyAI unreachable for the delete: ${result.reason}`,
      };
    case "invalid_body":
      return {
        action: "retry",
        reason: `AssemblyAI delete answered HTTP ${result.status} with ${result.reason}`,
      };
    case "http_error": {
      const reason = `AssemblyAI delete answered HTTP ${result.status}${result.message ? `: ${result.message}` : ""}`;
      if (result.status === 404) return { action: "not_here", reason };
      if (result.status === 400 && STILL_PROCESSING.test(result.message ?? ""))
        return { action: "retry", reason };
      if (result.status === 401 || result.status === 403 || isRetryableStatus(result.status)) {
        const retryAfterSeconds = parseRetryAfter(result.retryAfter, nowMs);
        return retryAfterSeconds === undefined
          ? { action: "retry", reason }
          : { action: "retry", reason, retryAfterSeconds };
      }
      return { action: "final", reason };
    }
  }
}

type Item = Readonly<Record<string, unknown>> | undefined;

/** Whether the record's transcript is `transcriptId` and was deleted at AssemblyAI already. */
export function alreadyDeleted(item: Item, transcriptId: string): boolean {
  return (
    item?.transcript_id === transcriptId && typeof item?.[ASSEMBLYAI_DELETE_ATTRIBUTES.deletedAt] === "string"
  );
}

/**
 * Whether the record's redacted audio is stored or has failed for good, for `transcriptId`: audio of an
 * unknown transcript on the record counts as its (a transcript write removes audio it cannot own).
 */
export function redactedAudioSettled(item: Item, transcriptId: string): boolean {
  if (item === undefined) return false;
  const settled = item.redacted_audio_s3_key !== undefined || item.redacted_audio_error !== undefined;
  const owner = item.redacted_audio_transcript_id;
  return settled && (owner === undefined || owner === transcriptId);
}

/**
 * A completed transcript with `redact_pii_audio` keeps its copy at AssemblyAI until its redacted audio is
 * stored or has failed for good: the audio's URL is AssemblyAI's, and a delete first would lose it.
 */
export function deleteWaitsForRedactedAudio(
  transcript: Pick<Transcript, "redact_pii_audio">,
  status: "completed" | "error",
): boolean {
  return status === "completed" && transcript.redact_pii_audio === true;
}

/** Only while the record holds the transcript, and never over a recorded deletion. */
const HOLDS_UNDELETED = `#transcript_id = :transcript_id AND attribute_not_exists(#${ASSEMBLYAI_DELETE_ATTRIBUTES.deletedAt})`;

/** Records the deletion: `assemblyai_deleted` true, when, and no error. */
export function buildDeletedUpdate(key: ItemKey, transcriptId: string, deletedAt: string): ItemUpdate {
  const a = ASSEMBLYAI_DELETE_ATTRIBUTES;
  return {
    key,
    updateExpression: `SET #${a.deleted} = :deleted, #${a.deletedAt} = :deleted_at REMOVE #${a.error}, #${a.attempts}, #${a.waitsFor}`,
    conditionExpression: HOLDS_UNDELETED,
    names: {
      "#transcript_id": "transcript_id",
      [`#${a.deleted}`]: a.deleted,
      [`#${a.deletedAt}`]: a.deletedAt,
      [`#${a.error}`]: a.error,
      [`#${a.attempts}`]: a.attempts,
      [`#${a.waitsFor}`]: a.waitsFor,
    },
    values: { ":transcript_id": transcriptId, ":deleted": true, ":deleted_at": deletedAt },
  };
}

/**
 * Records a failed delete: its reason and the tries so far; `gaveUp` also sets `assemblyai_deleted` false.
 * Nothing about the transcript itself changes.
 */
export function buildDeleteFailedUpdate(
  key: ItemKey,
  transcriptId: string,
  error: string,
  attempts: number,
  gaveUp: boolean,
): ItemUpdate {
  const a = ASSEMBLYAI_DELETE_ATTRIBUTES;
  const names: Record<string, string> = {
    "#transcript_id": "transcript_id",
    [`#${a.deletedAt}`]: a.deletedAt,
    [`#${a.error}`]: a.error,
    [`#${a.attempts}`]: a.attempts,
  };
  const values: Record<string, unknown> = {
    ":transcript_id": transcriptId,
    ":error": error.slice(0, 1_000),
    ":attempts": attempts,
  };
  const assignments = [`#${a.error} = :error`, `#${a.attempts} = :attempts`];
  if (gaveUp) {
    names[`#${a.deleted}`] = a.deleted;
    values[":deleted"] = false;
    assignments.unshift(`#${a.deleted} = :deleted`);
  }
  return {
    key,
    updateExpression: `SET ${assignments.join(", ")}`,
    conditionExpression: HOLDS_UNDELETED,
    names,
    values,
  };
}
