/**
 * Runs a handler the way Lambda's DynamoDB Streams event source mapping does: reads every shard of the
 * stream from TRIM_HORIZON, in order, one batch in flight per shard, skips records the filter rejects,
 * invokes the handler with Lambda's event shape, honours partial batch responses, retries and bisects failed
 * batches, and hands exhausted ones to the on-failure destination as Lambda's invocation record.
 *
 * What it follows (AWS Lambda Developer Guide):
 * - with-ddb.html (polling and batching): each shard is polled 4 times a second; records are passed on as
 *   soon as there are any (batching window 0); one invocation per shard at a time (parallelization factor
 *   1), so a shard's records reach the handler in order; a parent shard is read to its end before its
 *   children start. Shards are found with DescribeStream at start and every 10 s, and at once when a shard
 *   closes.
 * - invocation-eventfiltering.html / with-ddb-filtering.html: records the filter rejects are checkpointed
 *   without an invocation. Only lists of exact values are supported here, on top-level and nested keys
 *   (`{eventName: ["INSERT", "MODIFY"]}`, `{dynamodb: {NewImage: {status: {S: ["completed"]}}}}`), which is
 *   all the stack uses; any other operator (prefix, anything-but, numeric, exists…) is refused at start.
 * - services-ddb-batchfailurereporting.html: an empty or absent `batchItemFailures` (or no response) is
 *   success; otherwise the records before the lowest failed sequence number are done and the batch is
 *   retried from it (a retry); an empty, missing or unknown `itemIdentifier` fails the whole batch. A batch
 *   that fails with bisection on is split in two and each half retried, whatever ReportBatchItemFailures
 *   says; a partial response is "bisected at the returned sequence number" instead.
 * - services-dynamodb-errors.html: retries stop at MaximumRetryAttempts (-1: never); "splitting batches
 *   doesn't consume the retry quota", so halves keep their batch's retry count and only a failure that is
 *   not split counts; an exhausted batch (or half) is discarded, its invocation record sent to the
 *   destination, and the shard moves on.
 * Retries wait `retryDelayMs` doubled per retry, capped at 1 s (Lambda's own backoff is not documented; it is
 * kept short so that a local poisoned record holds its shard up for seconds, not minutes). A handler that
 * runs past `timeoutMs` counts as failed, as Lambda's timeout does; it cannot be killed here, so it runs on
 * and its late answer is ignored, and stop() does not wait for it. Checkpoints live in memory: a new poller
 * reads from TRIM_HORIZON again, as a new event source mapping would.
 *
 * Where moto 5 differs from AWS (moto_server 5.2 with the SDK: PutItem, UpdateItem, DeleteItem and
 * TransactWriteItems all write records with NEW_AND_OLD_IMAGES images, a cancelled transaction none; the
 * GetRecords shape is AWS's), and what this does about it:
 * - A PutItem or UpdateItem that changes nothing still writes a MODIFY record; DynamoDB writes none (Developer
 *   Guide, Streams.html). Such records (identical images, NEW_AND_OLD_IMAGES) are dropped here like
 *   filtered ones.
 * - Every record says awsRegion "us-east-1": the record gets `region` instead, as Lambda gives the table's.
 * - ApproximateCreationDateTime has milliseconds: Lambda's events carry whole epoch seconds, so it is floored.
 * - One shard per table, never closed, with the same id in every table; no child shards ever, so the
 *   parent-before-child order is exercised only on AWS. SizeBytes is an overestimate, passed on as it is.
 * - An unknown iterator (or shard) is a 500 with an HTML body, not ExpiredIteratorException: any GetRecords
 *   error is reported to `onError` and the shard resumes from its checkpoint with a fresh iterator, which
 *   also covers AWS's 15-minute iterator expiry. moto's iterators never expire.
 * - A moto Lambda event source mapping on the table would empty the shard after every write: do not make one.
 */
