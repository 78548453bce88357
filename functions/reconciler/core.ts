/**
 * The reconciler's orchestration: list recent transcripts, find the finished ones addressed to this stack
 * that were never stored, and queue them as the receiver would have. Pure over its dependencies (no AWS, no
 * HTTP, no clock of its own), so the Lambda handler, the CLI and the local stack's timer all run this code.
 *
 * How the window is walked, and why:
 * - One unfiltered listing, newest first (`before_id` = the oldest id of the previous page), not one pass per
 *   status: an idle run costs one list call instead of two, and the listing also shows what is still queued
 *   or processing, which is exactly how far back the next run must look (those finish later, after this
 *   run, but AssemblyAI orders the list by creation). It also gives the creation time of every transcript in
 *   the window, which decides "stored with another transcript" without extra calls.
 * - The whole window is listed first, then the candidates are examined oldest first: when the budget runs out
 *   the checkpoint can still advance up to the first transcript not examined, so a busy account makes
 *   progress run after run instead of re-reading the newest page forever.
 * - Finished transcripts an earlier run already examined are recognised by their `completed` time (before
 *   that run's `settledBefore`) and skipped without an API call.
 * - A window that takes more list pages than the budget is worked through over several runs: the run that
 *   runs out while listing saves where it got to (`nextListing.resumeBefore`), the next lists on from there
 *   and examines the older part, and the checkpoint then moves up to that point (see ListingCursor).
 *
 * What is queued, and why:
 * - Only transcripts whose webhook never got a 2xx from our receiver (`webhook_status_code` null or not 2xx):
 *   a 2xx means the receiver queued the delivery, which ends stored or in the dead-letter queue.
 * - The message carries AssemblyAI's `created`/`completed` from the listing: the worker keeps the newer
 *   transcript by those (contract/winner.ts), so a transcript recovered late never beats a newer one, and
 *   needs no lookup for it. `received_at` is the run's clock, as for every producer (contract/delivery.ts).
 * - A transcript that can never be read (a malformed id; AssemblyAI answers 400, 404 or 410) is skipped with
 *   its reason instead of failing every run at the same place. Any other read failure (429, 5xx, a timeout,
 *   401/403) skips it too, but keeps it in `nextUnread`: later runs read it again, wherever the checkpoint is
 *   by then, up to `maxReadAttempts` runs, then report it abandoned. One bad transcript never stops the run
 *   nor pins the checkpoint, so the missed deliveries after it are still recovered.
 * - `fetch_failed` records the worker marked as waiting (AssemblyAI answered 401/403/404: a new key or a
 *   later read may fix it) are read from their sparse index before the listing, and those due (retries.ts)
 *   are read and queued again after the window is examined, with calls kept back for them (a quarter of
 *   the budget at most), so a backlog in the window cannot starve them.
 */

import { DELETED_TRANSCRIPT_TEXT } from "../shared/assemblyai";
import {
  buildDeliveryMessage,
  parseMetadata,
  rawQueryOf,
  TRANSCRIPT_ID_PATTERN,
  type TranscriptDelivery,
} from "../shared/contract/delivery";
import { decide, type TranscriptTimes, timesFrom } from "../shared/contract/winner";
import { describeError } from "../shared/telemetry";
import {
  DEFAULT_MAX_PENDING_MINUTES,
  DEFAULT_MAX_READ_ATTEMPTS,
  MAX_WAITING_FETCH_FAILURES,
} from "./constants";
import { DEFAULT_FETCH_RETRY_POLICY, type RetryDecision, retryDecision } from "./retries";
import type {
  FetchRetryAttempt,
  ListingCursor,
  ReconcileDeps,
  ReconciledTranscript,
  ReconcileOptions,
  ReconcileReport,
  ReconcileStopReason,
  StoredTranscriptRef,
  UnreadTranscript,
  WaitingFetchFailure,
} from "./types";

/** AssemblyAI's largest list page. */
export const MAX_PAGE_SIZE = 200;

/**
 * How far behind the run's start the checkpoint is put: covers clock skew between AssemblyAI's timestamps
 * and ours, and a list that lags a transcript's creation or completion by a little.
 */
export const CHECKPOINT_OVERLAP_MS = 10 * 60 * 1000;

