/** The worker's DynamoDB and S3 I/O: read the item, write objects, apply the updates updates.ts builds. */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { Upload } from "@aws-sdk/lib-storage";
import type { ItemKey, ItemUpdate } from "./updates";

export interface StoreOptions {
  readonly documents: DynamoDBDocumentClient;
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
    const result = await this.options.documents.send(
      new GetCommand({ TableName: this.options.tableName, Key: { ...key }, ConsistentRead: true }),
      { abortSignal: signal },
    );
    return result.Item;
  }

  /** Applies an update; a failed condition is an answer (`condition_failed`), not an error. */
  async update(update: ItemUpdate, signal?: AbortSignal): Promise<"written" | "condition_failed"> {
    try {
      await this.options.documents.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { ...update.key },
          UpdateExpression: update.updateExpression,
          ConditionExpression: update.conditionExpression,
          ExpressionAttributeNames: { ...update.names },
          ExpressionAttributeValues: { ...update.values },
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
