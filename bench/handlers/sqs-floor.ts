/**
 * The floor of the receiver's warm path: the same SQS SendMessage call with the same client settings as
 * functions/receiver/clients.ts, and none of our code around it (no auth, validation, logging).
 */
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { APIGatewayProxyEventV2 } from "aws-lambda";

const sqs = new SQSClient({
  maxAttempts: 3,
  requestHandler: new NodeHttpHandler({
    connectionTimeout: 300,
    requestTimeout: 500,
    throwOnRequestTimeout: true,
  }),
});
const queueUrl = process.env.QUEUE_URL ?? "";

export async function handler(event: APIGatewayProxyEventV2): Promise<{ statusCode: number; body: string }> {
  const result = await sqs.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: event.body ?? "" }),
  );
  return { statusCode: 200, body: JSON.stringify({ message_id: result.MessageId }) };
}
