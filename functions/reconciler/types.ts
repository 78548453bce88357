/**
 * The reconciler's contract, shared by its Lambda handler (on a schedule), the CLI's `reconcile` command and
 * the local stack's timer. AssemblyAI retries a webhook for only about 100 s; the reconciler finds completed
 * and errored transcripts whose webhook_url points at this stack but that are not stored, and queues them.
 */
import type { Transcript, TranscriptList } from "assemblyai";
import type { DeliveryMessage } from "../shared/contract/delivery";
import type { TranscriptTimes } from "../shared/contract/winner";
import type { FetchRetryPolicy } from "./retries";

export interface ReconcileOptions {
  /** Look at transcripts created at or after this instant (the checkpoint, or the CLI's --since). */
  readonly since: Date;
  /**
   * Final transcripts created at or after `since` that completed before this instant were already examined by
   * an earlier run (the checkpoint's `settled_before`): they are skipped without an API call. Leave it out to
   * examine everything since `since` (the CLI's --since, a first run).
   */
  readonly settledBefore?: Date;
  /**
   * The stack's webhook URL without a query string; a transcript is ours when its webhook_url, query left
   * out, is this URL (host case and a trailing slash aside).
   */
  readonly webhookUrl: string;
  /**
   * Most AssemblyAI API requests (list pages and transcript reads together) one run may make; list pages take
   * at most half, so a run that lists to the end always has reads left (the rest of a longer listing is the
   * next run's, see `listing`).
   */
  readonly maxApiCalls: number;
  /**
   * The run's start: the next checkpoint, request ids and the queued messages' `received_at` (when they
   * entered the pipeline). Which transcript a record keeps is decided by AssemblyAI's times, which the
   * messages carry (contract/winner.ts), never by this clock.
   */
  readonly now: Date;
  /** Called after each transcript examined, for progress bars. */
  readonly onProgress?: (report: ReconcileReport) => void;
  /**
   * The checkpoint never stays further back than this before `now` waiting for a transcript that is still
   * queued or processing (one stuck for good must not pin every later run to it).
   * @default 360 minutes
   */
  readonly maxPendingLookbackMs?: number;
  /** List page size (AssemblyAI allows up to 200). @default 200 */
  readonly pageSize?: number;
  /** Asked before each API call: true stops the run as if the budget were spent (a Lambda near its timeout). */
  readonly shouldStop?: () => boolean;
  /**
   * Transcripts earlier runs could not read (the checkpoint's `unread`): read again this run, wherever the
   * checkpoint has moved since, until read or `maxReadAttempts` runs have failed.
   */
  readonly unread?: readonly UnreadTranscript[];
  /**
   * Runs in a row that may fail to read one transcript before it is given up (reported as abandoned).
   * @default DEFAULT_MAX_READ_ATTEMPTS (constants.ts)
   */
  readonly maxReadAttempts?: number;
  /** Where an earlier run's listing left off (the checkpoint's `listing`); see ListingCursor. */
  readonly listing?: ListingCursor;
  /**
   * The fingerprint of the API key this run reads with (shared/secrets.ts, apiKeyFingerprint). Given, and
   * with `deps.waitingFetchFailures`, the run also queues again the `fetch_failed` records that wait for a
   * retry (retries.ts); the CLI, which keeps no checkpoint to count tries in, leaves it out.
   */
  readonly apiKeyFingerprint?: string;
  /** What earlier runs tried of the waiting records (the checkpoint's `fetch_retries`). */
  readonly fetchRetries?: readonly FetchRetryAttempt[];
  /** @default DEFAULT_FETCH_RETRY_POLICY (retries.ts) */
  readonly fetchRetryPolicy?: FetchRetryPolicy;
}

/** A `fetch_failed` record waiting to be queued again (the table's by-fetch-retry index). */
export interface WaitingFetchFailure {
  readonly customerId: string;
  readonly orderId: string;
  readonly transcriptId: string;
  /** When the worker's fetch failed (ISO-8601). */
  readonly failedAt: string;
  /** AssemblyAI's answer: 401, 403 or 404. */
  readonly status: number | undefined;
  /** The fingerprint of the API key the worker's fetch was refused with. */
  readonly keyFingerprint: string | undefined;
  /** The AssemblyAI region that answered the worker (absent on records from before regions were noted). */
  readonly region?: string | undefined;
  /** AssemblyAI's times, when the record keeps them. */
  readonly times?: TranscriptTimes | undefined;
}

