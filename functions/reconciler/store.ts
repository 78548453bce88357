/**
 * The reconciler's AWS I/O: what is stored for an order (DynamoDB), queuing a message (SQS), and the
 * checkpoint object (S3). `createReconcileDeps` joins them with an AssemblyAI client into the core's deps,
 * for the Lambda handler, the CLI and the local stack alike.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { Transcript, TranscriptList } from "assemblyai";
import { MAX_MESSAGE_BYTES, serializeDeliveryMessage } from "../shared/contract/delivery";
import {
  FETCH_RETRY_ATTRIBUTES,
  FETCH_RETRY_INDEX,
  FETCH_RETRY_WAITING,
  TABLE_PARTITION_KEY,
  TABLE_SORT_KEY,
  TIMES_ATTRIBUTES,
  TRANSCRIPT_ID_ATTRIBUTE,
  TRANSCRIPT_ID_INDEX,
  UNDECIDED_ATTRIBUTE,
} from "../shared/contract/resources";
import { storedTimes } from "../shared/contract/winner";
import { isRecord } from "../shared/values";
import type {
  FetchRetryAttempt,
  ListingCursor,
  ReconcileDeps,
  StoredTranscriptRef,
  UnreadTranscript,
  WaitingFetchFailure,
} from "./types";

export interface AssemblyAiReads {
  listTranscripts(query: Readonly<Record<string, string>>): Promise<TranscriptList>;
  getTranscript(id: string): Promise<Transcript>;
}

export interface ReconcileDepsOptions {
  readonly assemblyAi: AssemblyAiReads;
  readonly documents: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly tableName: string;
  readonly queueUrl: string;
}

export function createReconcileDeps(options: ReconcileDepsOptions): ReconcileDeps {
  const { documents, tableName } = options;
  return {
    listTranscripts: (query) => options.assemblyAi.listTranscripts(query),
    getTranscript: (id) => options.assemblyAi.getTranscript(id),

    // Consistent, so a delivery the worker stored a moment ago is seen.
    async storedTranscript(customerId, orderId): Promise<StoredTranscriptRef | undefined> {
      const result = await documents.send(
        new GetCommand({
          TableName: tableName,
          Key: { customer_id: customerId, order_id: orderId },
          ConsistentRead: true,
          ProjectionExpression: "#transcript_id, #status, #received_at, #created, #completed, #undecided",
          ExpressionAttributeNames: {
            "#transcript_id": "transcript_id",
            "#status": "status",
            "#received_at": "received_at",
            "#created": TIMES_ATTRIBUTES.created,
            "#completed": TIMES_ATTRIBUTES.completed,
            "#undecided": UNDECIDED_ATTRIBUTE,
          },
        }),
      );
      const item = result.Item;
      // An item may hold only redacted audio that arrived first: no transcript is stored yet.
      if (typeof item?.transcript_id !== "string") return undefined;
      const text = (value: unknown) => (typeof value === "string" ? value : undefined);
      return {
        transcriptId: item.transcript_id,
        status: text(item.status),
        receivedAt: text(item.received_at),
        times: storedTimes(item),
        undecided: text(item[UNDECIDED_ATTRIBUTE]),
      };
    },

    // The index is eventually consistent: a miss only means the transcript is read from AssemblyAI and the
    // record checked with a consistent read.
    async isTranscriptStored(transcriptId): Promise<boolean> {
      const result = await documents.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: TRANSCRIPT_ID_INDEX,
          KeyConditionExpression: "#transcript_id = :transcript_id",
          ExpressionAttributeNames: { "#transcript_id": TRANSCRIPT_ID_ATTRIBUTE },
          ExpressionAttributeValues: { ":transcript_id": transcriptId },
          Select: "COUNT",
          Limit: 1,
        }),
      );
      return (result.Count ?? 0) > 0;
    },

    // The sparse index holds only waiting records, oldest failure first; eventually consistent, which at worst
    // shows a record the worker has just stored (the worker then finds it a duplicate).
    async waitingFetchFailures(since, limit) {
      const records: WaitingFetchFailure[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await documents.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: FETCH_RETRY_INDEX,
            KeyConditionExpression: "#state = :waiting AND #since >= :since",
            ExpressionAttributeNames: {
              "#state": FETCH_RETRY_ATTRIBUTES.state,
              "#since": FETCH_RETRY_ATTRIBUTES.since,
            },
            ExpressionAttributeValues: { ":waiting": FETCH_RETRY_WAITING, ":since": since.toISOString() },
            Limit: Math.min(1_000, limit - records.length),
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) {
          const record = waitingRecord(item);
          if (record !== undefined) records.push(record);
        }
        start = page.LastEvaluatedKey;
      } while (start !== undefined && records.length < limit);
      return { records, complete: start === undefined };
    },

    async enqueue(message): Promise<void> {
      const body = serializeDeliveryMessage(message);
      if (!body.ok) {
        throw new Error(
          `the message for ${message.request_id} is ${body.bytes} bytes, over SQS's ${MAX_MESSAGE_BYTES}`,
        );
      }
      await options.sqs.send(new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: body.body }));
    },
  };
}

/** A waiting record as the index projects it; undefined when it lacks what a retry needs. */
function waitingRecord(item: Readonly<Record<string, unknown>>): WaitingFetchFailure | undefined {
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  const customerId = text(item[TABLE_PARTITION_KEY]);
  const orderId = text(item[TABLE_SORT_KEY]);
  const transcriptId = text(item[TRANSCRIPT_ID_ATTRIBUTE]);
  const failedAt = text(item[FETCH_RETRY_ATTRIBUTES.since]);
  if (customerId === undefined || orderId === undefined || transcriptId === undefined) return undefined;
  if (failedAt === undefined) return undefined;
  const status = item[FETCH_RETRY_ATTRIBUTES.status];
  return {
    customerId,
    orderId,
    transcriptId,
    failedAt,
    status: typeof status === "number" ? status : undefined,
    keyFingerprint: text(item[FETCH_RETRY_ATTRIBUTES.key]),
    region: text(item[FETCH_RETRY_ATTRIBUTES.region]),
    times: storedTimes(item),
  };
}

