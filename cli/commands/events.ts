/**
 * `events dlq` and `events redrive`: the events subscribers have not heard of, and putting them on the bus
 * again once EventBridge takes them. The events dead-letter queue holds two kinds of message:
 * - the publisher's own (`kind: "event"`, functions/publisher/publisher.ts): an event EventBridge refused
 *   after the publisher's retries, kept whole; `redrive` puts it again as it was (same detail, same `id`,
 *   so a subscriber that already had it drops it);
 * - the stream event source's pointers to a batch the publisher failed on after every retry
 *   (`DDBStreamBatchInfo`): they name stream records, not events, and the stream keeps records 24 hours.
 *   `redrive` leaves them where they are.
 *
 * `events republish C [O]` announces a customer's records (or one) again as they are now: the events their
 * current state makes, with the ids their first publication had (functions/shared/contract/events.ts), so
 * it is safe to run after a stream_batch pointer, or to tell a new subscriber what is already stored.
 */

import { PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import type { Command } from "commander";
import {
  DEFAULT_EVENT_SOURCE,
  eventEntry,
  eventsForChange,
  isEventsDeadLetter,
} from "../../functions/shared/contract/events";
import { parsePositiveInteger } from "../args";
import type { CommandContext } from "../context";
import { CliError, type Column, EXIT, type ExitCode, formatTable } from "../output";
import { peekMessages, queueDepth } from "../queues";
import { getRecord, listRecords } from "../records";
import type { StackTarget } from "../stack";
import type { Runner } from "./runner";

/** One message of the events dead-letter queue, as `events dlq` shows it. */
export interface EventsDlqEntry {
  readonly message_id: string;
  /** `event` (the publisher's), `stream_batch` (the event source's pointer), or `unreadable`. */
  readonly kind: "event" | "stream_batch" | "unreadable";
  readonly detail_type?: string;
  readonly customer_id?: string;
  readonly order_id?: string;
  readonly transcript_id?: string;
  /** The event's `detail.id`. */
  readonly event_id?: string;
  readonly failed_at?: string;
  readonly reason?: string;
  /** A pointer's stream records: `first…last (n records)`. */
  readonly stream_records?: string;
}

function parse(body: string | undefined): unknown {
  try {
    return JSON.parse(body ?? "");
  } catch {
    return undefined;
  }
}

/** `value[name]` when `value` is an object and that is a string: dead letters are read, not trusted. */
function text(value: unknown, name: string): string | undefined {
  const field =
    typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
  return typeof field === "string" ? field : undefined;
}

export function summarizeEventsDlqMessage(message: Message): EventsDlqEntry {
  const message_id = message.MessageId ?? "";
  const body = parse(message.Body);
  if (isEventsDeadLetter(body)) {
    const detail = parse(body.entry.Detail);
    return {
      message_id,
      kind: "event",
      detail_type: body.entry.DetailType,
      customer_id: text(detail, "customer_id"),
      order_id: text(detail, "order_id"),
      transcript_id: text(detail, "transcript_id"),
      event_id: text(detail, "id"),
      failed_at: text(body, "failed_at"),
      reason: text(body, "reason"),
    };
  }
  const batch = (body as { DDBStreamBatchInfo?: Record<string, unknown> } | undefined)?.DDBStreamBatchInfo;
  if (batch !== undefined) {
    const context = (body as { requestContext?: { condition?: string } }).requestContext;
    return {
      message_id,
      kind: "stream_batch",
      failed_at: text(body, "timestamp"),
      reason: `the publisher failed the batch after its retries (${context?.condition ?? "no condition"})`,
      stream_records: `${String(batch.startSequenceNumber)}…${String(batch.endSequenceNumber)} (${String(batch.batchSize)} records)`,
    };
  }
  return { message_id, kind: "unreadable", reason: "neither a dead-lettered event nor a stream batch" };
}

const COLUMNS: readonly Column<EventsDlqEntry>[] = [
  { header: "MESSAGE", value: (entry) => entry.message_id, maxWidth: 36 },
  { header: "KIND", value: (entry) => entry.kind },
  { header: "DETAIL TYPE", value: (entry) => entry.detail_type },
  { header: "CUSTOMER", value: (entry) => entry.customer_id, maxWidth: 30 },
  { header: "ORDER", value: (entry) => entry.order_id, maxWidth: 30 },
  { header: "TRANSCRIPT", value: (entry) => entry.transcript_id ?? entry.stream_records, maxWidth: 40 },
  { header: "FAILED", value: (entry) => entry.failed_at },
  { header: "REASON", value: (entry) => entry.reason, maxWidth: 60 },
];

function eventsDlqUrl(target: StackTarget): string {
  if (target.eventsDlqUrl === undefined) {
    throw new CliError(
      `${target.description} has no events dead-letter queue (deployed before events existed): deploy again`,
    );
  }
  return target.eventsDlqUrl;
}

async function list(context: CommandContext, max: number): Promise<void> {
  const target = await context.target();
  const queueUrl = eventsDlqUrl(target);
  const depth = await queueDepth(target.sqs, queueUrl);
  const entries = (await peekMessages(target.sqs, queueUrl, max)).map(summarizeEventsDlqMessage);
  const waiting = depth.visible + depth.inFlight;
  context.out.result({ depth: waiting, shown: entries.length, messages: entries }, () => {
    if (entries.length === 0) return "the events dead-letter queue is empty";
    const more = waiting > entries.length ? ` of about ${waiting} (--max shows more)` : "";
    const lines = [formatTable(COLUMNS, entries), "", `${entries.length} message(s)${more}`];
    if (entries.some((entry) => entry.kind === "event")) {
      lines.push("Events (kind event) go on the bus again with: events redrive");
    }
    if (entries.some((entry) => entry.kind === "stream_batch")) {
      lines.push(
        "A stream_batch is the publisher failing on stream records (its log has why): fix and deploy it; the " +
          'stream keeps records 24 hours. README, "Events", says how to announce the records again.',
      );
    }
    return lines.join("\n");
  });
}

export interface EventsRedriveResult {
  readonly published: number;
  /** Events EventBridge refused again: they stay in the queue. */
  readonly failed: number;
  /** Pointers and unreadable messages: left in the queue. */
  readonly skipped: number;
}

/** How long a message being redriven stays hidden: one that fails is seen by a later redrive, not this one. */
const REDRIVE_VISIBILITY_SECONDS = 60;

/** Receive, put, delete: a message is deleted only after EventBridge took its event. */
export async function redriveEvents(
  target: StackTarget,
  queueUrl: string,
  onProgress: (done: number) => void,
): Promise<EventsRedriveResult> {
  let published = 0;
  let failed = 0;
  let skipped = 0;
  for (;;) {
    const { Messages: batch = [] } = await target.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: REDRIVE_VISIBILITY_SECONDS,
        WaitTimeSeconds: 1,
      }),
    );
    if (batch.length === 0) break;
    const events: Array<{ message: Message; entry: PutEventsRequestEntry }> = [];
    const others: Message[] = [];
    for (const message of batch) {
      const body = parse(message.Body);
      if (!isEventsDeadLetter(body)) {
        others.push(message);
        continue;
      }
      const { Time, ...rest } = body.entry;
      events.push({ message, entry: { ...rest, ...(Time ? { Time: new Date(Time) } : {}) } });
    }
    skipped += others.length;
    // Seen, and not for this command: back at once for the next reader.
    if (others.length > 0) {
      await target.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: others.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
    if (events.length > 0) {
      const answer = await target.events.send(
        new PutEventsCommand({ Entries: events.map((event) => event.entry) }),
      );
      const taken = events.filter((_, index) => {
        const result = answer.Entries?.[index];
        return result?.EventId !== undefined && result.ErrorCode === undefined;
      });
      failed += events.length - taken.length;
      if (taken.length > 0) {
        const deleted = await target.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: taken.map((event, index) => ({
              Id: String(index),
              ReceiptHandle: event.message.ReceiptHandle,
            })),
          }),
        );
        // Put but not deleted: a later redrive puts it again (the same event id; subscribers dedupe).
        published += deleted.Successful?.length ?? 0;
        failed += deleted.Failed?.length ?? 0;
      }
    }
    onProgress(published + failed + skipped);
    // Only pointers left, and they are visible again: stop rather than see them forever.
    if (events.length === 0) break;
  }
  return { published, failed, skipped };
}

