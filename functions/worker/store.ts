/** The worker's DynamoDB and S3 I/O: read the item, write objects, apply the updates updates.ts builds. */

import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { fromAttributeMap, toAttributeMap } from "../shared/attribute-values";
import type { ItemKey, ItemUpdate } from "./updates";

export interface StoreOptions {
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly tableName: string;
  readonly bucketName: string;
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

  /** Applies an update; a failed condition is an answer (`condition_failed`), not an error. */
  async update(update: ItemUpdate, signal?: AbortSignal): Promise<"written" | "condition_failed"> {
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
