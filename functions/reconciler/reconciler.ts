/**
 * One scheduled run: read the API key and the checkpoint, reconcile, save the next checkpoint, log. The
 * decisions live in core.ts; this file sequences the I/O around it and writes the run's log lines and metrics.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Context, ScheduledEvent } from "aws-lambda";
import { API_KEY_PLACEHOLDER_PREFIX } from "../shared/contract/environment";
import { checkpointKeyFor } from "../shared/contract/resources";
import type { RegionAccess } from "../shared/processing-config";
import { CachedValue } from "../shared/secret-cache";
import { apiKeyFingerprint, readApiKey } from "../shared/secrets";
import { describeError, emit as emitLine, type LogEvent } from "../shared/telemetry";
import { AssemblyAiApi } from "./assemblyai";
import type { ReconcilerConfig } from "./config";
import { reconcile } from "./core";
import { CheckpointStore, createReconcileDeps, parseCheckpoint } from "./store";
import type { ReconciledTranscript, ReconcileOutcome, ReconcileReport } from "./types";

export interface ReconcilerClients {
  readonly documents: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly secretsManager: SecretsManagerClient;
  /** The clock; tests pin it. */
  readonly now?: () => Date;
}

export type ReconcilerHandler = (
  event: ScheduledEvent | Record<string, unknown>,
  context?: Pick<Context, "getRemainingTimeInMillis">,
) => Promise<ReconcileReport | undefined>;

/** The run failed part-way; what was examined is kept in the checkpoint. Fails the invocation (Errors alarm). */
export class ReconcileFailedError extends Error {
  override readonly name = "ReconcileFailedError";
}

export class ApiKeyUnavailableError extends Error {
  override readonly name = "ApiKeyUnavailableError";
}

/** Every outcome gets a data point each run, zeros included, so alarms on them never see missing data. */
const OUTCOMES: readonly ReconcileOutcome[] = ["queued", "already_stored", "skipped", "superseded"];

/** Time kept back from the Lambda timeout: one AssemblyAI request at most, then the checkpoint write. */
const STOP_MARGIN_MS = 15_000;

/** One configured AssemblyAI region's run: its API, its key, its checkpoint and its share of the budget. */
interface RegionRun {
  readonly access: RegionAccess;
  readonly apiKey: CachedValue<string>;
  readonly deps: ReturnType<typeof createReconcileDeps>;
  readonly checkpoints: CheckpointStore;
  readonly checkpointKey: string;
  readonly maxApiCalls: number;
  /** Fields added to the run's log lines: the region, when there are several. */
  readonly fields: Readonly<Record<string, unknown>>;
}

