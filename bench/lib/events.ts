/** Lambda events and contexts as API Gateway (HTTP API, payload 2.0) and the SQS event source build them. */
import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, Context, SQSEvent } from "aws-lambda";
import { buildDeliveryMessage, serializeDeliveryMessage } from "../../functions/shared/contract/delivery";
import { DEFAULT_CONFIG } from "../../lib/config";

/** The header the bench signs webhooks with: the stack's default, which its functions are configured with. */
export const BENCH_AUTH_HEADER = DEFAULT_CONFIG.authHeaderName;

export function webhookEvent(options: {
  readonly secret: string;
  readonly transcriptId: string;
  readonly customerId: string;
  readonly orderId: string;
}): APIGatewayProxyEventV2 {
  const now = new Date();
  const body = JSON.stringify({ transcript_id: options.transcriptId, status: "completed" });
  const rawQueryString = `customer_id=${options.customerId}&order_id=${options.orderId}`;
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/webhook",
    rawQueryString,
    headers: {
      "content-type": "application/json",
      "content-length": String(body.length),
      host: "bench.execute-api.us-east-1.amazonaws.com",
      "user-agent": "AssemblyAI-Webhook",
      [BENCH_AUTH_HEADER.toLowerCase()]: options.secret,
    },
    queryStringParameters: { customer_id: options.customerId, order_id: options.orderId },
    requestContext: {
      accountId: "000000000000",
      apiId: "bench",
      domainName: "bench.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "bench",
      http: {
        method: "POST",
        path: "/webhook",
        protocol: "HTTP/1.1",
        sourceIp: "127.0.0.1",
        userAgent: "AssemblyAI-Webhook",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    body,
    isBase64Encoded: false,
  };
}

/** The queue message the receiver writes for a transcript delivery, built by the contract's one builder. */
export function deliveryMessageBody(options: {
  readonly transcriptId: string;
  readonly customerId: string;
  readonly orderId: string;
}): string {
  const { customerId, orderId, transcriptId } = options;
  const message = buildDeliveryMessage({
    source: "webhook",
    kind: "transcript",
    transcriptId,
    status: "completed",
    metadata: {
      customer_id: customerId,
      order_id: orderId,
      params: { customer_id: customerId, order_id: orderId },
    },
    receivedAt: new Date(),
    sourceIp: "127.0.0.1",
    requestId: randomUUID(),
    payload: { transcript_id: transcriptId, status: "completed" },
  });
  const body = serializeDeliveryMessage(message);
  if (!body.ok) throw new Error(`a bench message of ${body.bytes} bytes is over SQS's limit`);
  return body.body;
}

export function sqsEvent(bodies: readonly string[]): SQSEvent {
  const now = String(Date.now());
  return {
    Records: bodies.map((body) => ({
      messageId: randomUUID(),
      receiptHandle: randomUUID(),
      body,
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: now,
        SenderId: "bench",
        ApproximateFirstReceiveTimestamp: now,
      },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:bench",
      awsRegion: "us-east-1",
    })),
  };
}

export function lambdaContext(functionName: string, memoryMb: number, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "bench",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
