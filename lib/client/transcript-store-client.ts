/**
 * A typed read client for what the pipeline stored: one record by customer/order, a customer's records page
 * by page, the records holding a transcript id, and the full transcript JSON from the bucket. Runtime code
 * for the package's consumers and the CLI: it takes its AWS clients from the caller and imports no CDK.
 *
 * Records are read with the low-level client and the worker's own codec (functions/shared/attribute-values.ts),
 * never the document client, whose unmarshaller drops a metadata key named `__proto__`.
 */
import { gunzipSync } from "node:zlib";
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
} from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from "@aws-sdk/client-s3";
import type { Transcript, TurnEvent } from "assemblyai";
import { fromAttributeMap, toAttributeMap } from "../../functions/shared/attribute-values";
import type { DeliverySource, ParamValue } from "../../functions/shared/contract/delivery";
import {
  ERASED_ATTRIBUTE,
  type FETCH_RETRY_WAITING,
  TABLE_PARTITION_KEY,
  TABLE_SORT_KEY,
  TRANSCRIPT_ID_ATTRIBUTE,
  TRANSCRIPT_ID_INDEX,
} from "../../functions/shared/contract/resources";
import { cursorFromKey, decodeCursor, encodeCursor } from "./cursor";

// What a subscriber to the receiver's events gets (README, "Events"): their detail types and details.
export {
  DEFAULT_EVENT_SOURCE,
  DETAIL_TYPES,
  type DetailType,
  EVENT_SCHEMA_VERSION,
  type EventDetail,
  type RedactedAudioStoredDetail,
  type TranscriptFailedDetail,
  type TranscriptStoredDetail,
} from "../../functions/shared/contract/events";
export { InvalidCursorError } from "./cursor";

/** The record's `kind` for a streaming session (functions/worker/updates.ts); a transcript's has none. */
export const STREAMING_SESSION_KIND = "streaming_session";

/** `completed` and `error` are AssemblyAI's; `fetch_failed`: it answered 4xx for the transcript. */
export type RecordStatus = "completed" | "error" | "fetch_failed";

/**
 * One stored item (README, "The stored record"; written by functions/worker/updates.ts). Every attribute but
 * the keys is optional: a record holding only redacted audio has no transcript fields, a `fetch_failed` one
 * no text, a streaming session's no `audio_duration`.
 */
export interface StoredRecord {
  readonly customer_id: string;
  readonly order_id: string;
  /** The stored transcript's id; for a streaming session, its `session_id`. */
  readonly transcript_id?: string;
  readonly status?: RecordStatus;
  readonly kind?: typeof STREAMING_SESSION_KIND;
  /** A streaming session's only: its id, the words of its kept turns, its latest word end in ms. */
  readonly session_id?: string;
  readonly word_count?: number;
  readonly duration_ms?: number;
  /** The text inline while small; else `text_s3_key` names a `.txt` in the bucket. */
  readonly text?: string;
  readonly text_s3_key?: string;
  /** AssemblyAI's message for `error`, the reason for `fetch_failed`. */
  readonly error?: string;
  readonly audio_duration?: number;
  readonly language_code?: string;
  readonly confidence?: number;
  /** Every query parameter of the webhook URL, any name (`__proto__` included); a repeated one as a list. */
  readonly metadata?: Readonly<Record<string, ParamValue>>;
  readonly received_at?: string;
  readonly stored_at?: string;
  /** AssemblyAI's times for the stored transcript, when they were needed to order two. */
  readonly transcript_created?: string;
  readonly transcript_completed?: string;
  /** The full JSON, gzipped: what getFullTranscript reads. */
  readonly transcript_s3_key?: string;
  readonly redacted_audio_s3_key?: string;
  readonly redacted_audio_stored_at?: string;
  readonly redacted_audio_transcript_id?: string;
  readonly redacted_audio_error?: string;
  readonly source?: DeliverySource;
  readonly request_id?: string;
  /** Only while the transcript won by arrival order: the other one. */
  readonly undecided_transcript_id?: string;
  /** Only on a `fetch_failed` record waiting for the reconciler to queue it again. */
  readonly fetch_retry_state?: typeof FETCH_RETRY_WAITING;
  readonly fetch_retry_since?: string;
  readonly fetch_retry_status?: number;
  readonly fetch_retry_key?: string;
  readonly fetch_retry_region?: string;
}

/** A message of a streaming session other than a final Turn, or one this client has not checked. */
export interface StreamingSessionMessage {
  readonly type?: unknown;
  readonly [field: string]: unknown;
}

/**
 * A streaming session's body as AssemblyAI posted it (README, "Streaming sessions"): kept whole and unchecked
 * beyond its `session_id` and `messages` list, so its messages are the SDK's TurnEvent or anything else;
 * narrow them with isTurnEvent.
 */