/**
 * Where the next run starts: `since` on AssemblyAI's `created`, `settledBefore` on its `completed`, and the
 * transcripts earlier runs could not read, to read again, and where a listing too long for one run got to.
 */
export interface Checkpoint {
  readonly since: Date;
  readonly settledBefore?: Date | undefined;
  readonly unread?: readonly UnreadTranscript[] | undefined;
  readonly listing?: ListingCursor | undefined;
  readonly fetchRetries?: readonly FetchRetryAttempt[] | undefined;
}

/**
 * Version 2 added `unread` and `listing`; version 1 objects (neither field) are still read. `fetch_retries`
 * came later within version 2: an older reader ignores it (the tries start over), and this one reads
 * objects without it.
 */
export const CHECKPOINT_VERSION = 2;
const READABLE_VERSIONS: readonly unknown[] = [1, CHECKPOINT_VERSION];

function instantField(value: unknown): Date | undefined {
  const date = typeof value === "string" ? new Date(value) : undefined;
  return date !== undefined && Number.isFinite(date.getTime()) ? date : undefined;
}

function unreadEntry(value: unknown): UnreadTranscript | undefined {
  if (!isRecord(value) || typeof value.transcript_id !== "string") return undefined;
  if (value.status !== "completed" && value.status !== "error") return undefined;
  if (typeof value.attempts !== "number" || !Number.isInteger(value.attempts) || value.attempts < 0) {
    return undefined;
  }
  const text = (field: unknown) => (typeof field === "string" ? field : undefined);
  return {
    transcriptId: value.transcript_id,
    status: value.status,
    created: text(value.created),
    completed: text(value.completed),
    attempts: value.attempts,
    lastError: text(value.last_error) ?? "",
  };
}

function fetchRetryEntry(value: unknown): FetchRetryAttempt | undefined {
  if (!isRecord(value) || typeof value.transcript_id !== "string") return undefined;
  const { attempts, last_attempt_at: lastAttemptAt, key_fingerprint: keyFingerprint } = value;
  if (typeof attempts !== "number" || !Number.isInteger(attempts) || attempts < 0) return undefined;
  if (instantField(lastAttemptAt) === undefined || typeof keyFingerprint !== "string") return undefined;
  return {
    transcriptId: value.transcript_id,
    attempts,
    lastAttemptAt: lastAttemptAt as string,
    keyFingerprint,
    ...(value.abandoned === true ? { abandoned: true } : {}),
  };
}

