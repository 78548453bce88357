/**
 * When the reconciler queues a `fetch_failed` record again: the worker marks a record whose fetch AssemblyAI
 * refused with 401/403 (our API key) or 404 as waiting (contract/resources.ts, FETCH_RETRY_ATTRIBUTES), and
 * the reconciler keeps its own count of tries in the checkpoint, since it never writes records. Pure.
 *
 * A waiting record is due once the API key has changed since its last try (by fingerprint: the key the
 * worker failed with, then the reconciler's key at each try), or once the delay since its last try has
 * passed, doubling after each try. Tries for the delay stop after `maxAttempts` (the record is reported
 * given up, once); a new key still gets one try, whatever the count, so a key fixed days after it broke
 * recovers every record it broke. Both are bounded: by the count, and by one try per record per key.
 */
import {
  DEFAULT_FETCH_RETRY_DELAY_MINUTES,
  DEFAULT_FETCH_RETRY_WINDOW_DAYS,
  DEFAULT_MAX_FETCH_RETRIES,
} from "./constants";
import type { FetchRetryAttempt, WaitingFetchFailure } from "./types";

export interface FetchRetryPolicy {
  readonly maxAttempts: number;
  /** Before the first try; doubled after each. */
  readonly delayMs: number;
  /** Records that failed longer ago than this are no longer looked at (nor their tries kept). */
  readonly windowMs: number;
}

export const DEFAULT_FETCH_RETRY_POLICY: FetchRetryPolicy = {
  maxAttempts: DEFAULT_MAX_FETCH_RETRIES,
  delayMs: DEFAULT_FETCH_RETRY_DELAY_MINUTES * 60_000,
  windowMs: DEFAULT_FETCH_RETRY_WINDOW_DAYS * 24 * 60 * 60_000,
};

export type RetryDecision =
  | { readonly due: true; readonly why: "key_changed" | "delay_passed" }
  | { readonly due: false; readonly why: "waiting" | "exhausted" };

const WAITING: RetryDecision = { due: false, why: "waiting" };

/**
 * Whether to try `record` again now. `attempt` is what the checkpoint keeps of earlier tries (none yet:
 * undefined); `keyFingerprint` the fingerprint of the API key this run reads with.
 */
export function retryDecision(
  record: WaitingFetchFailure,
  attempt: FetchRetryAttempt | undefined,
  keyFingerprint: string,
  nowMs: number,
  policy: FetchRetryPolicy = DEFAULT_FETCH_RETRY_POLICY,
): RetryDecision {
  const lastKey = attempt?.keyFingerprint ?? record.keyFingerprint;
  if (lastKey !== undefined && lastKey !== keyFingerprint) return { due: true, why: "key_changed" };
  const attempts = attempt?.attempts ?? 0;
  const lastMs = Date.parse(attempt?.lastAttemptAt ?? record.failedAt);
  // An unreadable time (a record edited by hand, say) must not make it wait forever.
  const delayPassed = !Number.isFinite(lastMs) || nowMs >= lastMs + policy.delayMs * 2 ** attempts;
  // Given up only once the last try has had its delay to work (the worker may not have stored it yet).
  if (attempts >= policy.maxAttempts) return delayPassed ? { due: false, why: "exhausted" } : WAITING;
  return delayPassed ? { due: true, why: "delay_passed" } : WAITING;
}