/** The reconciler's tries of one waiting record, kept with the checkpoint. */
export interface FetchRetryAttempt {
  readonly transcriptId: string;
  readonly attempts: number;
  /** The last try (ISO-8601, the run's clock). */
  readonly lastAttemptAt: string;
  /** The fingerprint of the key the last try read with. */
  readonly keyFingerprint: string;
  /** Set once it was reported given up, so that it is reported once. */
  readonly abandoned?: boolean | undefined;
}

/**
 * Lets a window that takes more list pages than one run's budget be worked through over several runs.
 * - `resumeBefore`: an earlier run ran out of budget while listing, newest first, down to this transcript.
 *   The run lists on below it (`before_id`) down to `since` and examines what it finds; the transcripts from
 *   it upward are listed by a later run, so once everything below is examined the checkpoint moves up to its
 *   `created`, not to the run's start.
 * - `stopAt`: everything listed after this transcript (older) was examined already: the listing, newest
 *   first, stops once it has listed it instead of paging on until a transcript older than `since` shows.
 */
export interface ListingCursor {
  readonly resumeBefore?: { readonly transcriptId: string; readonly created: string } | undefined;
  readonly stopAt?: string | undefined;
}

/**
 * A finished transcript of the window whose read failed with an error a later run may not meet (429, 5xx,
 * a timeout, 401/403 before a key change): kept with the checkpoint and read again on the next runs.
 */
export interface UnreadTranscript {
  readonly transcriptId: string;
  /** The listing's status. */
  readonly status: "completed" | "error";
  /** AssemblyAI's times from the listing (normalised), for the message if it is queued later. */
  readonly created?: string | undefined;
  readonly completed?: string | undefined;
  /** Runs whose read of it failed so far. */
  readonly attempts: number;
  /** The last failure, from describeError. */
  readonly lastError: string;
}

/** What is stored for a customer/order: enough to tell whether a transcript would replace it. */
export interface StoredTranscriptRef {
  readonly transcriptId: string;
  readonly status?: string | undefined;
  /** The stored delivery's `received_at` (ISO-8601), when the item has one. */
  readonly receivedAt?: string | undefined;
  /** AssemblyAI's times for the stored transcript, when the record keeps them. */
  readonly times?: TranscriptTimes | undefined;
  /** The transcript the stored one won against only by arrival order (UNDECIDED_ATTRIBUTE), if noted. */
  readonly undecided?: string | undefined;
}

export interface ReconcileDeps {
  /** `GET /v2/transcript` with these query parameters (status, limit, before_id, after_id, created_on). */
  listTranscripts(query: Readonly<Record<string, string>>): Promise<TranscriptList>;
  /**
   * `GET /v2/transcript/{id}`: the list items carry no webhook_url (nor webhook_status_code), the transcript
   * does. A failure with a numeric `status` of 400, 404 or 410 (AssemblyAiRequestError) is taken as final for
   * that transcript: it is skipped. Any other failure (401/403, 429, 5xx, a timeout) stops the run.
   */
  getTranscript(id: string): Promise<Transcript>;
  /** The transcript stored for this customer/order, or undefined when no transcript is stored. */
  storedTranscript(customerId: string, orderId: string): Promise<StoredTranscriptRef | undefined>;
  /**
   * Whether some record already holds this transcript (the table's transcript_id index). Optional: when
   * given, stored transcripts cost no AssemblyAI call, so the budget goes to the ones that matter.
   */
  isTranscriptStored?(transcriptId: string): Promise<boolean>;
  /** Queue one message, as the receiver would (source "reconciler" or "replay"). */
  enqueue(message: DeliveryMessage): Promise<void>;
  /**
   * The `fetch_failed` records waiting for a retry that failed at or after `since`, oldest first, up to
   * `limit`; `complete` is false when there were more.
   */
  waitingFetchFailures?(
    since: Date,
    limit: number,
  ): Promise<{ readonly records: readonly WaitingFetchFailure[]; readonly complete: boolean }>;
}

/** Why a run ended before it had examined everything since `since`. */
export type ReconcileStopReason = "budget" | "time" | "failure";

/**
 * What was decided for a transcript that needed a decision: ours and queued, superseded or skipped, or
 * skipped because it could not be read. Stored and delivered ones are not listed.
 */
