/**
 * Runs a handler the way Lambda's SQS event source does: long-polls the queue, invokes the handler with SQS
 * batch events, deletes only the records that succeeded (partial batch responses), leaves failed ones to
 * come back after their visibility timeout, and lets the queue's own redrive move exhausted ones to the DLQ.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { WORKER_TIMEOUT_SECONDS } from "../functions/shared/contract/resources";
import { lambdaContext } from "./lambda-context";

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface PollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly handler: SqsHandler;
  readonly region: string;
  /** Records per invocation, as the event source's batch size. @default 10 */
  readonly batchSize?: number;
  /** Concurrent invocations, as the event source's maximum concurrency. @default 5 */
  readonly concurrency?: number;
  /** Long-poll wait; short so that shutdown is quick. @default 2 */
  readonly waitTimeSeconds?: number;
  readonly onError?: (error: unknown) => void;
}

export interface Poller {
  stop(): Promise<void>;
}

export async function startPoller(options: PollerOptions): Promise<Poller> {
  const attributes = await options.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: options.queueUrl, AttributeNames: ["QueueArn"] }),
  );
  const queueArn = attributes.Attributes?.QueueArn ?? options.queueUrl;
  const abort = new AbortController();
  const loops = Array.from({ length: options.concurrency ?? 5 }, () =>
    pollLoop(options, queueArn, abort.signal),
  );
  return {
    async stop() {
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}

async function pollLoop(options: PollerOptions, queueArn: string, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const received = await options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: options.batchSize ?? 10,
          WaitTimeSeconds: options.waitTimeSeconds ?? 2,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        }),
        { abortSignal: signal },
      );
      const messages = received.Messages ?? [];
      if (messages.length === 0) continue;
      await invoke(options, queueArn, messages);
    } catch (error) {
      if (signal.aborted) return;
      options.onError?.(error);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

async function invoke(options: PollerOptions, queueArn: string, messages: Message[]): Promise<void> {
  const records = messages.map((message) => toRecord(message, queueArn, options.region));
  let failed: Set<string>;
  try {
    const response = await options.handler(
      { Records: records },
      lambdaContext("local-worker", 512, WORKER_TIMEOUT_SECONDS * 1000),
    );
    failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
  } catch (error) {
    // A thrown handler fails the whole batch, as on Lambda: every record comes back.
    options.onError?.(error);
    return;
  }
  const succeeded = messages.filter((message) => !failed.has(message.MessageId ?? ""));
  if (succeeded.length === 0) return;
  await options.sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: options.queueUrl,
      Entries: succeeded.map((message, index) => ({
        Id: String(index),
        ReceiptHandle: message.ReceiptHandle,
      })),
    }),
  );
}

function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? "local",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}
