/** The worker's DynamoDB and S3 I/O: read the item, write objects, apply the updates updates.ts builds. */

import {
  type DynamoDBClient,
  GetItemCommand,
  TransactWriteItemsCommand,
  type Update,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { fromAttributeMap, toAttributeMap } from "../shared/attribute-values";
import type { ItemKey, ItemUpdate } from "./updates";
import type { UsageUpdate } from "./usage";

export interface StoreOptions {
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly tableName: string;
  readonly bucketName: string;
  /** Where usage counters go (USAGE_TABLE); without one (a stack deployed before it) nothing is counted. */
  readonly usageTableName?: string | undefined;
}

export interface ObjectWrite {
  readonly key: string;
  readonly body: Uint8Array | string;
  readonly contentType: string;
  readonly contentEncoding?: string;
}

/** Multipart parts of 8 MB, two in flight: at most about 16 MB of a streamed file is in memory. */
const UPLOAD_PART_SIZE = 8 * 1024 * 1024;
const UPLOAD_QUEUE_SIZE = 2;

/** An update's request fields, marshalled by the worker's codec (see attribute-values.ts). */
function updateInput(update: Omit<ItemUpdate, "key"> & { readonly key: object }): Omit<Update, "TableName"> {
  return {
    Key: toAttributeMap({ ...update.key }),
    UpdateExpression: update.updateExpression,
    ConditionExpression: update.conditionExpression,
    ExpressionAttributeNames: { ...update.names },
    ExpressionAttributeValues: toAttributeMap(update.values),
  };
}

export class Store {
  constructor(private readonly options: StoreOptions) {}

  /** A consistent read, so a delivery right after another sees its write. */
  async readItem(key: ItemKey, signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
    const result = await this.options.dynamodb.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: toAttributeMap({ ...key }),
        ConsistentRead: true,
      }),
      { abortSignal: signal },
    );
    return result.Item === undefined ? undefined : fromAttributeMap(result.Item);
  }

  /**
   * Applies an update; a failed condition is an answer (`condition_failed`), not an error. With `usage` (and
   * a usage table), the counter update goes in the same transaction: it is applied exactly when the
   * record's is, so a write whose condition fails counts nothing.
   */
  async update(
    update: ItemUpdate,
    signal?: AbortSignal,
    usage?: UsageUpdate,
  ): Promise<"written" | "condition_failed"> {
    const usageTableName = this.options.usageTableName;
    if (usage !== undefined && usageTableName !== undefined) {
      return this.transact(
        [
          { ...updateInput(update), TableName: this.options.tableName },
          { ...updateInput(usage), TableName: usageTableName },
        ],
        signal,
      );
    }
    try {
      // Marshalled here, not by the document client: its marshaller fails on a metadata map with a
      // `constructor` key and drops `__proto__` (see attribute-values.ts).
      await this.options.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: toAttributeMap({ ...update.key }),
          UpdateExpression: update.updateExpression,
          ConditionExpression: update.conditionExpression,
          ExpressionAttributeNames: { ...update.names },
          ExpressionAttributeValues: toAttributeMap(update.values),
        }),
        { abortSignal: signal },
      );
      return "written";
    } catch (error) {
      if (error instanceof Error && error.name === "ConditionalCheckFailedException")
        return "condition_failed";
      throw error;
    }
  }

  private async transact(updates: Update[], signal?: AbortSignal): Promise<"written" | "condition_failed"> {
    try {
      await this.options.dynamodb.send(
        new TransactWriteItemsCommand({ TransactItems: updates.map((each) => ({ Update: each })) }),
        { abortSignal: signal },
      );
      return "written";
    } catch (error) {
      // Only the record's update has a condition: its failure is the answer; anything else (a conflict with
      // another transaction, throttling) is retried like any failed write.
      if (error instanceof Error && error.name === "TransactionCanceledException") {
        const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
        const code =
          reasons?.[0]?.Code ??
          (/ConditionalCheckFailed/.test(error.message) ? "ConditionalCheckFailed" : undefined);
        if (code === "ConditionalCheckFailed") return "condition_failed";
      }
      throw error;
    }
  }

  /** An object's body as text (claim checks: a queue message the receiver wrote to the inbox). */
  async readText(key: string, signal?: AbortSignal): Promise<string> {
    const result = await this.options.s3.send(
      new GetObjectCommand({ Bucket: this.options.bucketName, Key: key }),
      { abortSignal: signal },
    );
    if (result.Body === undefined) throw new Error(`s3://${this.options.bucketName}/${key} has no body`);
    return result.Body.transformToString("utf8");
  }

  async putObject(object: ObjectWrite, signal?: AbortSignal): Promise<void> {
    await this.options.s3.send(
      new PutObjectCommand({
        Bucket: this.options.bucketName,
        Key: object.key,
        Body: object.body,
        ContentType: object.contentType,
        ContentEncoding: object.contentEncoding,
      }),
      { abortSignal: signal },
    );
  }

  /** Streams a body of unknown length into the bucket (multipart beyond one part), never buffering it whole. */
  async uploadStream(
    key: string,
    body: ReadableStream<Uint8Array>,
    contentType: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const upload = new Upload({
      client: this.options.s3,
      params: { Bucket: this.options.bucketName, Key: key, Body: body, ContentType: contentType },
      partSize: UPLOAD_PART_SIZE,
      queueSize: UPLOAD_QUEUE_SIZE,
    });
    const abort = () => void upload.abort();
    signal?.addEventListener("abort", abort, { once: true });
    try {
      await upload.done();
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }
}