export function createHandler(config: ReconcilerConfig, clients: ReconcilerClients): ReconcilerHandler {
  const now = clients.now ?? (() => new Date());
  const several = config.assemblyAiRegions.length > 1;
  // Each region lists its own transcripts, so the run's budget is shared between them.
  const regionBudget = Math.max(2, Math.floor(config.maxApiCalls / config.assemblyAiRegions.length));
  const regions = config.assemblyAiRegions.map((access, index) =>
    regionRun(config, clients, now, access, {
      checkpointKey: index === 0 ? config.checkpointKey : checkpointKeyFor(access.region, false),
      maxApiCalls: several ? regionBudget : config.maxApiCalls,
      fields: several ? { assemblyai_region: access.region } : {},
    }),
  );

  async function run(
    region: RegionRun,
    startedAt: Date,
    context: Pick<Context, "getRemainingTimeInMillis"> | undefined,
  ): Promise<ReconcileReport | undefined> {
    const { apiKey, deps, checkpoints } = region;
    const emit = (event: LogEvent, at?: number) =>
      emitLine(several ? { ...event, fields: { ...event.fields, ...region.fields } } : event, at);
    const key = await apiKey.get();
    if (key.startsWith(API_KEY_PLACEHOLDER_PREFIX)) {
      emit({
        level: "warn",
        message: "reconcile skipped: the AssemblyAI API key is not set (no value yet, or the placeholder)",
        fields: { api_key_secret_arn: region.access.apiKeySecretArn },
      });
      return undefined;
    }

    const text = await checkpoints.readText();
    const parsed = text === undefined ? undefined : parseCheckpoint(text);
    if (parsed !== undefined && "problem" in parsed) {
      // Refusing to run would stop recovery for good; the first-run lookback is the safe fallback.
      emit({
        level: "warn",
        message: "reconcile checkpoint unreadable; starting from the lookback window",
        fields: { problem: parsed.problem, checkpoint_key: region.checkpointKey },
      });
    }
    const checkpoint = parsed !== undefined && "checkpoint" in parsed ? parsed.checkpoint : undefined;
    const since = checkpoint?.since ?? new Date(startedAt.getTime() - config.lookbackMs);

    const report = await reconcile(deps, {
      since,
      ...(checkpoint?.settledBefore !== undefined ? { settledBefore: checkpoint.settledBefore } : {}),
      ...(checkpoint?.unread !== undefined ? { unread: checkpoint.unread } : {}),
      ...(checkpoint?.listing !== undefined ? { listing: checkpoint.listing } : {}),
      ...(checkpoint?.fetchRetries !== undefined ? { fetchRetries: checkpoint.fetchRetries } : {}),
      // Which key this run reads with: a fetch_failed record refused for another key is tried again at once.
      apiKeyFingerprint: apiKeyFingerprint(key),
      webhookUrl: config.webhookUrl,
      maxApiCalls: region.maxApiCalls,
      now: startedAt,
      maxPendingLookbackMs: config.maxPendingLookbackMs,
      ...(context
        ? {
            shouldStop: () =>
              context.getRemainingTimeInMillis() < STOP_MARGIN_MS + config.assemblyAiTimeoutMs,
          }
        : {}),
    });

    // Logged before the checkpoint is saved: what was queued must show even when the write fails (the
    // invocation then fails, and the next run repeats this window; the worker drops the duplicates).
    const finishedAt = now();
    for (const transcript of report.transcripts) emit(transcriptLogEvent(transcript), finishedAt.getTime());
    for (const event of runLogEvents(report, since, startedAt, finishedAt)) emit(event, finishedAt.getTime());
    await checkpoints.write(
      {
        since: new Date(report.nextCheckpoint),
        settledBefore:
          report.nextSettledBefore !== undefined ? new Date(report.nextSettledBefore) : undefined,
        unread: report.nextUnread,
        listing: report.nextListing,
        fetchRetries: report.nextFetchRetries,
      },
      now(),
    );
    return report;
  }

  return async function handler(_event, context) {
    const startedAt = now();
    const reports: ReconcileReport[] = [];
    let thrown: unknown;
    // One region after the other; one that fails (AssemblyAI or its key unreachable) does not stop the next.
    for (const region of regions) {
      let report: ReconcileReport | undefined;
      try {
        report = await run(region, startedAt, context);
      } catch (error) {
        emitLine({
          level: "error",
          message: "reconcile failed",
          fields: {
            error_detail: describeError(error),
            latency_ms: now().getTime() - startedAt.getTime(),
            ...region.fields,
          },
        });
        thrown ??= error;
        continue;
      }
      if (report !== undefined) reports.push(report);
    }
    if (thrown !== undefined) throw thrown;
    const failed = reports.find((report) => report.stopReason === "failure");
    if (failed !== undefined) {
      throw new ReconcileFailedError(`reconcile stopped early: ${failed.failure ?? "unknown failure"}`);
    }
    return reports.length <= 1
      ? reports[0]
      : combineReports(reports as [ReconcileReport, ...ReconcileReport[]]);
  };
}

