/**
 * `dlq list` and `dlq redrive`: what failed, and moving it back to the delivery queue once the cause is
 * fixed. On AWS redrive is SQS's own message move task; the local emulator lacks it (moto), so there, or
 * with `--copy`, the CLI receives from the DLQ, sends to the queue and deletes, batch by batch.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  DeleteMessageBatchCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { type Command, Option } from "commander";
import { parsePositiveInteger } from "../args";
import type { CommandContext } from "../context";
import { type DlqEntry, failureLogQuery, summarizeDlqMessage } from "../messages";
import { type Column, EXIT, type ExitCode, formatTable, type Progress } from "../output";
import { peekMessages, queueArn, queueDepth } from "../queues";
import type { StackTarget } from "../stack";
import type { Runner } from "./runner";

const DLQ_COLUMNS: readonly Column<DlqEntry>[] = [
  { header: "MESSAGE", value: (entry) => entry.message_id, maxWidth: 36 },
  { header: "KIND", value: (entry) => entry.kind },
  { header: "TRANSCRIPT", value: (entry) => entry.transcript_id, maxWidth: 40 },
  { header: "CUSTOMER", value: (entry) => entry.customer_id, maxWidth: 30 },
  { header: "ORDER", value: (entry) => entry.order_id, maxWidth: 30 },
  { header: "SOURCE", value: (entry) => entry.source },
  { header: "RECEIVED", value: (entry) => entry.received_at },
  { header: "RECEIVES", value: (entry) => entry.receive_count, align: "right" },
  { header: "PROBLEM", value: (entry) => entry.problem, maxWidth: 60 },
];

/** Where the reason for a failure is: the worker logs one line per attempt with `message_id` and `reason`. */
export function reasonHint(target: Pick<StackTarget, "mode">, entries: readonly DlqEntry[]): string {
  const ids = entries.filter((entry) => entry.problem === undefined).map((entry) => entry.message_id);
  const lines = [
    "PROBLEM is filled in only for messages the worker cannot read; for the others the reason is in the worker's",
    "log line for the message id (its last attempt has moving_to_dlq: true). RECEIVES counts the worker's",
    "attempts plus one for every look at the DLQ, this one included.",
  ];
  if (ids.length > 0) {
    lines.push(
      target.mode === "aws"
        ? `CloudWatch Logs Insights, on the worker's log group:\n  ${failureLogQuery(ids)}`
        : "Local stack: the worker's lines are in the npm start output (LOG_FORMAT=json: grep the message id).",
    );
  }
  lines.push("Fix the cause (often the API key: set-api-key), then: dlq redrive");
  return lines.join("\n");
}

async function list(context: CommandContext, max: number): Promise<void> {
  const target = await context.target();
  const depth = await queueDepth(target.sqs, target.dlqUrl);
  const messages = await peekMessages(target.sqs, target.dlqUrl, max);
  const entries = messages.map(summarizeDlqMessage);
  const waiting = depth.visible + depth.inFlight;
  context.out.result({ depth: waiting, shown: entries.length, messages: entries }, () => {
    if (entries.length === 0) return "the dead-letter queue is empty";
    const more = waiting > entries.length ? ` of about ${waiting} (--max shows more)` : "";
    return `${formatTable(DLQ_COLUMNS, entries)}\n\n${entries.length} message${entries.length === 1 ? "" : "s"}${more}\n\n${reasonHint(target, entries)}`;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Redrive

export interface RedriveResult {
  readonly method: "move-task" | "copy";
  readonly moved: number;
  readonly failed: number;
  readonly status: string;
  readonly task_handle?: string;
  readonly failure_reason?: string;
}

const TERMINAL_TASK_STATUSES = new Set(["COMPLETED", "CANCELLED", "FAILED"]);

async function moveTask(
  target: StackTarget,
  progress: Progress,
  options: { readonly wait: boolean; readonly maxPerSecond?: number; readonly pollMs: number },
): Promise<RedriveResult> {
  const [sourceArn, destinationArn] = await Promise.all([
    queueArn(target.sqs, target.dlqUrl),
    queueArn(target.sqs, target.queueUrl),
  ]);
  const started = await target.sqs.send(
    new StartMessageMoveTaskCommand({
      SourceArn: sourceArn,
      DestinationArn: destinationArn,
      ...(options.maxPerSecond ? { MaxNumberOfMessagesPerSecond: options.maxPerSecond } : {}),
    }),
  );
  const taskHandle = started.TaskHandle;
  if (!options.wait) {
    return {
      method: "move-task",
      moved: 0,
      failed: 0,
      status: "RUNNING",
      ...(taskHandle ? { task_handle: taskHandle } : {}),
    };
  }
  for (;;) {
    const { Results: tasks = [] } = await target.sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }),
    );
    const task = tasks.find((candidate) => candidate.TaskHandle === taskHandle) ?? tasks[0];
    const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
    const status = task?.Status ?? "UNKNOWN";
    progress.update(moved, task?.ApproximateNumberOfMessagesToMove, status.toLowerCase());
    if (task === undefined || TERMINAL_TASK_STATUSES.has(status)) {
      return {
        method: "move-task",
        moved,
        failed: 0,
        status,
        ...(taskHandle ? { task_handle: taskHandle } : {}),
        ...(task?.FailureReason ? { failure_reason: task.FailureReason } : {}),
      };
    }
    await sleep(options.pollMs);
  }
}

