/**
 * What a record write adds to its customer's usage counters (contract/resources.ts, USAGE_TABLE), and the
 * UpdateItem that adds it. Pure. The rule:
 * - a write that stores a transcript as `completed` counts it once: one transcript and its `audio_duration`
 *   (a streaming session: one session and its `duration_ms`), on the UTC day of its `stored_at`;
 * - the counter moves in the same transaction as the record's conditional write, so a duplicate (which
 *   writes nothing) and a lost race (whose condition fails) count nothing;
 * - a newer transcript replacing a stored one counts too: AssemblyAI transcribed (and bills) both; so does a
 *   transcript stored `completed` after it was stored as `error` or `fetch_failed`;
 * - `error` and `fetch_failed` writes count nothing (no audio was transcribed that we keep), and neither does
 *   a transcript that loses to the stored one before it is written.
 */
import { TABLE_PARTITION_KEY, USAGE_COUNTERS, USAGE_DAY_KEY } from "../shared/contract/resources";
import type { ItemUpdate } from "./updates";

/** An UpdateItem on the usage table: as the record's, with the usage table's keys. */
export type UsageUpdate = Omit<ItemUpdate, "key"> & { readonly key: Readonly<Record<string, string>> };

export interface UsageIncrement {
  readonly customerId: string;
  /** `YYYY-MM-DD`, UTC. */
  readonly day: string;
  readonly transcripts: number;
  readonly audioSeconds: number;
  readonly sessions: number;
  readonly sessionMilliseconds: number;
}

/** What was written, as far as usage is concerned. */
export interface CountedWrite {
  readonly customerId: string;
  readonly status: "completed" | "error" | "fetch_failed";
  readonly kind: "transcript" | "streaming_session";
  readonly storedAt: string;
  /** Seconds (AssemblyAI's `audio_duration`); absent or not a number counts as 0. */
  readonly audioDuration?: number | null | undefined;
  /** A streaming session's `duration_ms`. */
  readonly durationMs?: number | undefined;
}

function nonNegative(value: number | null | undefined): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;
}

/** The counters a write moves, or undefined when it counts nothing. */
export function usageIncrement(write: CountedWrite): UsageIncrement | undefined {
  if (write.status !== "completed") return undefined;
  const day = write.storedAt.slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const session = write.kind === "streaming_session";
  return {
    customerId: write.customerId,
    day,
    transcripts: session ? 0 : 1,
    audioSeconds: session ? 0 : nonNegative(write.audioDuration),
    sessions: session ? 1 : 0,
    sessionMilliseconds: session ? nonNegative(write.durationMs) : 0,
  };
}

/** The counter item's UpdateItem: ADD is atomic and creates the item (and counters) on first use. */
export function buildUsageUpdate(increment: UsageIncrement, updatedAt: string): UsageUpdate {
  return {
    key: { [TABLE_PARTITION_KEY]: increment.customerId, [USAGE_DAY_KEY]: increment.day },
    updateExpression:
      "ADD #transcripts :transcripts, #audio :audio, #sessions :sessions, #ms :ms SET #at = :at",
    conditionExpression: undefined,
    names: {
      "#transcripts": USAGE_COUNTERS.transcripts,
      "#audio": USAGE_COUNTERS.audioSeconds,
      "#sessions": USAGE_COUNTERS.sessions,
      "#ms": USAGE_COUNTERS.sessionMilliseconds,
      "#at": "updated_at",
    },
    values: {
      ":transcripts": increment.transcripts,
      ":audio": increment.audioSeconds,
      ":sessions": increment.sessions,
      ":ms": increment.sessionMilliseconds,
      ":at": updatedAt,
    },
  };
}