/** A region's API client, key cache, deps for the core and checkpoint. */
function regionRun(
  config: ReconcilerConfig,
  clients: ReconcilerClients,
  now: () => Date,
  access: RegionAccess,
  options: Pick<RegionRun, "checkpointKey" | "maxApiCalls" | "fields">,
): RegionRun {
  const apiKey = new CachedValue(
    async () => {
      const value = (await readApiKey(clients.secretsManager, access.apiKeySecretArn))?.trim();
      if (!value) throw new ApiKeyUnavailableError("the AssemblyAI API key secret has no string value");
      return value;
    },
    config.secretCacheTtlSeconds * 1000,
    () => now().getTime(),
  );
  const assemblyAi = new AssemblyAiApi({
    baseUrl: access.baseUrl,
    timeoutMs: config.assemblyAiTimeoutMs,
    apiKey: () => apiKey.get(),
  });
  // A 401/403 says the key is wrong or revoked: forget it, so the next request reads the secret again and a
  // fixed key is used at once rather than after the cache TTL (the worker does the same).
  const dropKeyOnAuthFailure = async <T>(request: () => Promise<T>): Promise<T> => {
    try {
      return await request();
    } catch (error) {
      if (isAuthorizationFailure(error)) apiKey.invalidate();
      throw error;
    }
  };
  const deps = createReconcileDeps({
    assemblyAi: {
      listTranscripts: (query) => dropKeyOnAuthFailure(() => assemblyAi.listTranscripts(query)),
      getTranscript: (id) => dropKeyOnAuthFailure(() => assemblyAi.getTranscript(id)),
    },
    documents: clients.documents,
    sqs: clients.sqs,
    tableName: config.tableName,
    queueUrl: config.queueUrl,
  });
  // Each region's run retries the fetch_failed records its region answered (those from before regions were
  // noted, the first region's): another region's key or API would only answer 404 and use up their tries.
  const first = config.assemblyAiRegions[0]?.region;
  const { waitingFetchFailures } = deps;
  const ownRetries: typeof deps =
    waitingFetchFailures === undefined
      ? deps
      : {
          ...deps,
          async waitingFetchFailures(since, limit) {
            const waiting = await waitingFetchFailures(since, limit);
            const ours = (region: string | undefined) => (region ?? first) === access.region;
            return { ...waiting, records: waiting.records.filter((record) => ours(record.region)) };
          },
        };
  const checkpoints = new CheckpointStore(clients.s3, config.bucketName, options.checkpointKey);
  return { access, apiKey, deps: ownRetries, checkpoints, ...options };
}

/** Several regions' reports as one (the handler's answer): counts summed, decisions and retries joined. */
export function combineReports(reports: readonly [ReconcileReport, ...ReconcileReport[]]): ReconcileReport {
  const sum = (pick: (report: ReconcileReport) => number) => reports.reduce((total, r) => total + pick(r), 0);
  const [first] = reports;
  const stopped = reports.find((report) => report.stopReason !== undefined);
  const failures = reports.flatMap((report) => (report.failure === undefined ? [] : [report.failure]));
  return {
    ...first,
    examined: sum((r) => r.examined),
    matched: sum((r) => r.matched),
    alreadyStored: sum((r) => r.alreadyStored),
    delivered: sum((r) => r.delivered),
    queued: sum((r) => r.queued),
    skipped: sum((r) => r.skipped),
    unreadRetrying: sum((r) => r.unreadRetrying),
    unreadAbandoned: sum((r) => r.unreadAbandoned),
    superseded: sum((r) => r.superseded),
    pending: sum((r) => r.pending),
    // Each region's run retries only the fetch_failed records its region answered: these add up too.
    fetchRetryWaiting: sum((r) => r.fetchRetryWaiting),
    fetchRetried: sum((r) => r.fetchRetried),
    fetchRetriesAbandoned: sum((r) => r.fetchRetriesAbandoned),
    apiCalls: sum((r) => r.apiCalls),
    budgetExhausted: reports.some((report) => report.budgetExhausted),
    // The furthest behind of the regions' next starts.
    nextCheckpoint: reports.map((report) => report.nextCheckpoint).sort()[0] ?? first.nextCheckpoint,
    nextUnread: reports.flatMap((report) => report.nextUnread),
    nextFetchRetries: reports.flatMap((report) => report.nextFetchRetries),
    transcripts: reports.flatMap((report) => report.transcripts),
    ...(stopped?.stopReason !== undefined ? { stopReason: stopped.stopReason } : {}),
    ...(failures.length > 0 ? { failure: failures.join("; ") } : {}),
  };
}

/** A read refused for our API key (401/403, AssemblyAiRequestError's `status`). */
function isAuthorizationFailure(error: unknown): boolean {
  const status = typeof error === "object" && error !== null && "status" in error ? error.status : undefined;
  return status === 401 || status === 403;
}

