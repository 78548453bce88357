/**
 * The events publisher: the record table's DynamoDB stream in, EventBridge events out. The stream is the
 * outbox: DynamoDB writes a stream record for every committed write, whatever happens to the worker after
 * it, and Lambda's event source mapping hands each one to this function until it succeeds (or, after its
 * retries, sends a pointer to the events dead-letter queue). So an event goes out only for a committed
 * change, and every committed change gets its event, even when the worker dies right after its write.
 *
 * For each batch (in stream order, per record key):
 * 1. each record's images become its events (functions/shared/contract/events.ts): none for a write that
 *    changed nothing a subscriber hears of, so a duplicate delivery publishes nothing;
 * 2. the events go out in PutEvents calls of at most 10 entries and 256 KB; entries EventBridge refuses (a
 *    failed entry, or a call that failed whole) are sent again, PUT_ATTEMPTS times in all with a doubling
 *    backoff;
 * 3. an entry still refused is kept whole in the events dead-letter queue (EventsDeadLetter: the PutEvents
 *    entry itself, ready to be put again), counted and alarmed on, and the batch goes on;
 * 4. only when that queue cannot be written either does the function report the first such record as a
 *    batch item failure: Lambda retries from it, so nothing is lost, at the price of events of the same
 *    batch after it being published twice (each event's `id` is the same every time: subscribers dedupe).
 *
 * EventBridge itself delivers at least once, so subscribers deduplicate on `detail.id` in any case.
 */

import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import {
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from "@aws-sdk/client-eventbridge";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import {
  type ChangeEvent,
  type EventsDeadLetter,
  eventEntry,
  eventsForChange,
} from "../shared/contract/events";
import { describeError, emit } from "../shared/telemetry";
import type { PublisherConfig } from "./config";

/** PutEvents takes at most 10 entries per call. */
export const MAX_ENTRIES_PER_CALL = 10;
/** ... and at most 256 KB of entries per call (and per entry), counted as `entrySize` counts. */
export const MAX_CALL_BYTES = 256 * 1024;
/** Calls per entry before it is dead-lettered: the first and three retries. */
export const PUT_ATTEMPTS = 4;
/** The wait before the first retry, doubled before each next one (100, 200, 400 ms: under a second). */
export const FIRST_RETRY_DELAY_MS = 100;
/** SendMessageBatch takes at most 10 messages per call. */
const MAX_MESSAGES_PER_CALL = 10;

type Send<C> = { send(command: C): Promise<unknown> };

export interface PublisherDeps {
  readonly eventBridge: { send(command: PutEventsCommand): Promise<unknown> };
  readonly sqs: Send<SendMessageBatchCommand>;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

interface Pending {
  readonly record: DynamoDBRecord;
  readonly event: ChangeEvent;
  readonly entry: PutEventsRequestEntry;
  readonly size: number;
}

interface Refused {
  readonly pending: Pending;
  readonly error: string;
}

/**
 * An entry's size as EventBridge counts it against the 256 KB limit: 14 bytes for a Time, the UTF-8 bytes
 * of Source, DetailType and Detail, and of each resource ARN.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
 */
export function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (value: string | undefined) => (value === undefined ? 0 : Buffer.byteLength(value, "utf8"));
  return (
    (entry.Time ? 14 : 0) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, arn) => sum + bytes(arn), 0)
  );
}

/** A stream image as the record it was: Lambda delivers AttributeValues in their JSON wire shape. */
function image(raw: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  return raw === undefined ? undefined : unmarshall(raw as Record<string, AttributeValue>);
}

/** The PutEvents entries of one batch, in stream order. */
export function pendingEntries(records: readonly DynamoDBRecord[], config: PublisherConfig): Pending[] {
  return records.flatMap((record) => {
    if (record.eventName !== "INSERT" && record.eventName !== "MODIFY") return [];
    const before = image(record.dynamodb?.OldImage);
    const after = image(record.dynamodb?.NewImage);
    return eventsForChange(before, after, config.bucketName).map((event) => {
      const entry: PutEventsRequestEntry = eventEntry(event, config);
      return { record, event, entry, size: entrySize(entry) };
    });
  });
}