import {
  type _Record,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from "@aws-sdk/client-dynamodb-streams";
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { lambdaContext } from "./lambda-context";
import {
  assertSupportedPattern,
  type FilterPattern,
  matchesPattern,
  toLambdaRecord,
  unchangedModify,
} from "./stream-records";

export type { FilterPattern, FilterValue } from "./stream-records";

/** Resolves with a partial batch response, or with nothing for success. */
export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<StreamHandlerResult>;
// biome-ignore lint/suspicious/noConfusingVoidType: lets handlers that only succeed stay `Promise<void>`, as aws-lambda's DynamoDBStreamHandler does
type StreamHandlerResult = DynamoDBBatchResponse | undefined | void;

/** What Lambda sends an on-failure destination for a stream batch (services-dynamodb-errors.html). */
export interface StreamFailureRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: "RetryAttemptsExhausted";
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: {
    readonly statusCode: number;
    readonly executedVersion: "$LATEST";
    /** "Unhandled" when the last attempt threw or timed out; absent when it answered with failures. */
    readonly functionError?: "Unhandled";
  };
  readonly version: "1.0";
  readonly timestamp: string;
  readonly DDBStreamBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

export interface StreamPollerOptions {
  readonly streams: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly handler: StreamHandler;
  /** The table's region, as the records' awsRegion. */
  readonly region: string;
  /** Records per invocation, at most 1000 (one GetRecords page). @default 100 */
  readonly batchSize?: number;
  /** Retries of a failed batch before it is discarded; -1 retries for ever. @default 10 */
  readonly maxRetryAttempts?: number;
  /** Split a failed batch in two and retry each half. @default true */
  readonly bisectBatchOnError?: boolean;
  /** Only records that match reach the handler; the others are checkpointed. @default every record */
  readonly filter?: FilterPattern;
  /** The on-failure destination: called once per discarded batch. @default records are only discarded */
  readonly onFailure?: (record: StreamFailureRecord) => Promise<void>;
  /** Wait between polls of a shard that had nothing new. @default 250 (4 times a second) */
  readonly pollIntervalMs?: number;
  /** Wait before the first retry, doubled per retry up to 1 s. @default 100 */
  readonly retryDelayMs?: number;
  /** The name in the handler's context and in the function ARN of failure records. @default "local-stream-handler" */
  readonly functionName?: string;
  /** The function's timeout: its context's deadline, and a longer invocation fails. @default 30000 */
  readonly timeoutMs?: number;
  /** The memory its context reports (nothing enforces it). @default 512 */
  readonly memoryMb?: number;
  readonly onError?: (error: unknown) => void;
}

export interface StreamPoller {
  /** Stops polling and resolves once the invocations in flight have answered. */
  stop(): Promise<void>;
}

const SHARD_DISCOVERY_MS = 10_000;
const READ_ERROR_BACKOFF_MS = 1_000;
const MAX_RETRY_DELAY_MS = 1_000;
const GET_RECORDS_LIMIT = 1_000;

interface Settings {
  readonly options: StreamPollerOptions;
  readonly signal: AbortSignal;
  readonly batchSize: number;
  readonly maxRetryAttempts: number;
  readonly bisect: boolean;
  readonly pollIntervalMs: number;
  readonly retryDelayMs: number;
  readonly functionName: string;
  readonly functionArn: string;
  readonly timeoutMs: number;
  readonly memoryMb: number;
}

export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  if (options.filter) assertSupportedPattern(options.filter, "");
  const abort = new AbortController();
  const functionName = options.functionName ?? "local-stream-handler";
  const timeoutMs = options.timeoutMs ?? 30_000;
  const memoryMb = options.memoryMb ?? 512;
  const settings: Settings = {
    options,
    signal: abort.signal,
    batchSize: Math.min(options.batchSize ?? 100, GET_RECORDS_LIMIT),
    maxRetryAttempts: options.maxRetryAttempts ?? 10,
    bisect: options.bisectBatchOnError ?? true,
    pollIntervalMs: options.pollIntervalMs ?? 250,
    retryDelayMs: options.retryDelayMs ?? 100,
    functionName,
    // The ARN the handler's own context names.
    functionArn: lambdaContext(functionName, memoryMb, timeoutMs).invokedFunctionArn,
    timeoutMs,
    memoryMb,
  };
  // A wrong ARN or an emulator that is not there fails the start, not the first poll.
  const shards = await describeShards(settings);
  const readers = new Map<string, Promise<void>>();
  const discovery = discoverShards(settings, shards, readers);
  return {
    async stop() {
      abort.abort();
      await discovery;
      await Promise.allSettled(readers.values());
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Shards

interface ShardInfo {
  readonly id: string;
  readonly parentId?: string;
}

async function describeShards(settings: Settings): Promise<ShardInfo[]> {
  const shards: ShardInfo[] = [];
  let exclusiveStartShardId: string | undefined;
  do {
    const page = await settings.options.streams.send(
      new DescribeStreamCommand({
        StreamArn: settings.options.streamArn,
        ExclusiveStartShardId: exclusiveStartShardId,
      }),
      { abortSignal: settings.signal },
    );
    for (const shard of page.StreamDescription?.Shards ?? []) {
      if (shard.ShardId) shards.push({ id: shard.ShardId, parentId: shard.ParentShardId });
    }
    exclusiveStartShardId = page.StreamDescription?.LastEvaluatedShardId;
  } while (exclusiveStartShardId);
  return shards;
}

/** Starts a reader for each shard whose parent is done (or trimmed away), until stopped. */
async function discoverShards(
  settings: Settings,
  initial: ShardInfo[],
  readers: Map<string, Promise<void>>,
): Promise<void> {
  const finished = new Set<string>();
  let wake: (() => void) | undefined;
  let shards = initial;
  while (!settings.signal.aborted) {
    const listed = new Set(shards.map((shard) => shard.id));
    for (const shard of shards) {
      if (readers.has(shard.id)) continue;
      if (shard.parentId && listed.has(shard.parentId) && !finished.has(shard.parentId)) continue;
      const reader = readShard(settings, shard.id).then(() => {
        finished.add(shard.id);
        wake?.();
      });
      readers.set(shard.id, reader);
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        settings.signal.removeEventListener("abort", done);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, SHARD_DISCOVERY_MS);
      settings.signal.addEventListener("abort", done, { once: true });
      wake = done;
    });
    if (settings.signal.aborted) return;
    try {
      shards = await describeShards(settings);
    } catch (error) {
      if (!settings.signal.aborted) settings.options.onError?.(error);
    }
  }
}

/** Reads one shard to its end (a closed shard) or until stopped, delivering each page before the next. */
async function readShard(settings: Settings, shardId: string): Promise<void> {
  const { options, signal } = settings;
  let iterator: string | undefined;
  // The last record handled (delivered, filtered out or discarded): where a fresh iterator starts after.
  let checkpoint: string | undefined;
  while (!signal.aborted) {
    try {
      iterator ??= await shardIterator(settings, shardId, checkpoint);
      const page = await options.streams.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: settings.batchSize }),
        { abortSignal: signal },
      );
      const records = page.Records ?? [];
      if (records.length > 0) {
        const completed = await deliverPage(settings, shardId, records);
        if (!completed) return;
        checkpoint = records.at(-1)?.dynamodb?.SequenceNumber ?? checkpoint;
      }
      iterator = page.NextShardIterator;
      // No next iterator: a closed shard read to its end (children may start).
      if (iterator === undefined) return;
      if (records.length === 0) await sleep(settings.pollIntervalMs, signal);
    } catch (error) {
      if (signal.aborted) return;
      options.onError?.(error);
      // Past the trim horizon the checkpoint is gone: the oldest record left is the next one.
      if ((error as { name?: string }).name === "TrimmedDataAccessException") checkpoint = undefined;
      iterator = undefined;
      await sleep(READ_ERROR_BACKOFF_MS, signal);
    }
  }
}