/** How long a message being copied stays hidden: one that fails to send is retried by a later redrive. */
const COPY_VISIBILITY_SECONDS = 60;

/** Receive, send, delete: each message is deleted from the DLQ only after the queue accepted it. */
export async function copyRedrive(
  sqs: SQSClient,
  from: string,
  to: string,
  progress: Progress,
  total: number,
): Promise<RedriveResult> {
  let moved = 0;
  let failed = 0;
  for (;;) {
    const { Messages: batch = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: from,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: COPY_VISIBILITY_SECONDS,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ["All"],
      }),
    );
    if (batch.length === 0) break;
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: to,
        Entries: batch.map((message, index) => ({
          Id: String(index),
          MessageBody: message.Body ?? "",
          ...(message.MessageAttributes && Object.keys(message.MessageAttributes).length > 0
            ? { MessageAttributes: message.MessageAttributes }
            : {}),
        })),
      }),
    );
    const accepted = (sent.Successful ?? []).map((entry) => batch[Number(entry.Id)]);
    failed += sent.Failed?.length ?? 0;
    const receipts = accepted.flatMap((message, index) =>
      message?.ReceiptHandle ? [{ Id: String(index), ReceiptHandle: message.ReceiptHandle }] : [],
    );
    if (receipts.length > 0) {
      const deleted = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: from, Entries: receipts }));
      // Sent but not deleted: it comes back to the DLQ's visible messages, and may be delivered twice
      // (the worker collapses duplicates).
      failed += deleted.Failed?.length ?? 0;
      moved += deleted.Successful?.length ?? 0;
    }
    progress.update(moved + failed, Math.max(total, moved + failed));
  }
  return { method: "copy", moved, failed, status: failed === 0 ? "COMPLETED" : "INCOMPLETE" };
}

interface RedriveOptions {
  readonly copy?: boolean;
  readonly wait: boolean;
  readonly maxPerSecond?: number;
}

async function redrive(context: CommandContext, options: RedriveOptions): Promise<ExitCode> {
  const target = await context.target();
  const depth = await queueDepth(target.sqs, target.dlqUrl);
  const waiting = depth.visible + depth.inFlight;
  if (waiting === 0) {
    const result: RedriveResult = { method: "copy", moved: 0, failed: 0, status: "EMPTY" };
    context.out.result(result, () => "the dead-letter queue is empty: nothing to redrive");
    return EXIT.ok;
  }
  const progress = context.out.progress("redriving", depth.visible);
  let result: RedriveResult;
  try {
    result =
      target.mode === "local" || options.copy
        ? await copyRedrive(target.sqs, target.dlqUrl, target.queueUrl, progress, depth.visible)
        : await moveTask(target, progress, {
            wait: options.wait,
            ...(options.maxPerSecond ? { maxPerSecond: options.maxPerSecond } : {}),
            pollMs: 2000,
          });
  } finally {
    progress.done();
  }
  context.out.result(result, () => {
    if (result.method === "move-task" && !options.wait) {
      return `message move task started (${result.task_handle ?? "no handle"}); follow it with: status`;
    }
    const lines = [
      `${result.moved} message${result.moved === 1 ? "" : "s"} moved back to the delivery queue (${result.status.toLowerCase()})`,
    ];
    if (result.failed > 0)
      lines.push(`${result.failed} could not be moved; they stay in the dead-letter queue`);
    if (result.failure_reason) lines.push(`reason: ${result.failure_reason}`);
    if (depth.inFlight > 0)
      lines.push(`${depth.inFlight} were in flight (being looked at) and were not moved`);
    return lines.join("\n");
  });
  if (result.status === "COMPLETED" || result.status === "RUNNING") return EXIT.ok;
  return result.moved > 0 ? EXIT.partial : EXIT.error;
}

export function registerDlq(program: Command, run: Runner): void {
  const dlq = program.command("dlq").description("the dead-letter queue: deliveries the worker gave up on");

  dlq
    .command("list")
    .description("show what is in the dead-letter queue (each message is looked at once, then released)")
    .option("--max <n>", "look at no more than n messages", parsePositiveInteger, 50)
    .action((options: { max: number }, command: Command) =>
      run(command, (context) => list(context, options.max)),
    );

  dlq
    .command("redrive")
    .description("move every dead-letter message back to the delivery queue, for the worker to try again")
    .option("--copy", "on AWS, copy message by message instead of starting an SQS message move task")
    .option("--no-wait", "on AWS, start the move task and return without following it")
    .addOption(
      new Option("--max-per-second <n>", "on AWS, cap the move task's rate").argParser(parsePositiveInteger),
    )
    .action((options: RedriveOptions, command: Command) =>
      run(command, (context) => redrive(context, options)),
    );
}