async function redrive(context: CommandContext): Promise<ExitCode> {
  const target = await context.target();
  const queueUrl = eventsDlqUrl(target);
  const depth = await queueDepth(target.sqs, queueUrl);
  if (depth.visible + depth.inFlight === 0) {
    const empty: EventsRedriveResult = { published: 0, failed: 0, skipped: 0 };
    context.out.result(empty, () => "the events dead-letter queue is empty: nothing to redrive");
    return EXIT.ok;
  }
  const progress = context.out.progress("redriving events", depth.visible);
  let result: EventsRedriveResult;
  try {
    result = await redriveEvents(target, queueUrl, (done) =>
      progress.update(done, Math.max(depth.visible, done)),
    );
  } finally {
    progress.done();
  }
  context.out.result(result, () =>
    [
      `${result.published} event(s) put on the bus again`,
      ...(result.failed > 0 ? [`${result.failed} refused again: they stay in the queue (events dlq)`] : []),
      ...(result.skipped > 0
        ? [
            `${result.skipped} stream batch pointer(s) or unreadable message(s) left in the queue (events dlq)`,
          ]
        : []),
    ].join("\n"),
  );
  return result.failed > 0 || result.skipped > 0 ? EXIT.partial : EXIT.ok;
}

export interface RepublishResult {
  readonly records: number;
  readonly published: number;
  readonly failed: number;
}