export interface StreamingSessionBody {
  readonly session_id: string;
  readonly messages: readonly (TurnEvent | StreamingSessionMessage)[];
  readonly [field: string]: unknown;
}

/** What a record's `transcript_s3_key` holds: a pre-recorded transcript, or a streaming session's body. */
export type FullTranscript =
  | { readonly kind: "transcript"; readonly record: StoredRecord; readonly transcript: Transcript }
  | {
      readonly kind: typeof STREAMING_SESSION_KIND;
      readonly record: StoredRecord;
      readonly session: StreamingSessionBody;
    };

export function isTurnEvent(message: TurnEvent | StreamingSessionMessage): message is TurnEvent {
  return (
    message.type === "Turn" &&
    typeof message.turn_order === "number" &&
    typeof message.transcript === "string" &&
    Array.isArray(message.words)
  );
}

export interface ListOptions {
  /** Records per page, 1 to 1000. @default 100 */
  readonly limit?: number;
  /** The previous page's `nextCursor`; absent for the first page. */
  readonly cursor?: string;
  /** A strongly consistent Query (twice the read cost). @default false */
  readonly consistentRead?: boolean;
}

export interface RecordPage {
  /** In `order_id` order. */
  readonly records: readonly StoredRecord[];
  /** Absent on the last page: there is nothing after it. */
  readonly nextCursor?: string;
}

export interface TranscriptStoreClientProps {
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  /** The stack's `TableName` output. */
  readonly tableName: string;
  /** The stack's `BucketName` output. */
  readonly bucketName: string;
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** Why getFullTranscript has no transcript to give. */
export type NotStoredReason =
  /** No record for the customer/order. */
  | "no_record"
  /** The record names no transcript object (`fetch_failed`, or only redacted audio so far): see `status`. */
  | "no_transcript"
  /** The record names an object the bucket no longer has (a lifecycle rule expired it?). */
  | "object_missing"
  /** The object is there but is not the JSON the worker writes. */
  | "unreadable";

export class TranscriptNotStoredError extends Error {
  override readonly name = "TranscriptNotStoredError";
  constructor(
    message: string,
    readonly reason: NotStoredReason,
    readonly customerId: string,
    readonly orderId: string,
    /** The record's status, when there is a record. */
    readonly status?: string,
    /** The object's key, when the record names one. */
    readonly key?: string,
  ) {
    super(message);
  }
}

function requireId(name: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new RangeError(`${name} must be a non-empty string`);
  }
  return value;
}

/** An erased order's item (contract/resources.ts, ERASED_ATTRIBUTE): no record to read. */
function isTombstone(item: Readonly<Record<string, AttributeValue>>): boolean {
  return item[ERASED_ATTRIBUTE] !== undefined;
}

export class TranscriptStoreClient {
  private readonly dynamodb: DynamoDBClient;
  private readonly s3: S3Client;
  readonly tableName: string;
  readonly bucketName: string;

  constructor(props: TranscriptStoreClientProps) {
    this.dynamodb = props.dynamodb;
    this.s3 = props.s3;
    this.tableName = requireId("tableName", props.tableName);
    this.bucketName = requireId("bucketName", props.bucketName);
  }