/** One line per decision worth a look: queued (a webhook was missed), skipped and superseded (not queued). */
export function transcriptLogEvent(transcript: ReconciledTranscript): LogEvent {
  const fields: Record<string, unknown> = {
    transcript_id: transcript.transcriptId,
    outcome: transcript.outcome,
  };
  if (transcript.customerId !== undefined) fields.customer_id = transcript.customerId;
  if (transcript.orderId !== undefined) fields.order_id = transcript.orderId;
  if (transcript.reason !== undefined) fields.reason = transcript.reason;
  if (transcript.requestId !== undefined) fields.request_id = transcript.requestId;
  if (transcript.unread !== undefined) fields.unread = transcript.unread;
  if (transcript.fetchRetry !== undefined) {
    fields.fetch_retry = transcript.fetchRetry.attempt;
    if (transcript.fetchRetry.abandoned) fields.fetch_retry_abandoned = true;
  }
  return {
    level: transcript.outcome === "queued" ? "info" : "warn",
    message: `transcript ${transcript.outcome.replace("_", " ")} by the reconciler`,
    fields,
  };
}

const COUNTS: Readonly<Record<ReconcileOutcome, (report: ReconcileReport) => number>> = {
  queued: (report) => report.queued,
  already_stored: (report) => report.alreadyStored,
  skipped: (report) => report.skipped,
  superseded: (report) => report.superseded,
};

/**
 * The run's summary line (the report, `ReconcilerApiCalls`, `ReconcilerCheckpointLag`: how far behind the
 * next run starts, which grows when runs cannot keep up, and `ReconcilerUnreadAbandoned`), a warning when the budget ran out before the
 * listing reached `since` (the window is too big for the budget: nothing was examined), then one
 * `ReconciledDeliveries` data point per outcome. EMF takes one value per dimension per line, hence a line
 * per outcome. `delivered` is in the summary only (see ReconcileOutcome).
 */
export function runLogEvents(
  report: ReconcileReport,
  since: Date,
  startedAt: Date,
  finishedAt: Date,
): LogEvent[] {
  // The retry list goes to the checkpoint; the summary has its counts (unreadRetrying, unreadAbandoned).
  const { transcripts: _decisions, nextUnread: _unread, nextFetchRetries: _tries, ...summary } = report;
  const level = report.stopReason === "failure" ? "error" : report.stopReason !== undefined ? "warn" : "info";
  const lagMs = Math.max(0, startedAt.getTime() - Date.parse(report.nextCheckpoint));
  const events: LogEvent[] = [
    {
      level,
      message:
        report.stopReason === undefined
          ? "reconcile run"
          : `reconcile run stopped early (${report.stopReason})`,
      metrics: {
        ReconcilerApiCalls: { value: report.apiCalls, unit: "Count" },
        ReconcilerCheckpointLag: { value: lagMs, unit: "Milliseconds" },
        // Transcripts given up after failing to be read in maxReadAttempts runs: each may be a lost delivery.
        ReconcilerUnreadAbandoned: { value: report.unreadAbandoned, unit: "Count" },
      },
      fields: {
        ...summary,
        since: since.toISOString(),
        latency_ms: finishedAt.getTime() - startedAt.getTime(),
      },
    },
  ];
  if (report.stopReason === "budget" && report.listedBackTo !== undefined) {
    const windowMs = Math.max(0, startedAt.getTime() - since.getTime());
    const listedMs = Math.max(0, startedAt.getTime() - Date.parse(report.listedBackTo));
    events.push({
      level: "warn",
      message:
        "reconcile budget ran out before listing reached the checkpoint: the next run lists on from where " +
        "this one stopped, so the window takes several runs; raise reconcileMaxApiCalls (or " +
        "--max-api-calls) to cover it in one",
      fields: {
        since: since.toISOString(),
        window_minutes: Math.round(windowMs / 60_000),
        listed_back_to: report.listedBackTo,
        listed_minutes: Math.round(listedMs / 60_000),
        api_calls: report.apiCalls,
      },
    });
  }
  for (const outcome of OUTCOMES) {
    events.push({
      message: "reconciled deliveries",
      metrics: { ReconciledDeliveries: { value: COUNTS[outcome](report), unit: "Count" } },
      dimensions: { Outcome: outcome },
    });
  }
  return events;
}
