/**
 * `npm start`'s line per event: long-polls a queue that a rule on the local bus fills with every event the
 * stack publishes (local/resources.ts), prints one line for each (detail type, customer/order, transcript,
 * status, the event's id) and deletes it. The contract's `eventsQueueUrl` is a queue of its own, left for
 * tools and tests to read.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";

export interface EventPrinter {
  stop(): Promise<void>;
}

/** One line for an event as EventBridge delivers it to an SQS target. */
export function describeEvent(body: string): string {
  try {
    const event = JSON.parse(body) as { "detail-type"?: string; detail?: Record<string, unknown> };
    const detail = event.detail ?? {};
    const parts = [
      event["detail-type"] ?? "event",
      `${String(detail.customer_id ?? "?")}/${String(detail.order_id ?? "?")}`,
      ...(detail.transcript_id === undefined ? [] : [String(detail.transcript_id)]),
      ...(detail.status === undefined ? [] : [String(detail.status)]),
      ...(detail.reason === undefined ? [] : [`(${String(detail.reason).slice(0, 120)})`]),
      `id ${String(detail.id ?? "?")}`,
    ];
    return parts.join("  ");
  } catch {
    return `an event that is not JSON (${body.length} bytes)`;
  }
}

export function startEventPrinter(options: {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly print: (line: string) => void;
  readonly onError?: (error: unknown) => void;
}): EventPrinter {
  const abort = new AbortController();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        const received = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 2,
          }),
          { abortSignal: abort.signal },
        );
        const messages = received.Messages ?? [];
        if (messages.length === 0) continue;
        for (const message of messages) options.print(describeEvent(message.Body ?? ""));
        await options.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: messages.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
            })),
          }),
        );
      } catch (error) {
        if (abort.signal.aborted) return;
        options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  })();
  return {
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