async function shardIterator(settings: Settings, shardId: string, checkpoint?: string): Promise<string> {
  const answer = await settings.options.streams.send(
    new GetShardIteratorCommand({
      StreamArn: settings.options.streamArn,
      ShardId: shardId,
      ...(checkpoint
        ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: checkpoint }
        : { ShardIteratorType: "TRIM_HORIZON" }),
    }),
    { abortSignal: settings.signal },
  );
  if (!answer.ShardIterator) throw new Error(`GetShardIterator gave no iterator for ${shardId}`);
  return answer.ShardIterator;
}

// ---------------------------------------------------------------------------------------------------------
// Delivery: filter, invoke, retry, bisect, discard

interface Batch {
  readonly records: readonly DynamoDBRecord[];
  readonly retries: number;
  /** Invocations these records have been part of, as approximateInvokeCount. */
  readonly invocations: number;
}

type Outcome =
  | { readonly kind: "success" }
  | { readonly kind: "partial"; readonly failedFrom: number; readonly requestId: string }
  | { readonly kind: "failure"; readonly requestId: string; readonly functionError?: "Unhandled" };

/** Delivers one page's records; false when stopped before they were all handled. */
async function deliverPage(settings: Settings, shardId: string, page: _Record[]): Promise<boolean> {
  const { options } = settings;
  const records = page
    .map((record) => toLambdaRecord(record, options.streamArn, options.region))
    .filter((record) => !unchangedModify(record))
    .filter((record) => !options.filter || matchesPattern(options.filter, record));
  const pending: Batch[] = records.length > 0 ? [{ records, retries: 0, invocations: 0 }] : [];
  for (let batch = pending.shift(); batch; batch = pending.shift()) {
    if (settings.signal.aborted) return false;
    const outcome = await invoke(settings, batch.records);
    if (outcome.kind === "success") continue;
    const invocations = batch.invocations + 1;
    if (outcome.kind === "failure" && settings.bisect && batch.records.length > 1) {
      const middle = Math.ceil(batch.records.length / 2);
      pending.unshift(
        { records: batch.records.slice(0, middle), retries: batch.retries, invocations },
        { records: batch.records.slice(middle), retries: batch.retries, invocations },
      );
    } else {
      // A partial response checkpoints the records before the lowest failure; the rest is retried.
      const failed = outcome.kind === "partial" ? batch.records.slice(outcome.failedFrom) : batch.records;
      if (settings.maxRetryAttempts >= 0 && batch.retries >= settings.maxRetryAttempts) {
        await discard(settings, shardId, failed, invocations, outcome);
        continue;
      }
      pending.unshift({ records: failed, retries: batch.retries + 1, invocations });
    }
    const delay = Math.min(settings.retryDelayMs * 2 ** batch.retries, MAX_RETRY_DELAY_MS);
    await sleep(delay, settings.signal);
  }
  return true;
}