export interface ReconciledTranscript {
  readonly transcriptId: string;
  readonly outcome: ReconcileOutcome;
  readonly customerId?: string;
  readonly orderId?: string;
  /** For skipped and superseded: why, in words safe to log. */
  readonly reason?: string;
  /** For queued: the message's request_id. */
  readonly requestId?: string;
  /** For skipped because the read failed: "retrying" (kept for the next run) or "abandoned" (given up). */
  readonly unread?: "retrying" | "abandoned";
  /** For a `fetch_failed` record tried again: which try this was, and whether it was the last. */
  readonly fetchRetry?: { readonly attempt: number; readonly abandoned?: true };
}

export interface ReconcileReport {
  /**
   * Final (completed or error) list items in the window looked at this run; those an earlier run already
   * examined (see `settledBefore`) are not counted.
   */
  readonly examined: number;
  /** Of those, transcripts whose webhook_url points at this stack. */
  readonly matched: number;
  readonly alreadyStored: number;
  /**
   * Ours, not found stored, but AssemblyAI's webhook got a 2xx from our receiver (`webhook_status_code`): the
   * delivery was queued and ends stored or in the dead-letter queue, so it is not queued again (nor logged).
   */
  readonly delivered: number;
  /** Queued because nothing, or another transcript, was stored for their customer/order. */
  readonly queued: number;
  /**
   * Logged, not queued: ours but unusable (metadata missing or invalid in the webhook URL), or unreadable
   * for good (a malformed listed id, or AssemblyAI answered 400, 404 or 410: whose it is stays unknown).
   */
  readonly skipped: number;
  /** Of the skipped, those whose read failed this run and that the next run reads again (see `nextUnread`). */
  readonly unreadRetrying: number;
  /** Of the skipped, those whose read failed in `maxReadAttempts` runs: given up, logged, dropped from retry. */
  readonly unreadAbandoned: number;
  /** Ours, but a newer transcript (or one we cannot prove older) is stored for the customer/order: not queued. */
  readonly superseded: number;
  /** List items in the window still queued or processing: the next run looks at them again. */
  readonly pending: number;
  /** `fetch_failed` records waiting for a retry, due or not, as the run read them from the index. */
  readonly fetchRetryWaiting: number;
  /** Of those, queued again this run (also counted in `queued`). */
  readonly fetchRetried: number;
  /** Of those, given up this run after their last try (each a transcript the record may never get). */
  readonly fetchRetriesAbandoned: number;
  readonly apiCalls: number;
  /** True when the run stopped at maxApiCalls before reaching `since`; the next run continues. */
  readonly budgetExhausted: boolean;
  /**
   * Set when the listing stopped before it reached `since` (budget, time or failure): the oldest creation
   * time it got to (ISO-8601), or the run's start when it listed nothing. Nothing was examined and the
   * checkpoint stays at `since`; with stopReason "budget" the window is too big for maxApiCalls, and
   * `nextListing` says where the next run lists on from.
   */
  readonly listedBackTo?: string;
  /** Set when the run ended early; the checkpoint then covers only what was examined. */
  readonly stopReason?: ReconcileStopReason;
  /** For stopReason "failure": the error, from describeError. */
  readonly failure?: string;
  /** Where the next run should start from (ISO-8601). */
  readonly nextCheckpoint: string;
  /** The next run's `settledBefore` (ISO-8601), or undefined when it must examine everything again. */
  readonly nextSettledBefore?: string;
  /** The next run's `listing`, or undefined when it lists from the newest down to `nextCheckpoint`. */
  readonly nextListing?: ListingCursor;
  /** The next run's `unread`: this run's read failures, and earlier ones it did not get to. */
  readonly nextUnread: readonly UnreadTranscript[];
  /** The next run's `fetchRetries` (the tries of records still waiting). */
  readonly nextFetchRetries: readonly FetchRetryAttempt[];
  /** The decisions that needed one (queued, skipped, superseded), in the order made. */
  readonly transcripts: readonly ReconciledTranscript[];
}

/**
 * Metric the reconciler emits (namespace AssemblyAIWebhooks): `ReconciledDeliveries`, dimension Outcome.
 * `delivered` is deliberately not an outcome: it is in the run's summary line only.
 */
export type ReconcileOutcome = "queued" | "already_stored" | "skipped" | "superseded";