/** A transcript stuck in `queued` or `processing` longer than this no longer holds the checkpoint back. */
export const DEFAULT_MAX_PENDING_LOOKBACK_MS = DEFAULT_MAX_PENDING_MINUTES * 60 * 1000;

/**
 * Read failures that a retry will not change: the id is refused (400) or the transcript is gone (404, 410).
 * 401 and 403 are not among them: they say our API key is wrong, which a key change fixes (retried later).
 */
export const FINAL_READ_STATUSES: ReadonlySet<number> = new Set([400, 404, 410]);

/** Longest listed id put in a report line when the id itself is malformed. */
const MAX_LOGGED_ID_LENGTH = 128;

type FinalStatus = "completed" | "error";

interface Candidate {
  readonly id: string;
  readonly status: FinalStatus;
  /** AssemblyAI's `created`, in epoch ms; undefined when it could not be read. */
  readonly createdMs: number | undefined;
  /** AssemblyAI's `completed`, in epoch ms; undefined when absent (often so for errors) or unreadable. */
  readonly completedMs: number | undefined;
  /** Both, as the winner rule and the message carry them; undefined when `created` is unreadable. */
  readonly times: TranscriptTimes | undefined;
}

function isFinal(status: unknown): status is FinalStatus {
  return status === "completed" || status === "error";
}

function isPending(status: unknown): boolean {
  return status === "queued" || status === "processing";
}

/**
 * An AssemblyAI timestamp in epoch ms. The API answers ISO-8601 without a zone and with microseconds
 * ("2023-11-02T21:49:25.586965"), which is UTC; the SDK's types say Date. Both are read here.
 */
