/**
 * The worker's flow for one SQS batch: each record is parsed, routed by kind, fetched, stored and reported
 * on its own; transient failures are put back on the queue with a backoff, everything else succeeds.
 */
import { setTimeout as sleepFor } from "node:timers/promises";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { ChangeMessageVisibilityCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { AssemblyAiRegion } from "../shared/assemblyai";
import {
  AssemblyAiClient,
  type DownloadResult,
  describeFailure,
  type FetchResult,
} from "../shared/assemblyai-client";
import { mapWithConcurrency } from "../shared/concurrency";
import {
  type DeliveryMessage,
  type QuarantineDelivery,
  type RedactedAudioDelivery,
  readClaimCheck,
  type StreamingSessionDelivery,
  type TranscriptDelivery,
  type UnknownDelivery,
} from "../shared/contract/delivery";
import type { RoutableDelivery } from "../shared/contract/delivery-schema";
import { parseDeliveryMessage } from "../shared/contract/delivery-schema";
import { API_KEY_PLACEHOLDER_PREFIX } from "../shared/contract/environment";
import { INBOX_PREFIX, MAX_RECEIVE_COUNT, WORKER_TIMEOUT_SECONDS } from "../shared/contract/resources";
import {
  malformedArchiveKey,
  quarantineKey,
  redactedAudioKey,
  transcriptJsonKey,
  transcriptTextKey,
  unknownArchiveKey,
} from "../shared/contract/s3-keys";
import {
  decide,
  type IncomingTranscript,
  type RecordStatus,
  type TranscriptTimes,
  timesFrom,
  type Verdict,
} from "../shared/contract/winner";
import { redactedAudioUrlProblem } from "../shared/redacted-audio-hosts";
import { CachedValue } from "../shared/secret-cache";
import { apiKeyFingerprint, readApiKey } from "../shared/secrets";
import { describeError, emit, type LogEvent } from "../shared/telemetry";
import { classifyDownloadStatus, classifyFetch } from "./answers";
import { backoffSeconds, parseRetryAfter, receiveCount } from "./backoff";
import * as clients from "./clients";
import type { WorkerConfig } from "./config";
import { type CommittedTranscript, createDeletes } from "./deletes";
import { deleteWaitsForRedactedAudio, expiresAt, withExpiry, withoutDeleteState } from "./lifecycle";
import { readStoredTranscript, redactedAudioTranscriptId, type StoredTranscript } from "./records";
import { chooseRegions, type RegionChoice, triesNextRegion } from "./regions";
import {
  API_KEY_NOT_SET_REASON,
  DELETED_TRANSCRIPT_ERROR,
  type Outcome,
  type RecordReport,
  recordEvent,
} from "./report";
import { assembleSession } from "./sessions";
import { Store } from "./store";
import {
  buildFetchFailedUpdate,
  buildRedactedAudioErrorUpdate,
  buildRedactedAudioUpdate,
  buildSessionUpdate,
  buildTimesUpdate,
  buildTranscriptUpdate,
  buildUndecidedUpdate,
  type FetchRetry,
  type ItemUpdate,
  itemKey,
  placeText,
  type RecordSource,
  sessionRecordSource,
} from "./updates";
import { buildUsageUpdate, type CountedWrite, type UsageUpdate, usageIncrement } from "./usage";

const gzipAsync = promisify(gzip);

/** Lost races a write re-decides before it backs off like any transient failure. */
const WRITE_ATTEMPTS = 3;

/** AssemblyAI times a worker instance remembers (a few KB). */
const TIMES_CACHE_SIZE = 1_000;

/** Records processed at once: enough to overlap network waits, few enough for large transcripts in 512 MB. */
export const RECORD_CONCURRENCY = 4;

/** A redacted-audio download may stream for most of the function's time, leaving room to record it. */
const DOWNLOAD_TIMEOUT_MS = (WORKER_TIMEOUT_SECONDS - 10) * 1000;

/** One configured AssemblyAI region: its API and its API key, cached (a 401/403 there drops only that key). */
export interface RegionDependencies {
  readonly region: AssemblyAiRegion;
  readonly assemblyAi: AssemblyAiClient;
  readonly apiKey: CachedValue<string>;
}

export interface WorkerDependencies {
  readonly store: Store;
  /** The configured regions, the default first. */
  readonly regions: readonly [RegionDependencies, ...RegionDependencies[]];
  readonly sqs: SQSClient;
  readonly now: () => number;
  readonly random: () => number;
  readonly emit: (event: LogEvent) => void;
  /** Waits between tries of an AssemblyAI delete; rejects when the signal aborts. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** What tells where a delivery's transcript is: the webhook URL's parameters and the source address. */
type DeliveryOrigin = Pick<TranscriptDelivery, "metadata"> & { readonly source_ip?: string };

/** What the worker reads of Lambda's context: how long the invocation has left. */
export interface InvocationClock {
  getRemainingTimeInMillis(): number;
}

export interface Worker {
  handleBatch(event: SQSEvent, context?: InvocationClock): Promise<SQSBatchResponse>;
}

/**
 * Time kept back from the function's deadline for what must happen after a record's work stops: the
 * ChangeMessageVisibility of a record that failed, its log line, the batch response.
 */
export const DEADLINE_RESERVE_MS = 5_000;

export const OUT_OF_TIME = "the invocation's time ran out before this record was done";

/** Every record's work in one invocation stops (its requests are aborted) DEADLINE_RESERVE_MS before Lambda's deadline. */
interface RecordBudget {
  readonly signal: AbortSignal;
  remainingMs(): number;
  dispose(): void;
}

function recordBudget(context: InvocationClock | undefined, now: () => number): RecordBudget {
  const availableMs =
    (context?.getRemainingTimeInMillis() ?? WORKER_TIMEOUT_SECONDS * 1000) - DEADLINE_RESERVE_MS;
  const stopAt = now() + availableMs;
  const controller = new AbortController();
  const stop = () => controller.abort(new DOMException(OUT_OF_TIME, "TimeoutError"));
  const timer = availableMs > 0 ? setTimeout(stop, availableMs) : undefined;
  if (timer === undefined) stop();
  return {
    signal: controller.signal,
    remainingMs: () => Math.max(0, stopAt - now()),
    dispose: () => clearTimeout(timer),
  };
}

/** A failure worth retrying; anything else thrown while processing a record is treated the same way. */
class TransientFailure extends Error {
  override readonly name = "TransientFailure";
}

/**
 * The order was erased (its item is a tombstone, contract/resources.ts ERASED_ATTRIBUTE): whatever the
 * delivery is (a late retry, a redrive, a reconciler copy, a replay), nothing is stored or archived for it.
 */
class OrderErased extends Error {
  override readonly name = "OrderErased";
  constructor(erasedAt: string) {
    super(`the order was erased at ${erasedAt}; the delivery is dropped, not stored`);
  }
}

/** What processing one record came to; `retryAfterSeconds` only for transient failures that carry one. */
interface RecordResult {
  readonly outcome: Outcome;
  readonly reason?: string;
  readonly retryAfterSeconds?: number;
  readonly transcriptId?: string;
  readonly storedAt?: string;
  readonly s3Key?: string;
  /** With several regions: where the transcript was fetched from, and every region asked, in order. */
  readonly assemblyAiRegion?: AssemblyAiRegion;
  readonly regionsTried?: readonly string[];
  /** What a stored transcript's write committed: what its delete at AssemblyAI needs (deleteFromAssemblyAi). */
  readonly committed?: CommittedTranscript;
  /** With deleteFromAssemblyAi: what became of the transcript at AssemblyAI, and why when it failed. */
  readonly assemblyAiDelete?: string;
  readonly assemblyAiDeleteError?: string;
}

export function defaultDependencies(config: WorkerConfig, now: () => number = Date.now): WorkerDependencies {
  return {
    store: new Store({
      dynamodb: clients.dynamodb,
      s3: clients.s3,
      tableName: config.tableName,
      bucketName: config.bucketName,
      usageTableName: config.usageTableName,
    }),
    regions: config.assemblyAiRegions.map((access) => ({
      region: access.region,
      assemblyAi: new AssemblyAiClient({ baseUrl: access.baseUrl, timeoutMs: config.assemblyAiTimeoutMs }),
      apiKey: new CachedValue(
        async () => {
          const value = await readApiKey(clients.secretsManager, access.apiKeySecretArn);
          if (!value?.trim()) {
            const which = config.assemblyAiRegions.length > 1 ? ` (${access.region})` : "";
            throw new TransientFailure(`the AssemblyAI API key secret${which} has no string value`);
          }
          return value.trim();
        },
        config.secretCacheTtlSeconds * 1000,
        now,
      ),
    })) as [RegionDependencies, ...RegionDependencies[]],
    sqs: clients.sqs,
    now,
    random: Math.random,
    emit,
    sleep: (ms, signal) => sleepFor(ms, undefined, { signal }),
  };
}

export function createWorker(config: WorkerConfig, overrides: Partial<WorkerDependencies> = {}): Worker {
  const deps: WorkerDependencies = { ...defaultDependencies(config, overrides.now), ...overrides };
  const { store } = deps;
  const isoNow = () => new Date(deps.now()).toISOString();

  /** The record as stored; an erased order's tombstone stops the delivery here (OrderErased). */
  async function readLive(
    metadata: DeliveryOrigin["metadata"],
    signal: AbortSignal,
  ): Promise<StoredTranscript> {
    const stored = readStoredTranscript(await store.readItem(itemKey(metadata), signal));
    if (stored.erasedAt !== undefined) throw new OrderErased(stored.erasedAt);
    return stored;
  }
  const regionsByName = new Map(deps.regions.map((region) => [region.region, region]));
  const configuredRegions = deps.regions.map((region) => region.region) as [
    AssemblyAiRegion,
    ...AssemblyAiRegion[],
  ];
  /** Every record write carries its expiry when records have a retention (lifecycle.ts, withExpiry). */
  const updateItem = (update: ItemUpdate, signal: AbortSignal, usage?: UsageUpdate) =>
    store.update(
      config.retentionDays === undefined
        ? update
        : withExpiry(update, expiresAt(deps.now(), config.retentionDays)),
      signal,
      usage,
    );
  /** Deleting stored transcripts at AssemblyAI (deleteFromAssemblyAi): deletes.ts. */
  const deletes = createDeletes({
    config,
    store,
    sqs: deps.sqs,
    now: deps.now,
    emit: (event) => deps.emit(event),
    sleep: deps.sleep,
    updateItem,
    apiKey: (region) => apiKey(region),
    dropKeyOnAuthFailure: (region, result) => dropKeyOnAuthFailure(region, result),
    regionsFor: (origin) => regionsFor(origin),
    regionByName: (name) => regionsByName.get(name as AssemblyAiRegion),
  });
  /** Downloads need no key and no region: a presigned URL is fetched with any client. */
  const downloads = deps.regions[0].assemblyAi;

  /** Where to look for a delivery's transcript first, and after a 404 (./regions.ts). */
  function regionsFor(delivery: DeliveryOrigin): RegionDependencies[] {
    const choice: RegionChoice = chooseRegions(configuredRegions, {
      params: delivery.metadata.params,
      sourceIp: delivery.source_ip,
    });
    return choice.order.map((name) => regionsByName.get(name) as RegionDependencies);
  }

  async function apiKey(region: RegionDependencies): Promise<string> {
    let value: string;
    try {
      value = await region.apiKey.get();
    } catch (error) {
      throw new TransientFailure(`could not read the AssemblyAI API key: ${describeError(error)}`);
    }
    if (value.startsWith(API_KEY_PLACEHOLDER_PREFIX)) {
      // Our own missing configuration: retry until an operator sets the key, and pick it up promptly then.
      region.apiKey.invalidate();
      throw new TransientFailure(
        deps.regions.length > 1 ? `${API_KEY_NOT_SET_REASON} (${region.region})` : API_KEY_NOT_SET_REASON,
      );
    }
    return value;
  }

  /** A 401/403 says the region's key is wrong or was rotated since it was cached: read it again next time. */
  function dropKeyOnAuthFailure(region: RegionDependencies, result: { type: string; status?: number }): void {
    if (result.type === "http_error" && (result.status === 401 || result.status === 403)) {
      region.apiKey.invalidate();
    }
  }

  /** AssemblyAI's times, looked up once per transcript per container (bounded). */
  const timesCache = new Map<string, TranscriptTimes>();
  async function timesOf(
    transcriptId: string,
    regions: readonly RegionDependencies[],
    signal: AbortSignal,
  ): Promise<TranscriptTimes> {
    const cached = timesCache.get(transcriptId);
    if (cached !== undefined) return cached;
    let times: TranscriptTimes | undefined;
    // In the delivery's region first; a list that does not know the id (a 4xx for its cursor, or no times
    // for it) is asked in the next region, and the first region's answer stands when none knows more.
    for (const [index, region] of regions.entries()) {
      const result = await region.assemblyAi.transcriptTimes(transcriptId, await apiKey(region), signal);
      dropKeyOnAuthFailure(region, result);
      const last = index === regions.length - 1;
      if (result.type === "times") {
        times ??= result.times;
        if (typeof result.times === "object") {
          times = result.times;
          break;
        }
        continue;
      }
      const unknownHere = result.type === "http_error" && (result.status === 400 || result.status === 404);
      if (unknownHere && !last) continue;
      if (unknownHere && times !== undefined) break;
      throw new TransientFailure(describeFailure("AssemblyAI's transcript list", result));
    }
    // "oldest" says nothing is listed before it in its own region's list; against a transcript of another
    // region it says nothing, so with several regions arrival order decides instead (winner.ts, "unknown").
    const resolved = times === undefined || (times === "oldest" && regions.length > 1) ? "unknown" : times;
    if (timesCache.size >= TIMES_CACHE_SIZE) timesCache.delete(timesCache.keys().next().value as string);
    timesCache.set(transcriptId, resolved);
    return resolved;
  }

  /**
   * GET the transcript from the delivery's region; a 404 there is asked of the next configured region (the
   * id does not say where it was submitted), and only the last region's 404 is final.
   */
  async function fetchTranscript(
    transcriptId: string,
    regions: readonly RegionDependencies[],
    signal: AbortSignal,
  ): Promise<{
    readonly result: FetchResult;
    readonly region: AssemblyAiRegion;
    readonly tried: string[];
    /** The fingerprint of the key the last answer was given to (never the key: see apiKeyFingerprint). */
    readonly keyFingerprint: string;
  }> {
    const tried: string[] = [];
    for (const [index, region] of regions.entries()) {
      const key = await apiKey(region);
      const result = await region.assemblyAi.getTranscript(transcriptId, key, signal);
      dropKeyOnAuthFailure(region, result);
      tried.push(region.region);
      if (index < regions.length - 1 && triesNextRegion(result)) continue;
      return { result, region: region.region, tried, keyFingerprint: apiKeyFingerprint(key) };
    }
    throw new Error("no AssemblyAI region is configured");
  }

  /**
   * The winner rule's verdict (contract/winner.ts), with the AssemblyAI times it needs looked up. Times
   * looked up for the stored transcript are kept on its record when it wins, so they are never looked up
   * again for it.
   */
  async function judge(
    delivery: DeliveryOrigin,
    stored: StoredTranscript,
    incoming: IncomingTranscript,
    signal: AbortSignal,
  ): Promise<{
    readonly verdict: Verdict;
    readonly stored: StoredTranscript;
    readonly incoming: IncomingTranscript;
  }> {
    const first = decide(stored, incoming);
    if (first.verdict !== "need_times") {
      await noteUndecided(delivery, stored, incoming, first, signal);
      return { verdict: first, stored, incoming };
    }
    const heldId = stored.transcriptId as string;
    const regions = regionsFor(delivery);
    const [heldTimes, incomingTimes] = await Promise.all([
      first.held ? timesOf(heldId, regions, signal) : stored.times,
      first.incoming ? timesOf(incoming.transcriptId, regions, signal) : incoming.times,
    ]);
    const resolved = {
      stored: { ...stored, times: heldTimes },
      incoming: { ...incoming, times: incomingTimes },
    };
    const verdict = decide(resolved.stored, resolved.incoming);
    const keep = first.held && verdict.verdict === "superseded" && heldTimes !== undefined;
    const update = keep ? buildTimesUpdate(delivery.metadata, heldId, heldTimes) : undefined;
    // Best effort: without it the times are looked up again next time, nothing worse.
    if (update !== undefined) await updateItem(update, signal).catch(() => undefined);
    await noteUndecided(delivery, resolved.stored, resolved.incoming, verdict, signal);
    return { verdict, ...resolved };
  }

  /**
   * When the stored transcript wins only because it arrived later (AssemblyAI's list could not order the
   * two), notes the other on the record (UNDECIDED_ATTRIBUTE), for the reconciler to have it decided again.
   * Best effort: without it, the decision stands as it did before the note existed.
   */
  async function noteUndecided(
    delivery: Pick<TranscriptDelivery, "metadata">,
    stored: StoredTranscript,
    incoming: IncomingTranscript,
    verdict: Verdict,
    signal: AbortSignal,
  ): Promise<void> {
    if (verdict.verdict !== "superseded" || verdict.byArrival !== true) return;
    if (stored.transcriptId === undefined || stored.undecided === incoming.transcriptId) return;
    const update = buildUndecidedUpdate(delivery.metadata, stored.transcriptId, incoming.transcriptId);
    await updateItem(update, signal).catch(() => undefined);
  }

  /**
   * Writes what `decide` allows: decided on the item as read, guarded by "the item still holds what was
   * read", and on a lost race read again and decided again (a few times, then retried with backoff).
   */
  async function writeDecided(
    delivery: RecordSource,
    status: RecordStatus,
    initial: StoredTranscript,
    times: TranscriptTimes | undefined,
    build: (stored: StoredTranscript, times: TranscriptTimes | undefined, verdict: Verdict) => ItemUpdate,
    signal: AbortSignal,
    /** With deleteFromAssemblyAi: the transcript's delete waits for its redacted audio (lifecycle.ts). */
    deleteWaitsForAudio = false,
    counted?: CountedWrite,
  ): Promise<{ readonly written: true } | { readonly written: false; readonly verdict: Verdict }> {
    // Moves with the record's write, in one transaction (functions/worker/usage.ts says what counts).
    const increment = counted === undefined ? undefined : usageIncrement(counted);
    const usage = increment === undefined ? undefined : buildUsageUpdate(increment, isoNow());
    let stored = initial;
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt += 1) {
      const incoming = {
        transcriptId: delivery.transcript_id,
        status,
        receivedAt: delivery.received_at,
        times,
      };
      const judged = await judge(delivery, stored, incoming, signal);
      if (judged.verdict.verdict !== "write") return { written: false, verdict: judged.verdict };
      const built = build(judged.stored, judged.incoming.times, judged.verdict);
      // The replaced transcript's deletion state goes with it (lifecycle.ts).
      const update = config.deleteFromAssemblyAi ? withoutDeleteState(built, deleteWaitsForAudio) : built;
      if ((await updateItem(update, signal, usage)) === "written") {
        return { written: true };
      }
      stored = await readLive(delivery.metadata, signal);
      times = judged.incoming.times;
    }
    throw new TransientFailure("the item kept changing while it was being written");
  }

  function notWritten(verdict: Verdict): RecordResult {
    return verdict.verdict === "superseded"
      ? { outcome: "superseded", reason: verdict.reason }
      : { outcome: "duplicate" };
  }

  async function recordFetchFailed(
    delivery: TranscriptDelivery,
    stored: StoredTranscript,
    error: string,
    deleted: boolean,
    signal: AbortSignal,
    retry?: FetchRetry,
  ): Promise<RecordResult> {
    const storedAt = isoNow();
    const result = await writeDecided(
      delivery,
      "fetch_failed",
      stored,
      timesFrom(delivery),
      (held, times) => buildFetchFailedUpdate({ delivery, storedAt, stored: held, times, error, retry }),
      signal,
    );
    if (result.written) return { outcome: "final_failure", reason: error, storedAt };
    if (result.verdict.verdict === "duplicate") return { outcome: "duplicate", reason: error };
    // A failure never replaces a stored result: the deletion is skipped, a failure of the transcript that
    // is stored changes nothing, any other failure is still one (of a transcript the record does not keep).
    const kept = result.verdict.verdict === "superseded" ? result.verdict.reason : "";
    if (deleted) return { outcome: "deleted_skipped", reason: `${error}; ${kept}` };
    if (stored.transcriptId === delivery.transcript_id)
      return { outcome: "superseded", reason: `${error}; ${kept}` };
    return { outcome: "final_failure", reason: `${error}; not recorded: ${kept}` };
  }

  async function processTranscript(delivery: TranscriptDelivery, signal: AbortSignal): Promise<RecordResult> {
    let where: Pick<RecordResult, "assemblyAiRegion" | "regionsTried"> = {};
    const result = await fetchAndStore(delivery, signal, (fetched) => {
      // Only a stack with several regions says where: a single-region stack's lines stay as they were.
      if (deps.regions.length > 1) where = { assemblyAiRegion: fetched.region, regionsTried: fetched.tried };
    });
    const { committed, ...reported } = result;
    if (config.deleteFromAssemblyAi && result.outcome === "duplicate") {
      return { ...reported, ...where, ...(await deletes.resumeDelete(delivery, signal)) };
    }
    if (committed === undefined || !config.deleteFromAssemblyAi) return { ...reported, ...where };
    const deletion = await deletes.deleteAfterCommit(delivery, delivery.transcript_id, committed, signal);
    return { ...reported, ...where, ...deletion };
  }

  async function fetchAndStore(
    delivery: TranscriptDelivery,
    signal: AbortSignal,
    onFetched: (fetched: { readonly region: AssemblyAiRegion; readonly tried: string[] }) => void,
  ): Promise<RecordResult> {
    const { customer_id: customerId, order_id: orderId } = delivery.metadata;
    const transcriptId = delivery.transcript_id;
    const read = await readLive(delivery.metadata, signal);
    // Before fetching: skip what the stored item already makes pointless.
    const before = await judge(
      delivery,
      read,
      {
        transcriptId,
        status: delivery.status,
        receivedAt: delivery.received_at,
        times: timesFrom(delivery),
      },
      signal,
    );
    if (before.verdict.verdict !== "write") return notWritten(before.verdict);
    const { stored } = before;
    const times = before.incoming.times;

    const fetched = await fetchTranscript(transcriptId, regionsFor(delivery), signal);
    onFetched(fetched);
    const { result } = fetched;
    const classified = classifyFetch(result, transcriptId, deps.now());
    // Where it was looked for, when more than one region was asked: a final 404 says it was asked in each.
    const decision =
      fetched.tried.length > 1 && classified.action === "final"
        ? { ...classified, reason: `${classified.reason} (in ${fetched.tried.join(" and ")})` }
        : classified;
    switch (decision.action) {
      case "transient":
        return decision.retryAfterSeconds === undefined
          ? { outcome: "transient_failure", reason: decision.reason }
          : {
              outcome: "transient_failure",
              reason: decision.reason,
              retryAfterSeconds: decision.retryAfterSeconds,
            };
      case "final": {
        // A 401/403/404 may be fixed by a new key or a later read: the record says so (see updates.ts).
        const retry =
          decision.status === undefined
            ? undefined
            : { status: decision.status, keyFingerprint: fetched.keyFingerprint, region: fetched.region };
        return recordFetchFailed(delivery, stored, decision.reason, false, signal, retry);
      }
      case "deleted":
        return recordFetchFailed(delivery, stored, DELETED_TRANSCRIPT_ERROR, true, signal);
      case "store":
        break;
    }
    if (result.type !== "transcript") throw new Error("a stored transcript needs a transcript response");

    // S3 first, then the item: an item never points at an object that is not there.
    const transcriptS3Key = transcriptJsonKey(customerId, orderId, transcriptId);
    await store.putObject(
      {
        key: transcriptS3Key,
        body: await gzipAsync(result.body),
        contentType: "application/json",
        contentEncoding: "gzip",
      },
      signal,
    );
    const text = placeText(
      decision.transcript.text,
      config.inlineTextMaxBytes,
      transcriptTextKey(customerId, orderId, transcriptId),
    );
    if (text.kind === "s3") {
      await store.putObject(
        { key: text.key, body: decision.transcript.text ?? "", contentType: "text/plain; charset=utf-8" },
        signal,
      );
    }
    const storedAt = isoNow();
    const written = await writeDecided(
      delivery,
      decision.status,
      stored,
      times,
      (held, heldTimes, verdict) =>
        buildTranscriptUpdate({
          delivery,
          storedAt,
          stored: held,
          times: heldTimes,
          // Replaced only by arrival order: noted, so the reconciler has the two ordered again later.
          undecided: verdict.verdict === "write" && verdict.byArrival ? held.transcriptId : undefined,
          transcript: decision.transcript,
          status: decision.status,
          transcriptS3Key,
          text,
        }),
      signal,
      deleteWaitsForRedactedAudio(decision.transcript, decision.status),
      {
        customerId,
        status: decision.status,
        kind: "transcript",
        storedAt,
        audioDuration: decision.transcript.audio_duration,
      },
    );
    if (!written.written) return notWritten(written.verdict);
    const committed: CommittedTranscript = {
      status: decision.status,
      redactPiiAudio: deleteWaitsForRedactedAudio(decision.transcript, decision.status),
      region: fetched.region,
    };
    return { outcome: "stored", storedAt, s3Key: transcriptS3Key, committed };
  }

  /**
   * A streaming session's end-of-session webhook: the body is the transcript (nothing to fetch), stored as a
   * `completed` record under its `session_id`. Against a pre-recorded transcript for the same order it
   * follows the one winner rule, with the session's arrival standing for AssemblyAI's times (a session has
   * none to look up, and is finished when AssemblyAI posts it): a transcript submitted after the session
   * ended is newer and replaces it, one submitted before loses to it. Those times are kept on the record,
   * so no one ever looks a session id up in AssemblyAI's transcript list.
   */
  async function processStreamingSession(
    delivery: StreamingSessionDelivery,
    signal: AbortSignal,
  ): Promise<RecordResult> {
    const { customer_id: customerId, order_id: orderId } = delivery.metadata;
    const sessionId = delivery.session_id;
    const ids = { transcriptId: sessionId };
    const source = sessionRecordSource(delivery);
    const times = timesFrom({ created: delivery.received_at, completed: delivery.received_at });
    const read = await readLive(delivery.metadata, signal);
    // S3 first, before any verdict: the body is the session's only copy, so even a session the record does
    // not keep (another one for the order wins) keeps its body, at its own key; the item never points at
    // nothing. Only a repeat of the stored session skips it (its body is there already).
    const transcriptS3Key = transcriptJsonKey(customerId, orderId, sessionId);
    if (read.transcriptId !== sessionId) {
      await store.putObject(
        {
          key: transcriptS3Key,
          body: await gzipAsync(JSON.stringify(delivery.payload)),
          contentType: "application/json",
          contentEncoding: "gzip",
        },
        signal,
      );
    }
    const before = await judge(
      delivery,
      read,
      { transcriptId: sessionId, status: "completed", receivedAt: delivery.received_at, times },
      signal,
    );
    if (before.verdict.verdict !== "write") {
      const kept = read.transcriptId !== sessionId ? { s3Key: transcriptS3Key } : {};
      return { ...notWritten(before.verdict), ...ids, ...kept };
    }

    const session = assembleSession(delivery.payload);
    const text = placeText(
      session.text,
      config.inlineTextMaxBytes,
      transcriptTextKey(customerId, orderId, sessionId),
    );
    if (text.kind === "s3") {
      await store.putObject(
        { key: text.key, body: session.text, contentType: "text/plain; charset=utf-8" },
        signal,
      );
    }
    const storedAt = isoNow();
    const written = await writeDecided(
      source,
      "completed",
      before.stored,
      times,
      (held, heldTimes) =>
        buildSessionUpdate({
          delivery: source,
          storedAt,
          stored: held,
          times: heldTimes,
          session,
          transcriptS3Key,
          text,
        }),
      signal,
      false,
      {
        customerId,
        status: "completed",
        kind: "streaming_session",
        storedAt,
        durationMs: session.durationMs,
      },
    );
    if (!written.written) return { ...notWritten(written.verdict), ...ids, s3Key: transcriptS3Key };
    return { outcome: "stored", storedAt, s3Key: transcriptS3Key, ...ids };
  }

  const AUDIO_FOR_ANOTHER_TRANSCRIPT = (stored: string) =>
    `the record holds transcript ${stored}, not this audio's; retrying until its transcript is stored`;

  async function processRedactedAudio(
    delivery: RedactedAudioDelivery,
    signal: AbortSignal,
    remainingMs: number,
  ): Promise<RecordResult> {
    const transcriptId = redactedAudioTranscriptId(delivery);
    const ids = transcriptId === undefined ? {} : { transcriptId };
    /** A download that cannot succeed on retry: record why (unless a file is stored) and let it go. */
    const finalFailure = async (reason: string): Promise<RecordResult> => {
      await updateItem(buildRedactedAudioErrorUpdate(delivery, reason, transcriptId), signal);
      // Failed for good: its transcript need not wait for it any longer.
      const deletion = config.deleteFromAssemblyAi
        ? await deletes.deleteAfterAudio(delivery, transcriptId, signal)
        : {};
      return { outcome: "final_failure", reason, ...ids, ...deletion };
    };

    // The receiver checked the host; check again, so that nothing on the queue makes us fetch anywhere else.
    const problem = redactedAudioUrlProblem(delivery.redacted_audio_url, config.redactedAudioHosts);
    if (problem !== undefined) return finalFailure(`redacted audio URL ${problem}`);

    // Read even when the audio's transcript is unknown: an erased order's audio is never downloaded.
    const stored = await readLive(delivery.metadata, signal);
    if (transcriptId !== undefined) {
      if (stored.transcriptId !== undefined && stored.transcriptId !== transcriptId) {
        // The item holds another transcript: if it is newer, this audio belongs to one it replaced, and is
        // archived with a note; if this audio's transcript is the newer, its own delivery has not landed yet:
        // retry, so it is stored once its transcript is (or ends in the dead-letter queue with this reason).
        const judged = await judge(
          delivery,
          stored,
          { transcriptId, status: "completed", receivedAt: delivery.received_at, times: undefined },
          signal,
        );
        if (judged.verdict.verdict === "superseded") {
          const note = `redacted audio of transcript ${transcriptId}, which the record's transcript ${stored.transcriptId} replaced (${judged.verdict.reason})`;
          const s3Key = await archive(delivery, note, signal);
          return { outcome: "superseded", reason: `${note}; archived`, s3Key, ...ids };
        }
        return {
          outcome: "transient_failure",
          reason: AUDIO_FOR_ANOTHER_TRANSCRIPT(stored.transcriptId),
          ...ids,
        };
      }
    }

    const s3Key = redactedAudioKey(delivery);
    const download: DownloadResult = await downloads.openDownload(delivery.redacted_audio_url, {
      totalTimeoutMs: Math.min(DOWNLOAD_TIMEOUT_MS, remainingMs),
      maxBytes: config.maxRedactedAudioBytes,
      signal,
    });
    switch (download.type) {
      case "network_error": {
        const reason = download.timedOut ? "redacted audio download timed out" : download.reason;
        return { outcome: "transient_failure", reason: `redacted audio download failed: ${reason}`, ...ids };
      }
      case "redirect_refused":
        return finalFailure(download.reason);
      case "too_large":
        return finalFailure(
          `redacted audio is ${download.declaredBytes} bytes, more than the ${config.maxRedactedAudioBytes} allowed`,
        );
      case "response":
        break;
    }
    const verdict = classifyDownloadStatus(download.status);
    if (verdict === "transient") {
      const retryAfterSeconds = parseRetryAfter(download.retryAfter, deps.now());
      const reason = `redacted audio download answered HTTP ${download.status}`;
      return retryAfterSeconds === undefined
        ? { outcome: "transient_failure", reason, ...ids }
        : { outcome: "transient_failure", reason, retryAfterSeconds, ...ids };
    }
    if (verdict === "final" || download.body === null) {
      // 403/404/410: the presigned link expired (it lives about 24 hours); retrying cannot help.
      return finalFailure(`redacted audio download answered HTTP ${download.status}`);
    }
    try {
      await store.uploadStream(
        s3Key,
        download.body,
        download.contentType ?? "application/octet-stream",
        signal,
      );
    } catch (error) {
      // Past the byte cap the download was cancelled and the upload aborted (its parts too): final.
      if (download.exceededLimit()) {
        return finalFailure(
          `redacted audio is larger than the ${config.maxRedactedAudioBytes} bytes allowed`,
        );
      }
      throw error;
    }
    const storedAt = isoNow();
    const written = await updateItem(
      buildRedactedAudioUpdate(delivery, s3Key, storedAt, transcriptId),
      signal,
    );
    if (written === "condition_failed") {
      // Erased while the file streamed in: say so (readLive throws) rather than retry it for nothing.
      await readLive(delivery.metadata, signal);
      return { outcome: "transient_failure", reason: AUDIO_FOR_ANOTHER_TRANSCRIPT("another"), ...ids };
    }
    const deletion = config.deleteFromAssemblyAi
      ? await deletes.deleteAfterAudio(delivery, transcriptId, signal)
      : {};
    return { outcome: "redacted_audio_stored", storedAt, s3Key, ...ids, ...deletion };
  }

  /** Keeps a message that will not be acted on, with why, beside the unknown deliveries. */
  async function archive(message: RoutableDelivery, note: string, signal: AbortSignal): Promise<string> {
    const { customer_id: customerId, order_id: orderId } = message.metadata;
    const s3Key = unknownArchiveKey(customerId, orderId, message.received_at, message.request_id);
    await store.putObject(
      { key: s3Key, body: JSON.stringify({ note, message }), contentType: "application/json" },
      signal,
    );
    return s3Key;
  }

  async function processUnknown(
    body: string,
    message: UnknownDelivery,
    signal: AbortSignal,
  ): Promise<RecordResult> {
    const { customer_id: customerId, order_id: orderId } = message.metadata;
    await readLive(message.metadata, signal);
    const s3Key = unknownArchiveKey(customerId, orderId, message.received_at, message.request_id);
    // The body as queued (metadata, payload and the kind as the receiver wrote it), byte for byte.
    await store.putObject({ key: s3Key, body, contentType: "application/json" }, signal);
    return { outcome: "unknown_archived", s3Key };
  }

  /**
   * An authenticated request the receiver could not route: kept whole under quarantine/ (the message is
   * the request: its reason, query string, headers without the secret, and the raw body), for
   * `aai-webhooks quarantine list` and a person to route.
   */
  async function processQuarantine(
    body: string,
    message: QuarantineDelivery,
    signal: AbortSignal,
  ): Promise<RecordResult> {
    const s3Key = quarantineKey(message.received_at, message.request_id);
    await store.putObject({ key: s3Key, body, contentType: "application/json" }, signal);
    return { outcome: "quarantine_archived", reason: message.reason_message, s3Key };
  }

  /**
   * A message that fails validation will not improve on retry: keep a copy, then let it go. Until the copy
   * is kept it stays on the queue (and ends in the dead-letter queue), so it is never deleted unstored.
   */
  async function processMalformed(
    record: SQSRecord,
    body: string,
    reason: string,
    signal: AbortSignal,
  ): Promise<RecordResult> {
    const s3Key = malformedArchiveKey(isoNow(), record.messageId);
    try {
      await store.putObject({ key: s3Key, body, contentType: "application/json" }, signal);
      return { outcome: "final_failure", reason: `malformed message: ${reason}`, s3Key };
    } catch (error) {
      return {
        outcome: "transient_failure",
        reason: `malformed message: ${reason}; not archived: ${describeError(error)}`,
      };
    }
  }

  async function route(body: string, message: DeliveryMessage, budget: RecordBudget): Promise<RecordResult> {
    switch (message.kind) {
      case "transcript":
        return processTranscript(message, budget.signal);
      case "redacted_audio":
        return processRedactedAudio(message, budget.signal, budget.remainingMs());
      case "streaming_session":
        return processStreamingSession(message, budget.signal);
      case "unknown":
        return processUnknown(body, message, budget.signal);
      case "quarantine":
        return processQuarantine(body, message, budget.signal);
      case "assemblyai_delete":
        return deletes.processAssemblyAiDelete(message, budget.signal);
    }
  }

  /**
   * The message a record carries: its body, or, for a claim check (a message too large for SQS), the
   * message the receiver wrote to the bucket's inbox. A claim that cannot be read is retried (and ends in
   * the dead-letter queue, never deleted unread).
   */
  async function messageBody(record: SQSRecord, signal: AbortSignal): Promise<string> {
    const body = record.body ?? "";
    const claim = readClaimCheck(body, INBOX_PREFIX);
    if (claim === undefined) return body;
    try {
      return await store.readText(claim.key, signal);
    } catch (error) {
      throw new TransientFailure(`claim check ${claim.key} could not be read: ${describeError(error)}`);
    }
  }

  async function changeVisibility(record: SQSRecord, seconds: number): Promise<string | undefined> {
    try {
      await deps.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: config.queueUrl,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
      return undefined;
    } catch (error) {
      // The record still fails; it just comes back after the queue's own visibility timeout.
      return describeError(error);
    }
  }

  /** Processes one record and reports it; true when the record must be retried. */
  async function processRecord(record: SQSRecord, budget: RecordBudget): Promise<boolean> {
    const attempt = receiveCount(record.attributes?.ApproximateReceiveCount);
    let message: DeliveryMessage | undefined;
    let result: RecordResult;
    if (budget.signal.aborted) {
      // Its turn came too late in the invocation: back off now rather than time out the whole batch.
      result = { outcome: "transient_failure", reason: OUT_OF_TIME };
    } else {
      try {
        const body = await messageBody(record, budget.signal);
        const parsed = parseDeliveryMessage(body);
        message = parsed.ok ? parsed.message : undefined;
        result = parsed.ok
          ? await route(body, parsed.message, budget)
          : await processMalformed(record, body, parsed.reason, budget.signal);
      } catch (error) {
        result =
          error instanceof OrderErased
            ? { outcome: "erased", reason: error.message }
            : {
                outcome: "transient_failure",
                reason: error instanceof TransientFailure ? error.message : describeError(error),
              };
      }
    }
    if (
      result.outcome === "transient_failure" &&
      budget.signal.aborted &&
      !result.reason?.startsWith(OUT_OF_TIME)
    ) {
      result = { ...result, reason: `${OUT_OF_TIME}: ${result.reason}` };
    }
    let retryInSeconds: number | undefined;
    let visibilityError: string | undefined;
    if (result.outcome === "transient_failure") {
      retryInSeconds = backoffSeconds(
        attempt,
        result.retryAfterSeconds,
        deps.random(),
        config.retryBaseSeconds,
      );
      visibilityError = await changeVisibility(record, retryInSeconds);
    }
    const report: RecordReport = {
      outcome: result.outcome,
      kind: message?.kind,
      messageId: record.messageId,
      attempt,
      transcriptId:
        message?.kind === "transcript"
          ? message.transcript_id
          : message?.kind === "streaming_session"
            ? message.session_id
            : message?.kind === "assemblyai_delete"
              ? message.transcript_id
              : result.transcriptId,
      customerId: message && "metadata" in message ? message.metadata.customer_id : undefined,
      orderId: message && "metadata" in message ? message.metadata.order_id : undefined,
      requestId: message?.request_id,
      receivedAt: message?.received_at,
      storedAt: result.storedAt,
      reason: result.reason,
      s3Key: result.s3Key,
      assemblyAiRegion: result.assemblyAiRegion,
      regionsTried: result.regionsTried,
      retryInSeconds,
      maxReceiveCount: MAX_RECEIVE_COUNT,
      source: message?.source,
      assemblyAiDelete: result.assemblyAiDelete,
      assemblyAiDeleteError: result.assemblyAiDeleteError,
    };
    const event = recordEvent(report);
    deps.emit(
      visibilityError === undefined
        ? event
        : { ...event, fields: { ...event.fields, visibility_change_error: visibilityError } },
    );
    return result.outcome === "transient_failure";
  }

  return {
    async handleBatch(event: SQSEvent, context?: InvocationClock): Promise<SQSBatchResponse> {
      const records = event.Records ?? [];
      const budget = recordBudget(context, deps.now);
      const retry = await mapWithConcurrency(records, RECORD_CONCURRENCY, async (record) => {
        try {
          return await processRecord(record, budget);
        } catch (error) {
          // Reporting itself failed: retry the record rather than lose it or fail the batch.
          deps.emit({
            level: "error",
            message: "record processing failed",
            fields: { error: describeError(error) },
          });
          return true;
        }
      });
      budget.dispose();
      return {
        batchItemFailures: records
          .filter((_, index) => retry[index])
          .map((record) => ({ itemIdentifier: record.messageId })),
      };
    },
  };
}
