/** When a failed record comes back: the retry backoff, AssemblyAI's Retry-After, SQS's receive count. Pure. */
import { DEFAULT_RETRY_BASE_SECONDS } from "./config";

/** SQS's ApproximateReceiveCount as a number: 1 on the first delivery. */
export function receiveCount(attribute: string | undefined): number {
  const count = Number(attribute);
  return Number.isInteger(count) && count >= 1 ? count : 1;
}

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
  baseSeconds: number = DEFAULT_RETRY_BASE_SECONDS,
): number {
  const exponent = Number.isFinite(attempt) ? Math.min(Math.max(Math.floor(attempt), 1) - 1, 30) : 0;
  const base = Number.isFinite(baseSeconds) && baseSeconds >= 1 ? baseSeconds : DEFAULT_RETRY_BASE_SECONDS;
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
