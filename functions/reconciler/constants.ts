/**
 * The reconciler's own variable names and defaults, read by its config (and its limits by lib/config.ts at
 * synth). Plain data: no SDK imports, safe for the CDK app to load.
 */
import { ENV } from "../shared/contract/environment";

export const RECONCILER_ENV = {
  /** The stack's webhook URL, no query: transcripts whose webhook_url is this URL are ours. */
  webhookUrl: ENV.webhookUrl,
  /** AssemblyAI requests (list pages plus transcript reads) one run may make. */
  maxApiCalls: ENV.reconcileMaxApiCalls,
  /** With no checkpoint yet (the first run), how far back to look. */
  lookbackMinutes: ENV.reconcileLookbackMinutes,
  /** How long a transcript still queued or processing may hold the checkpoint back. */
  maxPendingMinutes: ENV.reconcileMaxPendingMinutes,
} as const;

export const DEFAULT_MAX_API_CALLS = 200;
/** One list page and one read: less could never examine anything. */
export const MIN_MAX_API_CALLS = 2;
/** Far below AssemblyAI's 20,000 requests per 5 minutes, which the worker shares. */
export const MAX_MAX_API_CALLS = 5_000;

export const DEFAULT_LOOKBACK_MINUTES = 60;
export const MAX_LOOKBACK_MINUTES = 30 * 24 * 60;

export const DEFAULT_MAX_PENDING_MINUTES = 360;
export const MAX_MAX_PENDING_MINUTES = 7 * 24 * 60;

/** Runs in a row that may fail to read one transcript (5xx, timeout, 401) before the reconciler gives it up. */
export const DEFAULT_MAX_READ_ATTEMPTS = 5;

/**
 * A `fetch_failed` record AssemblyAI refused with 401/403/404 is tried again this many times after
 * DEFAULT_FETCH_RETRY_DELAY_MINUTES, doubling (1, 2, 4, 8 hours), and once more for each new API key
 * (see retries.ts).
 */
export const DEFAULT_MAX_FETCH_RETRIES = 4;
export const DEFAULT_FETCH_RETRY_DELAY_MINUTES = 60;
/** Waiting records that failed longer ago than this are left alone: their tries are long over. */
export const DEFAULT_FETCH_RETRY_WINDOW_DAYS = 30;
/** Waiting records one run reads from the index at most (a few KB each page; they are few in practice). */
export const MAX_WAITING_FETCH_FAILURES = 10_000;