export function instant(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.getTime() : undefined;
  if (typeof value !== "string" || value.trim() === "") return undefined;
  let text = value.trim().replace(" ", "T");
  if (/T/.test(text) && !/(Z|[+-]\d{2}:?\d{2})$/i.test(text)) text = `${text}Z`;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Whether AssemblyAI's webhook delivery got a 2xx answer (from our receiver: the delivery was queued). */
export function webhookDelivered(statusCode: unknown): boolean {
  return typeof statusCode === "number" && statusCode >= 200 && statusCode < 300;
}

/** The status of a read failure that will fail again the same way (see FINAL_READ_STATUSES), else undefined. */
export function finalReadStatus(error: unknown): number | undefined {
  // By shape, not `instanceof`: any client whose error carries the HTTP status qualifies.
  const status = typeof error === "object" && error !== null && "status" in error ? error.status : undefined;
  return typeof status === "number" && FINAL_READ_STATUSES.has(status) ? status : undefined;
}

/** scheme://host[:port]/path, host lower-cased and trailing slashes dropped; undefined when not a URL. */
function endpointOf(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
}

/** The cursor without its undefined fields (it is compared and stored as is). */
function compact(listing: ListingCursor): ListingCursor {
  return {
    ...(listing.resumeBefore !== undefined ? { resumeBefore: listing.resumeBefore } : {}),
    ...(listing.stopAt !== undefined ? { stopAt: listing.stopAt } : {}),
  };
}

export class ReconcileConfigurationError extends Error {
  override readonly name = "ReconcileConfigurationError";
}

export async function reconcile(deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileReport> {
  const endpoint = endpointOf(options.webhookUrl);
  if (endpoint === undefined) throw new ReconcileConfigurationError("webhookUrl must be an absolute URL");
  const pageSize = Math.min(Math.max(1, Math.floor(options.pageSize ?? MAX_PAGE_SIZE)), MAX_PAGE_SIZE);
  const nowMs = options.now.getTime();
  const sinceMs = options.since.getTime();
  const settledBeforeMs = options.settledBefore?.getTime();
  const maxPendingLookbackMs = options.maxPendingLookbackMs ?? DEFAULT_MAX_PENDING_LOOKBACK_MS;
  const maxReadAttempts = Math.max(1, Math.floor(options.maxReadAttempts ?? DEFAULT_MAX_READ_ATTEMPTS));
  // What the next run reads again: starts as what this run was given, updated as each one is examined.
  const unread = new Map<string, UnreadTranscript>(
    (options.unread ?? []).map((entry) => [entry.transcriptId, entry]),
  );

  const counts = {
    examined: 0,
    matched: 0,
    alreadyStored: 0,
    delivered: 0,
    queued: 0,
    skipped: 0,
    superseded: 0,
    pending: 0,
    unreadRetrying: 0,
    unreadAbandoned: 0,
    fetchRetryWaiting: 0,
    fetchRetried: 0,
    fetchRetriesAbandoned: 0,
  };
  const transcripts: ReconciledTranscript[] = [];
  let apiCalls = 0;
  let stopReason: ReconcileStopReason | undefined;
  let failure: string | undefined;

  // Calls kept back from the listing and the window for fetch_failed records due for a retry (phase 3).
  let retryReserve = 0;

  /** Takes one call from the budget, or records why none is left. */
  const spend = (): boolean => {
    if (options.shouldStop?.()) stopReason = "time";
    else if (apiCalls >= options.maxApiCalls - retryReserve) stopReason = "budget";
    else apiCalls += 1;
    return stopReason === undefined;
  };

  // Phase 0: the fetch_failed records waiting for a retry, and which are due (no AssemblyAI call).
  const policy = options.fetchRetryPolicy ?? DEFAULT_FETCH_RETRY_POLICY;
  const keyFingerprint = options.apiKeyFingerprint;
  const earlierRetries = new Map((options.fetchRetries ?? []).map((entry) => [entry.transcriptId, entry]));
  const nextRetries = new Map<string, FetchRetryAttempt>();
  const dueRetries: { record: WaitingFetchFailure; decision: RetryDecision }[] = [];
  let retryFailure: string | undefined;
  let waitingListed = false;
  if (deps.waitingFetchFailures !== undefined && keyFingerprint !== undefined) {
    try {
      const waiting = await deps.waitingFetchFailures(
        new Date(nowMs - policy.windowMs),
        MAX_WAITING_FETCH_FAILURES,
      );
      waitingListed = waiting.complete;
      counts.fetchRetryWaiting = waiting.records.length;
      for (const record of waiting.records) {
        const attempt = earlierRetries.get(record.transcriptId);
        if (attempt !== undefined) nextRetries.set(record.transcriptId, attempt);
        const decision = retryDecision(record, attempt, keyFingerprint, nowMs, policy);
        if (decision.due) dueRetries.push({ record, decision });
        else if (decision.why === "exhausted" && attempt !== undefined && !attempt.abandoned) {
          nextRetries.set(record.transcriptId, { ...attempt, abandoned: true });
          counts.fetchRetriesAbandoned += 1;
          counts.skipped += 1;
          transcripts.push({
            transcriptId: record.transcriptId,
            customerId: record.customerId,
            orderId: record.orderId,
            outcome: "skipped",
            reason: `fetch_failed (HTTP ${record.status ?? "?"}) still, after ${attempt.attempts} tries: given up`,
            fetchRetry: { attempt: attempt.attempts, abandoned: true },
          });
        }
      }
    } catch (error) {
      retryFailure = `waiting fetch_failed records: ${describeError(error)}`;
    }
    retryReserve = Math.min(dueRetries.length, Math.floor(options.maxApiCalls / 4));
  }
  // Tries of records the index did not answer for this run (more than one run reads, or it failed) are kept.
  if (!waitingListed) {
    for (const [id, attempt] of earlierRetries) {
      if (!nextRetries.has(id) && Date.parse(attempt.lastAttemptAt) >= nowMs - policy.windowMs) {
        nextRetries.set(id, attempt);
      }
    }
  }

  // Phase 1: list the window, newest first. Every listed id's creation time is kept (also those below
  // `since` on the last page): it tells which of two transcripts for one order is the newer.
  const timesById = new Map<string, TranscriptTimes | undefined>();
  let oldestListedMs = Number.POSITIVE_INFINITY;
  let oldestPendingMs: number | undefined;
  const candidates: Candidate[] = [];
  const candidateIds = new Set<string>();
  let listedAll = false;
  const resumeBefore = options.listing?.resumeBefore;
  const stopAt = options.listing?.stopAt;
  // Where this run's listing got to: the oldest id of the last page listed.
  let beforeId: string | undefined = resumeBefore?.transcriptId;
  let resumeRefused = false;
  let passedStopAt = false;
  // At most half the budget goes to listing, so a run that lists to the end always has reads left to make
  // progress with; a longer listing is saved (nextListing) and continued by the next run.
  const maxListCalls = Math.max(1, Math.floor(options.maxApiCalls / 2));
  let listCalls = 0;
  try {
    for (;;) {
      if (listCalls >= maxListCalls) {
        stopReason = "budget";
        break;
      }
      if (!spend()) break;
      listCalls += 1;
      const query: Record<string, string> = { limit: String(pageSize) };
      if (beforeId !== undefined) query.before_id = beforeId;
      const page = await deps.listTranscripts(query);
      const items = Array.isArray(page?.transcripts) ? page.transcripts : [];
      let reachedSince = false;
      for (const item of items) {
        const createdMs = instant(item.created);
        timesById.set(item.id, timesFrom(item));
        if (createdMs !== undefined) oldestListedMs = Math.min(oldestListedMs, createdMs);
        // Listed after `stopAt` (older): examined by earlier runs, like those created before `since`.
        if (passedStopAt || (createdMs !== undefined && createdMs < sinceMs)) {
          reachedSince = true;
          continue;
        }
        if (item.id === stopAt) {
          passedStopAt = true;
          reachedSince = true;
        }
        if (isFinal(item.status)) {
          const completedMs = instant(item.completed);
          const settled =
            settledBeforeMs !== undefined && completedMs !== undefined && completedMs < settledBeforeMs;
          // One an earlier run could not read is examined again, settled or not.
          if ((!settled || unread.has(item.id)) && !candidateIds.has(item.id)) {
            candidateIds.add(item.id);
            candidates.push({
              id: item.id,
              status: item.status,
              createdMs,
              completedMs,
              times: timesFrom(item),
            });
          }
        } else if (isPending(item.status)) {
          counts.pending += 1;
          // Unknown creation time: hold the checkpoint where it is rather than guess.
          oldestPendingMs = Math.min(oldestPendingMs ?? Number.POSITIVE_INFINITY, createdMs ?? sinceMs);
        }
      }
      const oldest = items.at(-1);
      if (reachedSince || oldest === undefined || !page.page_details?.prev_url) {
        listedAll = true;
        break;
      }
      beforeId = oldest.id;
    }
  } catch (error) {
    stopReason = "failure";
    failure = describeError(error);
    // A cursor AssemblyAI refuses (its transcript gone, say) would fail every run: list from the newest again.
    resumeRefused = beforeId === resumeBefore?.transcriptId && finalReadStatus(error) !== undefined;
  }

  // Earlier read failures the listing did not show again (created before `since` by now): from what was kept.
  for (const entry of unread.values()) {
    if (candidateIds.has(entry.transcriptId)) continue;
    candidateIds.add(entry.transcriptId);
    const times = timesFrom(entry);
    candidates.push({
      id: entry.transcriptId,
      status: entry.status,
      createdMs: instant(entry.created),
      completedMs: instant(entry.completed),
      times,
    });
  }

  const report = (): ReconcileReport => ({
    ...counts,
    apiCalls,
    budgetExhausted: stopReason === "budget",
    nextCheckpoint: new Date(sinceMs).toISOString(),
    nextUnread: [...unread.values()],
    nextFetchRetries: [...nextRetries.values()],
    transcripts: [...transcripts],
  });

  /**
   * Why queuing `candidate` would not replace what is stored for its order, by the winner rule
   * (contract/winner.ts); undefined when it would, or when the times to tell are not at hand here (the
   * stored transcript is neither listed in this run nor keeps its times): the worker decides then, looking
   * them up. This only keeps a transcript that would lose out of the queue and the logs.
   */
  const replaces = (candidate: Candidate, stored: StoredTranscriptRef): string | undefined => {
    const verdict = decide(
      {
        transcriptId: stored.transcriptId,
        status: stored.status,
        receivedAt: stored.receivedAt,
        times: stored.times ?? timesById.get(stored.transcriptId),
      },
      {
        transcriptId: candidate.id,
        status: candidate.status,
        receivedAt: options.now.toISOString(),
        times: candidate.times,
      },
    );
    return verdict.verdict === "superseded" ? verdict.reason : undefined;
  };

  const enqueue = async (
    candidate: Candidate,
    status: FinalStatus,
    metadata: TranscriptDelivery["metadata"],
  ): Promise<string> => {
    const requestId = `reconciler-${nowMs}-${candidate.id}`;
    const times = typeof candidate.times === "object" ? candidate.times : undefined;
    await deps.enqueue(
      buildDeliveryMessage({
        source: "reconciler",
        kind: "transcript",
        transcriptId: candidate.id,
        status,
        metadata,
        receivedAt: options.now,
        sourceIp: "",
        requestId,
        payload: { transcript_id: candidate.id, status },
        created: times?.created,
        completed: times?.completed,
      }),
    );
    return requestId;
  };

  const skip = (
    ids: Pick<ReconciledTranscript, "transcriptId" | "customerId" | "orderId" | "unread">,
    reason: string,
  ) => {
    counts.skipped += 1;
    transcripts.push({ ...ids, outcome: "skipped", reason });
    return true;
  };

  /** A read that failed in a way a later run may not: kept to retry, or given up after maxReadAttempts. */
  const unreadable = (candidate: Candidate, error: unknown): boolean => {
    const attempts = (unread.get(candidate.id)?.attempts ?? 0) + 1;
    const lastError = describeError(error);
    if (attempts >= maxReadAttempts) {
      unread.delete(candidate.id);
      counts.unreadAbandoned += 1;
      return skip(
        { transcriptId: candidate.id, unread: "abandoned" },
        `not read in ${attempts} runs, given up: ${lastError}`,
      );
    }
    const times = typeof candidate.times === "object" ? candidate.times : undefined;
    unread.set(candidate.id, {
      transcriptId: candidate.id,
      status: candidate.status,
      created: times?.created,
      completed: times?.completed,
      attempts,
      lastError,
    });
    counts.unreadRetrying += 1;
    return skip(
      { transcriptId: candidate.id, unread: "retrying" },
      `not read (attempt ${attempts} of ${maxReadAttempts}, retried next run): ${lastError}`,
    );
  };

  /** Decides one candidate; false when the run had to stop before looking at it. */
  const examine = async (candidate: Candidate): Promise<boolean> => {
    const { id } = candidate;
    if (options.shouldStop?.()) {
      stopReason = "time";
      return false;
    }
    // Never read: it would be refused (or worse, become part of a path) every run, pinning the checkpoint.
    if (!TRANSCRIPT_ID_PATTERN.test(id)) {
      counts.examined += 1;
      const shown = id.length > MAX_LOGGED_ID_LENGTH ? `${id.slice(0, MAX_LOGGED_ID_LENGTH)}…` : id;
      return skip({ transcriptId: shown }, "the listed transcript id is malformed");
    }
    if (deps.isTranscriptStored && (await deps.isTranscriptStored(id))) {
      unread.delete(id);
      counts.examined += 1;
      counts.matched += 1;
      counts.alreadyStored += 1;
      return true;
    }
    if (!spend()) return false;
    let transcript: Awaited<ReturnType<ReconcileDeps["getTranscript"]>>;
    try {
      transcript = await deps.getTranscript(id);
    } catch (error) {
      counts.examined += 1;
      const status = finalReadStatus(error);
      if (status === undefined) return unreadable(candidate, error);
      unread.delete(id);
      const detail = error instanceof Error ? error.message : String(error);
      return skip({ transcriptId: id }, `cannot be read (final ${status}): ${detail}`);
    }
    unread.delete(id);
    counts.examined += 1;
    const webhookUrl = typeof transcript.webhook_url === "string" ? transcript.webhook_url : "";
    if (endpointOf(webhookUrl) !== endpoint) return true;
    counts.matched += 1;
    const delivered = webhookDelivered(transcript.webhook_status_code);
    const metadata = parseMetadata(rawQueryOf(webhookUrl));
    if (!metadata.ok) {
      if (delivered) counts.delivered += 1;
      return delivered ? true : skip({ transcriptId: id }, metadata.problem.message);
    }
    const { customer_id: customerId, order_id: orderId } = metadata.value;
    const ids = { transcriptId: id, customerId, orderId };
    const stored = await deps.storedTranscript(customerId, orderId);
    // A delivered webhook is queued or stored already, unless its transcript lost to the stored one only by
    // arrival order (AssemblyAI's list could not order them then) and the times of both are known now: then
    // `replaces` below decides by them, and a newer one is queued again with its times.
    const revisit =
      delivered &&
      stored !== undefined &&
      stored.undecided === id &&
      typeof candidate.times === "object" &&
      typeof (stored.times ?? timesById.get(stored.transcriptId)) === "object";
    if (delivered && !revisit) {
      counts.delivered += 1;
      return true;
    }
    if (stored?.transcriptId === id) {
      counts.alreadyStored += 1;
      return true;
    }
    if (stored !== undefined) {
      const reason = replaces(candidate, stored);
      if (reason !== undefined) {
        counts.superseded += 1;
        transcripts.push({ ...ids, outcome: "superseded", reason });
        return true;
      }
    }
    // The transcript's own status is fresher than the list's; the list's stands in if it is not final.
    const status = isFinal(transcript.status) ? transcript.status : candidate.status;
    const requestId = await enqueue(candidate, status, metadata.value);
    counts.queued += 1;
    transcripts.push({
      ...ids,
      outcome: "queued",
      requestId,
      ...(revisit
        ? { reason: `won against ${stored?.transcriptId} only by arrival order: decided again` }
        : {}),
    });
    return true;
  };

  // Phase 2: examine oldest first, so that a run cut short still moves the checkpoint forward.
  let firstUnexamined: Candidate | undefined;
  if (stopReason === undefined) {
    const ordered = [...candidates].sort((a, b) => (a.createdMs ?? sinceMs) - (b.createdMs ?? sinceMs));
    for (const candidate of ordered) {
      let done: boolean;
      try {
        done = await examine(candidate);
      } catch (error) {
        stopReason = "failure";
        failure = `transcript ${candidate.id}: ${describeError(error)}`;
        done = false;
      }
      if (!done) {
        firstUnexamined = candidate;
        break;
      }
      options.onProgress?.(report());
    }
  }

  // The next checkpoint: never past a transcript not examined; with everything examined, the run's start
  // (less the overlap); held back to the oldest transcript still processing, within maxPendingLookbackMs.
  let nextMs: number;
  let nextSettledMs: number | undefined = settledBeforeMs;
  let nextListing: ListingCursor | undefined;
  if (!listedAll) {
    nextMs = sinceMs;
    const oldest = Number.isFinite(oldestListedMs) ? new Date(oldestListedMs).toISOString() : undefined;
    const resume =
      beforeId === undefined || resumeRefused
        ? undefined
        : beforeId === resumeBefore?.transcriptId
          ? resumeBefore
          : { transcriptId: beforeId, created: oldest ?? new Date(sinceMs).toISOString() };
    nextListing = { resumeBefore: resume, stopAt };
  } else if (firstUnexamined !== undefined) {
    nextMs = firstUnexamined.createdMs ?? sinceMs;
    nextListing = options.listing;
  } else if (resumeBefore !== undefined) {
    // Everything below the cursor is examined; from it upward is the next run's, which stops at it.
    nextMs = instant(resumeBefore.created) ?? sinceMs;
    nextListing = { stopAt: resumeBefore.transcriptId };
  } else {
    nextMs = nowMs - CHECKPOINT_OVERLAP_MS;
    nextSettledMs = nowMs - CHECKPOINT_OVERLAP_MS;
  }
  if (oldestPendingMs !== undefined) {
    const heldMs = Math.max(oldestPendingMs, nowMs - maxPendingLookbackMs);
    // Held below where the listing may stop: the next run must list down to the pending one.
    if (heldMs < nextMs && listedAll) nextListing = undefined;
    nextMs = Math.min(nextMs, heldMs);
  }
  nextMs = Math.max(nextMs, sinceMs);
  if (nextListing?.resumeBefore === undefined && nextListing?.stopAt === undefined) nextListing = undefined;

  // Phase 3: queue again the fetch_failed records that are due, oldest failure first, with what is left of
  // the budget (at least retryReserve calls). Each is read first: a key that still fails, or a transcript
  // still missing, costs one call and a try, not a trip through the queue and the worker.
  for (const { record, decision } of dueRetries) {
    if (retryFailure !== undefined || options.shouldStop?.() || apiCalls >= options.maxApiCalls) break;
    apiCalls += 1;
    const previous = nextRetries.get(record.transcriptId) ?? earlierRetries.get(record.transcriptId);
    const attempt = (previous?.attempts ?? 0) + 1;
    const ids = { transcriptId: record.transcriptId, customerId: record.customerId, orderId: record.orderId };
    const tried = (abandoned = false) =>
      nextRetries.set(record.transcriptId, {
        transcriptId: record.transcriptId,
        attempts: abandoned ? Math.max(attempt, policy.maxAttempts) : attempt,
        lastAttemptAt: options.now.toISOString(),
        keyFingerprint: keyFingerprint as string,
        ...(abandoned ? { abandoned } : {}),
      });
    const why = decision.why === "key_changed" ? "the API key changed" : "its retry delay passed";
    /** A try that a later one may turn out differently. */
    const notYet = (detail: string) => {
      tried();
      counts.skipped += 1;
      transcripts.push({
        ...ids,
        outcome: "skipped",
        reason: `fetch_failed retry ${attempt} of ${policy.maxAttempts} (${why}): ${detail}`,
        fetchRetry: { attempt },
      });
    };
    let transcript: Awaited<ReturnType<ReconcileDeps["getTranscript"]>>;
    try {
      transcript = await deps.getTranscript(record.transcriptId);
    } catch (error) {
      notYet(`not read: ${describeError(error)}`);
      continue;
    }
    const status = transcript.status;
    if (!isFinal(status)) {
      notYet(`AssemblyAI answers status ${JSON.stringify(status)}`);
      continue;
    }
    const webhookUrl = typeof transcript.webhook_url === "string" ? transcript.webhook_url : "";
    const metadata = endpointOf(webhookUrl) === endpoint ? parseMetadata(rawQueryOf(webhookUrl)) : undefined;
    const ours =
      metadata?.ok === true &&
      metadata.value.customer_id === record.customerId &&
      metadata.value.order_id === record.orderId;
    if (transcript.text === DELETED_TRANSCRIPT_TEXT || !ours || metadata?.ok !== true) {
      // Nothing a later try would change: given up now.
      tried(true);
      counts.skipped += 1;
      counts.fetchRetriesAbandoned += 1;
      transcripts.push({
        ...ids,
        outcome: "skipped",
        reason: `fetch_failed retry given up: ${
          transcript.text === DELETED_TRANSCRIPT_TEXT
            ? "the transcript was deleted at AssemblyAI"
            : "its webhook_url does not name this record"
        }`,
        fetchRetry: { attempt, abandoned: true },
      });
      continue;
    }
    const candidate: Candidate = {
      id: record.transcriptId,
      status,
      createdMs: undefined,
      completedMs: undefined,
      times: typeof record.times === "object" ? record.times : undefined,
    };
    let requestId: string;
    try {
      requestId = await enqueue(candidate, status, metadata.value);
    } catch (error) {
      // Ours, not the transcript's: no try is counted, and the next run queues it.
      retryFailure = `fetch_failed retry of transcript ${record.transcriptId}: ${describeError(error)}`;
      break;
    }
    tried();
    counts.queued += 1;
    counts.fetchRetried += 1;
    transcripts.push({
      ...ids,
      outcome: "queued",
      requestId,
      reason: `fetch_failed retry (${why})`,
      fetchRetry: { attempt },
    });
  }
  if (retryFailure !== undefined && stopReason === undefined) {
    stopReason = "failure";
    failure = retryFailure;
  }

  const final: ReconcileReport = {
    ...report(),
    ...(!listedAll
      ? { listedBackTo: new Date(Number.isFinite(oldestListedMs) ? oldestListedMs : nowMs).toISOString() }
      : {}),
    nextCheckpoint: new Date(nextMs).toISOString(),
    ...(nextListing !== undefined ? { nextListing: compact(nextListing) } : {}),
    ...(nextSettledMs !== undefined ? { nextSettledBefore: new Date(nextSettledMs).toISOString() } : {}),
    ...(stopReason !== undefined ? { stopReason } : {}),
    ...(failure !== undefined ? { failure } : {}),
  };
  return final;
}