async function republish(
  context: CommandContext,
  customerId: string,
  orderId: string | undefined,
): Promise<ExitCode> {
  const target = await context.target();
  if (target.eventBusName === undefined) {
    throw new CliError(
      `${target.description} names no event bus (deployed before events existed): deploy again`,
    );
  }
  const where = {
    eventBusName: target.eventBusName,
    eventSource: target.eventSource ?? DEFAULT_EVENT_SOURCE,
  };
  const records =
    orderId === undefined
      ? await listRecords(target, customerId)
      : [await getRecord(target, customerId, orderId)];
  const entries = records.flatMap((record) =>
    // A StoredRecord is the record's image, read with the worker's codec.
    eventsForChange(undefined, record as unknown as Readonly<Record<string, unknown>>, target.bucketName).map(
      (event) => eventEntry(event, where),
    ),
  );
  const progress = context.out.progress("republishing", entries.length);
  let published = 0;
  let failed = 0;
  try {
    for (let start = 0; start < entries.length; start += 10) {
      const chunk = entries.slice(start, start + 10);
      const answer = await target.events.send(new PutEventsCommand({ Entries: chunk }));
      const refused = answer.FailedEntryCount ?? 0;
      failed += refused;
      published += chunk.length - refused;
      progress.update(published + failed, entries.length);
    }
  } finally {
    progress.done();
  }
  const result: RepublishResult = { records: records.length, published, failed };
  context.out.result(result, () =>
    [
      `${published} event(s) published for ${records.length} record(s) of ${customerId}${orderId ? `/${orderId}` : ""}`,
      ...(failed > 0 ? [`${failed} refused by EventBridge: run the command again`] : []),
    ].join("\n"),
  );
  return failed > 0 ? (published > 0 ? EXIT.partial : EXIT.error) : EXIT.ok;
}

export function registerEvents(program: Command, run: Runner): void {
  const events = program
    .command("events")
    .description("the events dead-letter queue: events subscribers have not heard of");

  events
    .command("dlq")
    .description(
      "show what is in the events dead-letter queue (each message is looked at once, then released)",
    )
    .option("--max <n>", "look at no more than n messages", parsePositiveInteger, 50)
    .action((options: { max: number }, command: Command) =>
      run(command, (context) => list(context, options.max)),
    );

  events
    .command("redrive")
    .description("put every dead-lettered event on the bus again, as it was (same detail and id)")
    .action((_options: unknown, command: Command) => run(command, (context) => redrive(context)));

  events
    .command("republish <customer_id> [order_id]")
    .description(
      "announce a customer's records (or one) again as they are now: the same events, with the same ids, as their first publication",
    )
    .action((customerId: string, orderId: string | undefined, _options: unknown, command: Command) =>
      run(command, (context) => republish(context, customerId, orderId)),
    );
}
