/** SQS reads the commands share: depth, ARN, and a non-destructive look at messages. */
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";

export interface QueueDepth {
  /** Waiting to be received. */
  readonly visible: number;
  /** Received and being worked on (or backing off), not yet deleted. */
  readonly inFlight: number;
  readonly delayed: number;
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes: attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  return {
    visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

export async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes: attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  const arn = attributes?.QueueArn;
  if (!arn) throw new Error(`SQS returned no ARN for ${queueUrl}`);
  return arn;
}

/** How long looked-at messages stay hidden while the rest are read; they are released right after. */
const PEEK_VISIBILITY_SECONDS = 30;

/**
 * Up to `max` messages, each received once and then made visible again at once. SQS has no true peek: every
 * receive counts in ApproximateReceiveCount, which is why this is used on the dead-letter queue only (it has
 * no redrive policy of its own, so the count changes nothing there).
 */
export async function peekMessages(sqs: SQSClient, queueUrl: string, max: number): Promise<Message[]> {
  const messages: Message[] = [];
  try {
    while (messages.length < max) {
      const { Messages: batch = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, max - messages.length),
          VisibilityTimeout: PEEK_VISIBILITY_SECONDS,
          // Long polling asks every SQS server, so a small queue is not reported empty by chance.
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        }),
      );
      if (batch.length === 0) break;
      messages.push(...batch);
    }
  } finally {
    await releaseMessages(sqs, queueUrl, messages);
  }
  return messages;
}

async function releaseMessages(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly Message[],
): Promise<void> {
  for (let start = 0; start < messages.length; start += 10) {
    const entries = messages
      .slice(start, start + 10)
      .filter((message) => message.ReceiptHandle !== undefined)
      .map((message, index) => ({
        Id: String(index),
        ReceiptHandle: message.ReceiptHandle as string,
        VisibilityTimeout: 0,
      }));
    if (entries.length > 0) {
      await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    }
  }
}