/** Consecutive runs of at most 10 entries and 256 KB. */
export function calls(pending: readonly Pending[]): Pending[][] {
  const out: Pending[][] = [];
  let current: Pending[] = [];
  let bytes = 0;
  for (const item of pending) {
    if (
      current.length === MAX_ENTRIES_PER_CALL ||
      (current.length > 0 && bytes + item.size > MAX_CALL_BYTES)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Puts the entries, retrying the refused ones; what is still refused after PUT_ATTEMPTS calls comes back. */
async function putWithRetries(batch: readonly Pending[], deps: PublisherDeps): Promise<Refused[]> {
  const sleep = deps.sleep ?? wait;
  let refused: Refused[] = [];
  let pending = [...batch];
  for (let attempt = 1; attempt <= PUT_ATTEMPTS && pending.length > 0; attempt++) {
    if (attempt > 1) {
      emit({
        message: "events retried",
        metrics: { EventsRetried: { value: pending.length, unit: "Count" } },
      });
      await sleep(FIRST_RETRY_DELAY_MS * 2 ** (attempt - 2));
    }
    refused = [];
    try {
      const result = (await deps.eventBridge.send(
        new PutEventsCommand({ Entries: pending.map((item) => item.entry) }),
      )) as { Entries?: PutEventsResultEntry[] };
      const results = result.Entries ?? [];
      pending.forEach((item, index) => {
        const answer = results[index];
        // An entry with no answer, or an error code, was not put.
        if (answer === undefined || answer.ErrorCode !== undefined || answer.EventId === undefined) {
          refused.push({
            pending: item,
            error: answer?.ErrorCode
              ? `${answer.ErrorCode}: ${answer.ErrorMessage ?? "no message"}`
              : "no answer for the entry",
          });
        }
      });
    } catch (error) {
      // The whole call failed (throttled past the SDK's own retries, unreachable, denied): every entry again.
      refused = pending.map((item) => ({ pending: item, error: describeError(error) }));
    }
    pending = refused.map((entry) => entry.pending);
  }
  return refused;
}

function keysOf(record: DynamoDBRecord): { customer_id: string; order_id: string } {
  const keys = record.dynamodb?.Keys ?? {};
  return {
    customer_id: (keys.customer_id as { S?: string } | undefined)?.S ?? "",
    order_id: (keys.order_id as { S?: string } | undefined)?.S ?? "",
  };
}

export function deadLetterOf(refused: Refused, failedAt: Date): EventsDeadLetter {
  const { entry, record } = refused.pending;
  return {
    kind: "event",
    reason: `EventBridge refused the event ${PUT_ATTEMPTS} times; last: ${refused.error}`,
    failed_at: failedAt.toISOString(),
    attempts: PUT_ATTEMPTS,
    entry: {
      Source: entry.Source ?? "",
      DetailType: entry.DetailType ?? "",
      Detail: entry.Detail ?? "",
      EventBusName: entry.EventBusName ?? "",
      ...(entry.Time ? { Time: entry.Time.toISOString() } : {}),
    },
    record: {
      event_id: record.eventID ?? "",
      sequence_number: record.dynamodb?.SequenceNumber ?? "",
      ...keysOf(record),
    },
  };
}

/** Keeps refused events in the dead-letter queue; returns those it could not keep either. */
async function deadLetter(
  refused: readonly Refused[],
  config: PublisherConfig,
  deps: PublisherDeps,
): Promise<Refused[]> {
  const failedAt = new Date(deps.now?.() ?? Date.now());
  const lost: Refused[] = [];
  for (let start = 0; start < refused.length; start += MAX_MESSAGES_PER_CALL) {
    const chunk = refused.slice(start, start + MAX_MESSAGES_PER_CALL);
    try {
      const result = (await deps.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: config.deadLetterQueueUrl,
          Entries: chunk.map((item, index) => ({
            Id: String(index),
            MessageBody: JSON.stringify(deadLetterOf(item, failedAt)),
          })),
        }),
      )) as { Failed?: Array<{ Id?: string }> };
      const failed = new Set((result.Failed ?? []).map((entry) => entry.Id));
      chunk.forEach((item, index) => {
        if (failed.has(String(index))) lost.push(item);
      });
    } catch (error) {
      emit({
        level: "error",
        message: "events dead-letter queue unreachable",
        fields: { error: describeError(error) },
      });
      lost.push(...chunk);
    }
  }
  return lost;
}

function latencyMs(record: DynamoDBRecord, now: number): number | undefined {
  // Seconds since the epoch, as the stream gives it: the write's time to within a second.
  const created = record.dynamodb?.ApproximateCreationDateTime;
  return typeof created === "number" ? Math.max(0, now - created * 1000) : undefined;
}

export function createHandler(config: PublisherConfig, deps: PublisherDeps) {
  return async (event: DynamoDBStreamEvent, _context?: Context): Promise<DynamoDBBatchResponse> => {
    const records = event.Records ?? [];
    const pending = pendingEntries(records, config);
    let published = 0;
    let deadLettered = 0;
    for (const call of calls(pending)) {
      const refused = await putWithRetries(call, deps);
      const refusedSet = new Set(refused.map((item) => item.pending));
      const now = deps.now?.() ?? Date.now();
      for (const item of call) {
        if (refusedSet.has(item)) continue;
        published++;
        const latency = latencyMs(item.record, now);
        emit({
          message: "event published",
          dimensions: { DetailType: item.event.detailType },
          // Per detail type, and all of them (what the dashboard and the alarms read).
          dimensionSets: [["DetailType"], []],
          metrics: {
            EventsPublished: { value: 1, unit: "Count" },
            ...(latency === undefined ? {} : { EventLatency: { value: latency, unit: "Milliseconds" } }),
          },
          fields: {
            event_id: item.event.detail.id,
            customer_id: item.event.detail.customer_id,
            order_id: item.event.detail.order_id,
          },
        });
      }
      if (refused.length === 0) continue;
      const lost = await deadLetter(refused, config, deps);
      for (const item of refused) {
        if (lost.includes(item)) continue;
        deadLettered++;
        emit({
          level: "error",
          message: "event dead-lettered",
          dimensions: { DetailType: item.pending.event.detailType },
          dimensionSets: [[]],
          metrics: { EventsDeadLettered: { value: 1, unit: "Count" } },
          fields: {
            event_id: item.pending.event.detail.id,
            customer_id: item.pending.event.detail.customer_id,
            order_id: item.pending.event.detail.order_id,
            error: item.error,
          },
        });
      }
      if (lost.length > 0) {
        // Neither published nor kept: Lambda retries from the first such record (and what follows it).
        const first = lost
          .map((item) => records.indexOf(item.pending.record))
          .reduce((low, index) => Math.min(low, index), Number.POSITIVE_INFINITY);
        const sequenceNumber = records[first]?.dynamodb?.SequenceNumber ?? "";
        emit({
          level: "error",
          message: "events neither published nor dead-lettered: the batch is retried from the first",
          fields: { sequence_number: sequenceNumber, events: lost.length },
        });
        return { batchItemFailures: [{ itemIdentifier: sequenceNumber }] };
      }
    }
    emit({
      message: "stream batch published",
      fields: { records: records.length, events: pending.length, published, dead_lettered: deadLettered },
    });
    return { batchItemFailures: [] };
  };
}