async function invoke(settings: Settings, records: readonly DynamoDBRecord[]): Promise<Outcome> {
  const context = lambdaContext(settings.functionName, settings.memoryMb, settings.timeoutMs);
  const requestId = context.awsRequestId;
  let response: unknown;
  try {
    // A copy per invocation, as Lambda sends each its own JSON: a handler's edits never reach a retry.
    const event: DynamoDBStreamEvent = { Records: structuredClone([...records]) };
    response = await withTimeout(settings.options.handler(event, context), settings.timeoutMs);
  } catch (error) {
    settings.options.onError?.(error);
    return { kind: "failure", requestId, functionError: "Unhandled" };
  }
  const failures = isObject(response) ? response.batchItemFailures : undefined;
  if (failures === undefined || failures === null) return { kind: "success" };
  if (!Array.isArray(failures))
    return invalidResponse(settings, requestId, "batchItemFailures is not a list");
  if (failures.length === 0) return { kind: "success" };
  let failedFrom = records.length;
  for (const failure of failures) {
    const identifier = isObject(failure) ? failure.itemIdentifier : undefined;
    const index =
      typeof identifier === "string" && identifier !== ""
        ? records.findIndex((record) => record.dynamodb?.SequenceNumber === identifier)
        : -1;
    if (index < 0) {
      return invalidResponse(
        settings,
        requestId,
        `itemIdentifier ${JSON.stringify(identifier)} names no record of the batch`,
      );
    }
    failedFrom = Math.min(failedFrom, index);
  }
  return { kind: "partial", failedFrom, requestId };
}

function invalidResponse(settings: Settings, requestId: string, why: string): Outcome {
  settings.options.onError?.(
    new Error(`${settings.functionName}: ${why}; the whole batch fails, as on Lambda`),
  );
  return { kind: "failure", requestId };
}

async function discard(
  settings: Settings,
  shardId: string,
  records: readonly DynamoDBRecord[],
  invocations: number,
  outcome: Exclude<Outcome, { kind: "success" }>,
): Promise<void> {
  const { options } = settings;
  const first = records[0]?.dynamodb;
  const last = records.at(-1)?.dynamodb;
  const record: StreamFailureRecord = {
    requestContext: {
      requestId: outcome.requestId,
      functionArn: settings.functionArn,
      condition: "RetryAttemptsExhausted",
      approximateInvokeCount: invocations,
    },
    responseContext: {
      // The Invoke API's status: 200 even when the function failed.
      statusCode: 200,
      executedVersion: "$LATEST",
      ...(outcome.kind === "failure" && outcome.functionError
        ? { functionError: outcome.functionError }
        : {}),
    },
    version: "1.0",
    timestamp: new Date().toISOString(),
    DDBStreamBatchInfo: {
      shardId,
      startSequenceNumber: first?.SequenceNumber ?? "",
      endSequenceNumber: last?.SequenceNumber ?? "",
      approximateArrivalOfFirstRecord: isoSeconds(first?.ApproximateCreationDateTime),
      approximateArrivalOfLastRecord: isoSeconds(last?.ApproximateCreationDateTime),
      batchSize: records.length,
      streamArn: options.streamArn,
    },
  };
  if (!options.onFailure) {
    options.onError?.(
      new Error(`${settings.functionName}: discarded ${records.length} records after retries`),
    );
    return;
  }
  try {
    await options.onFailure(record);
  } catch (error) {
    // The records are discarded either way; the shard must not stall on its destination.
    options.onError?.(error);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isoSeconds(epochSeconds: number | undefined): string {
  // As Lambda writes them: whole seconds, "2025-06-05T18:21:49Z".
  return epochSeconds === undefined ? "" : new Date(epochSeconds * 1000).toISOString().replace(".000Z", "Z");
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`)),
      timeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms`, or at once when stopped. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
