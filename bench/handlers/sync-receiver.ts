/**
 * The synchronous alternative, shaped like AssemblyAI's webhook sample: on the delivery, fetch the
 * transcript with the official SDK and store it before answering. No queue, so AssemblyAI waits for
 * the fetch and both writes. Compared with our receiver in bench/sections/sync.ts.
 */
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { AssemblyAI } from "assemblyai";
import type { APIGatewayProxyEventV2 } from "aws-lambda";

const client = new AssemblyAI({
  apiKey: process.env.ASSEMBLYAI_API_KEY ?? "",
  baseUrl: process.env.ASSEMBLYAI_BASE_URL ?? "https://api.assemblyai.com",
});
const s3 = new S3Client({ forcePathStyle: true });
const dynamodb = new DynamoDBClient({});
const secret = process.env.SYNC_WEBHOOK_SECRET ?? "";
const headerName = (process.env.AUTH_HEADER_NAME ?? "x-webhook-secret").toLowerCase();

export async function handler(event: APIGatewayProxyEventV2): Promise<{ statusCode: number; body: string }> {
  if (!secret || event.headers?.[headerName] !== secret) return { statusCode: 401, body: "{}" };
  const { transcript_id: transcriptId } = JSON.parse(event.body ?? "{}") as { transcript_id: string };
  const params = new URLSearchParams(event.rawQueryString ?? "");
  const customerId = params.get("customer_id") ?? "unknown";
  const orderId = params.get("order_id") ?? "unknown";
  const transcript = await client.transcripts.get(transcriptId);
  const key = `sync/${customerId}/${orderId}/${transcriptId}.json`;
  await s3.send(
    new PutObjectCommand({
      Bucket: process.env.BUCKET_NAME,
      Key: key,
      Body: JSON.stringify(transcript),
      ContentType: "application/json",
    }),
  );
  await dynamodb.send(
    new PutItemCommand({
      TableName: process.env.TABLE_NAME,
      Item: {
        customer_id: { S: customerId },
        order_id: { S: orderId },
        transcript_id: { S: transcriptId },
        status: { S: transcript.status },
        transcript_s3_key: { S: key },
        stored_at: { S: new Date().toISOString() },
      },
    }),
  );
  return { statusCode: 200, body: JSON.stringify({ status: "stored" }) };
}
