/** Reading stored records: one by key, a customer's by Query (all pages), the full transcript from S3. */
import { gunzipSync } from "node:zlib";
import { type AttributeValue, GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, type GetObjectCommandOutput } from "@aws-sdk/client-s3";
import { fromAttributeMap, toAttributeMap } from "../functions/shared/attribute-values";
import { TABLE_PARTITION_KEY, TABLE_SORT_KEY } from "../functions/shared/contract/resources";
import { CliError } from "./output";
import type { StackTarget } from "./stack";

/** A stored item (README, "The stored record"); every attribute but the keys is optional. */
export type StoredRecord = Readonly<Record<string, unknown>> & {
  readonly customer_id: string;
  readonly order_id: string;
};

export async function getRecord(
  target: StackTarget,
  customerId: string,
  orderId: string,
): Promise<StoredRecord> {
  // Read with the low-level client and the worker's codec, so that metadata named __proto__ shows as stored.
  const result = await target.documents.send(
    new GetItemCommand({
      TableName: target.tableName,
      Key: toAttributeMap({ [TABLE_PARTITION_KEY]: customerId, [TABLE_SORT_KEY]: orderId }),
      ConsistentRead: true,
    }),
  );
  if (result.Item === undefined) throw new CliError(`no record for customer ${customerId} order ${orderId}`);
  return fromAttributeMap(result.Item) as StoredRecord;
}

/** A customer's records, page after page, up to `limit`. */
export async function listRecords(
  target: StackTarget,
  customerId: string,
  limit = Number.POSITIVE_INFINITY,
  onPage?: (count: number) => void,
): Promise<StoredRecord[]> {
  const records: StoredRecord[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await target.documents.send(
      new QueryCommand({
        TableName: target.tableName,
        KeyConditionExpression: "#customer = :customer",
        ExpressionAttributeNames: { "#customer": TABLE_PARTITION_KEY },
        ExpressionAttributeValues: { ":customer": { S: customerId } },
        ...(Number.isFinite(limit) ? { Limit: Math.min(1000, limit - records.length) } : {}),
        ExclusiveStartKey: start,
      }),
    );
    records.push(...(page.Items ?? []).map((item) => fromAttributeMap(item) as StoredRecord));
    onPage?.(records.length);
    start = page.LastEvaluatedKey;
  } while (start !== undefined && records.length < limit);
  return records.slice(0, limit);
}

/** The whole transcript JSON the worker archived (gzip) for a record. */
export async function fullTranscript(target: StackTarget, record: StoredRecord): Promise<unknown> {
  const key = record.transcript_s3_key;
  if (typeof key !== "string" || key.length === 0) {
    throw new CliError(
      `the record for customer ${record.customer_id} order ${record.order_id} has no stored transcript` +
        ` (status ${String(record.status ?? "unknown")})`,
    );
  }
  let object: GetObjectCommandOutput;
  try {
    object = await target.s3.send(new GetObjectCommand({ Bucket: target.bucketName, Key: key }));
  } catch (error) {
    if (error instanceof Error && error.name === "NoSuchKey") {
      throw new CliError(
        `the record names s3://${target.bucketName}/${key}, which does not exist (expired by a lifecycle rule?)`,
      );
    }
    throw error;
  }
  if (object.Body === undefined) throw new CliError(`s3://${target.bucketName}/${key} has no body`);
  const bytes = Buffer.from(await object.Body.transformToByteArray());
  // The worker stores gzip; a plain JSON object (hand-copied, or decoded by a proxy) is read as is.
  const json =
    bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
  return JSON.parse(json) as unknown;
}