/** The checkpoint as stored, or a reason it cannot be used. */
export function parseCheckpoint(text: string): { checkpoint: Checkpoint } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problem: "the checkpoint is not JSON" };
  }
  if (!isRecord(parsed) || !READABLE_VERSIONS.includes(parsed.version)) {
    return { problem: `the checkpoint is not a version 1 or ${CHECKPOINT_VERSION} object` };
  }
  const since = instantField(parsed.since);
  if (since === undefined) return { problem: "the checkpoint's since is not an ISO-8601 instant" };
  let settledBefore: Date | undefined;
  if (parsed.settled_before !== undefined && parsed.settled_before !== null) {
    settledBefore = instantField(parsed.settled_before);
    if (settledBefore === undefined) {
      return { problem: "the checkpoint's settled_before is not an ISO-8601 instant" };
    }
  }
  let unread: UnreadTranscript[] | undefined;
  if (parsed.unread !== undefined && parsed.unread !== null) {
    const entries = Array.isArray(parsed.unread) ? parsed.unread.map(unreadEntry) : [undefined];
    if (entries.some((entry) => entry === undefined)) {
      return { problem: "the checkpoint's unread is not a list of transcripts" };
    }
    unread = entries as UnreadTranscript[];
  }
  const listing =
    parsed.listing === undefined || parsed.listing === null ? {} : listingCursor(parsed.listing);
  if (listing === undefined) return { problem: "the checkpoint's listing is not a listing cursor" };
  let fetchRetries: FetchRetryAttempt[] | undefined;
  if (parsed.fetch_retries !== undefined && parsed.fetch_retries !== null) {
    const entries = Array.isArray(parsed.fetch_retries)
      ? parsed.fetch_retries.map(fetchRetryEntry)
      : [undefined];
    if (entries.some((entry) => entry === undefined)) {
      return { problem: "the checkpoint's fetch_retries is not a list of tries" };
    }
    fetchRetries = entries as FetchRetryAttempt[];
  }
  return {
    checkpoint: {
      since,
      ...(settledBefore !== undefined ? { settledBefore } : {}),
      ...(unread !== undefined && unread.length > 0 ? { unread } : {}),
      ...(listing.resumeBefore !== undefined || listing.stopAt !== undefined ? { listing } : {}),
      ...(fetchRetries !== undefined && fetchRetries.length > 0 ? { fetchRetries } : {}),
    },
  };
}

function listingCursor(value: unknown): ListingCursor | undefined {
  if (!isRecord(value)) return undefined;
  const { resume_before_id: id, resume_before_created: created, stop_at_id: stopAt } = value;
  if (stopAt !== undefined && stopAt !== null && typeof stopAt !== "string") return undefined;
  const hasResume = id !== undefined && id !== null;
  if (hasResume && (typeof id !== "string" || instantField(created) === undefined)) return undefined;
  return {
    ...(hasResume ? { resumeBefore: { transcriptId: id as string, created: created as string } } : {}),
    ...(typeof stopAt === "string" ? { stopAt } : {}),
  };
}

export function serializeCheckpoint(checkpoint: Checkpoint, updatedAt: Date): string {
  return JSON.stringify({
    version: CHECKPOINT_VERSION,
    since: checkpoint.since.toISOString(),
    settled_before: checkpoint.settledBefore?.toISOString() ?? null,
    unread: (checkpoint.unread ?? []).map((entry) => ({
      transcript_id: entry.transcriptId,
      status: entry.status,
      created: entry.created ?? null,
      completed: entry.completed ?? null,
      attempts: entry.attempts,
      last_error: entry.lastError,
    })),
    listing:
      checkpoint.listing === undefined
        ? null
        : {
            resume_before_id: checkpoint.listing.resumeBefore?.transcriptId ?? null,
            resume_before_created: checkpoint.listing.resumeBefore?.created ?? null,
            stop_at_id: checkpoint.listing.stopAt ?? null,
          },
    fetch_retries: (checkpoint.fetchRetries ?? []).map((entry) => ({
      transcript_id: entry.transcriptId,
      attempts: entry.attempts,
      last_attempt_at: entry.lastAttemptAt,
      key_fingerprint: entry.keyFingerprint,
      ...(entry.abandoned ? { abandoned: true } : {}),
    })),
    updated_at: updatedAt.toISOString(),
  });
}

export class CheckpointStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucketName: string,
    private readonly key: string,
  ) {}

  /**
   * The stored text, or undefined when there is none yet. It lists the key before reading it: a GetObject of
   * a missing key answers 404 only to a caller with s3:ListBucket on the whole bucket (403 AccessDenied
   * otherwise, and the request carries no s3:prefix to scope that grant by), while a ListObjectsV2 with
   * Prefix = the key is allowed by a ListBucket grant limited to exactly that prefix. So the role never
   * needs to see the names of other objects (which carry customer ids).
   */
  async readText(): Promise<string | undefined> {
    const listed = await this.s3.send(
      new ListObjectsV2Command({ Bucket: this.bucketName, Prefix: this.key, MaxKeys: 1 }),
    );
    if (!listed.Contents?.some((object) => object.Key === this.key)) return undefined;
    try {
      const result = await this.s3.send(new GetObjectCommand({ Bucket: this.bucketName, Key: this.key }));
      return (await result.Body?.transformToString("utf-8")) ?? "";
    } catch (error) {
      // Deleted between the two calls (a real S3 would answer 403 here: the run fails and the next retries).
      if (error instanceof Error && (error.name === "NoSuchKey" || error.name === "NotFound"))
        return undefined;
      throw error;
    }
  }

  async write(checkpoint: Checkpoint, updatedAt: Date): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucketName,
        Key: this.key,
        Body: serializeCheckpoint(checkpoint, updatedAt),
        ContentType: "application/json",
      }),
    );
  }
}