  /**
   * The record of one customer/order (a strongly consistent read), or undefined when there is none (an
   * erased order's tombstone is none).
   */
  async get(customerId: string, orderId: string): Promise<StoredRecord | undefined> {
    const result = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: toAttributeMap({
          [TABLE_PARTITION_KEY]: requireId("customerId", customerId),
          [TABLE_SORT_KEY]: requireId("orderId", orderId),
        }),
        ConsistentRead: true,
      }),
    );
    return result.Item === undefined || isTombstone(result.Item) ? undefined : asRecord(result.Item);
  }

  /**
   * One page of a customer's records in `order_id` order. It asks DynamoDB for one record more than `limit`,
   * so that `nextCursor` is absent exactly on the last page (DynamoDB's own LastEvaluatedKey may name a last
   * page that turns out empty). Erased orders' tombstones are left out, so a page may hold fewer.
   */
  async listByCustomer(customerId: string, options: ListOptions = {}): Promise<RecordPage> {
    requireId("customerId", customerId);
    const limit = options.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new RangeError(`limit must be a whole number from 1 to ${MAX_PAGE_SIZE}, not ${limit}`);
    }
    const start = options.cursor === undefined ? undefined : decodeCursor(options.cursor, customerId);
    const page = await this.dynamodb.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "#customer = :customer",
        ExpressionAttributeNames: { "#customer": TABLE_PARTITION_KEY },
        ExpressionAttributeValues: { ":customer": { S: customerId } },
        Limit: limit + 1,
        ConsistentRead: options.consistentRead === true,
        ExclusiveStartKey: start,
      }),
    );
    const items = page.Items ?? [];
    const read = items.slice(0, limit);
    const records = read.filter((item) => !isTombstone(item)).map(asRecord);
    const last = read.at(-1);
    if (items.length > limit && last !== undefined) {
      const position = fromAttributeMap(last);
      return {
        records,
        nextCursor: encodeCursor(String(position[TABLE_PARTITION_KEY]), String(position[TABLE_SORT_KEY])),
      };
    }
    // Fewer than asked: the end, unless DynamoDB stopped at its 1 MB page size (then it says where).
    return page.LastEvaluatedKey === undefined
      ? { records }
      : { records, nextCursor: cursorFromKey(page.LastEvaluatedKey) };
  }

  /**
   * The records holding a transcript (or streaming session) id: normally one, more when the same transcript
   * was replayed under another order. Found through the `by-transcript-id` index, which DynamoDB updates
   * asynchronously (a record stored a moment ago may not be listed yet); each hit is then read whole, and
   * kept only if it still holds that transcript.
   */
  async findByTranscriptId(transcriptId: string): Promise<StoredRecord[]> {
    requireId("transcriptId", transcriptId);
    const keys: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamodb.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: TRANSCRIPT_ID_INDEX,
          KeyConditionExpression: "#transcript = :transcript",
          ExpressionAttributeNames: {
            "#transcript": TRANSCRIPT_ID_ATTRIBUTE,
            "#customer": TABLE_PARTITION_KEY,
            "#order": TABLE_SORT_KEY,
          },
          ExpressionAttributeValues: { ":transcript": { S: transcriptId } },
          ProjectionExpression: "#customer, #order",
          ExclusiveStartKey: start,
        }),
      );
      keys.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    const records: StoredRecord[] = [];
    for (const key of keys) {
      const { customer_id: customerId, order_id: orderId } = fromAttributeMap(key);
      if (typeof customerId !== "string" || typeof orderId !== "string") continue;
      const record = await this.get(customerId, orderId);
      if (record?.transcript_id === transcriptId) records.push(record);
    }
    return records;
  }

  /**
   * The full JSON the worker archived for a record: a transcript as AssemblyAI's API returned it (typed with
   * the SDK's Transcript), or a streaming session's body. Throws TranscriptNotStoredError, naming why, when
   * there is none to read.
   */
  async getFullTranscript(customerId: string, orderId: string): Promise<FullTranscript> {
    const record = await this.get(customerId, orderId);
    const where = `the record for customer ${customerId} order ${orderId}`;
    if (record === undefined) {
      throw new TranscriptNotStoredError(
        `no record for customer ${customerId} order ${orderId}`,
        "no_record",
        customerId,
        orderId,
      );
    }
    const status = record.status;
    const key = record.transcript_s3_key;
    if (typeof key !== "string" || key.length === 0) {
      throw new TranscriptNotStoredError(
        `${where} has no stored transcript (status ${status ?? "unknown"})`,
        "no_transcript",
        customerId,
        orderId,
        status,
      );
    }
    const fail = (message: string, reason: NotStoredReason) =>
      new TranscriptNotStoredError(message, reason, customerId, orderId, status, key);
    const location = `s3://${this.bucketName}/${key}`;
    let object: GetObjectCommandOutput;
    try {
      object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucketName, Key: key }));
    } catch (error) {
      if (error instanceof Error && error.name === "NoSuchKey") {
        throw fail(
          `${where} names ${location}, which does not exist (expired by a lifecycle rule?)`,
          "object_missing",
        );
      }
      throw error;
    }
    if (object.Body === undefined) throw fail(`${location} has no body`, "unreadable");
    const body = parseStoredJson(Buffer.from(await object.Body.transformToByteArray()));
    if (record.kind === STREAMING_SESSION_KIND) {
      if (
        !isObject(body) ||
        typeof body.session_id !== "string" ||
        !Array.isArray(body.messages) ||
        !body.messages.every(isObject)
      ) {
        throw fail(`${location} is not a streaming session's body`, "unreadable");
      }
      return { kind: STREAMING_SESSION_KIND, record, session: body as StreamingSessionBody };
    }
    if (!isObject(body) || typeof body.id !== "string") {
      throw fail(`${location} is not an AssemblyAI transcript`, "unreadable");
    }
    return { kind: "transcript", record, transcript: body as unknown as Transcript };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An item as the worker wrote it: its codec keeps every map key, `__proto__` and `constructor` included. */
function asRecord(item: Record<string, AttributeValue>): StoredRecord {
  return fromAttributeMap(item) as unknown as StoredRecord;
}

/**
 * The worker stores gzip; plain JSON (hand-copied, or decoded by a proxy) is read as is. Undefined when it is
 * not JSON at all.
 */
function parseStoredJson(bytes: Buffer): unknown {
  try {
    const text =
      bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
