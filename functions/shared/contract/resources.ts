/**
 * The resources' names and shapes, in one place: the CDK constructs build from it, the local stack creates
 * its emulated queue, table and bucket from it, and the functions read and write by it. Plain data only.
 */

/** Deliveries a record may be received before SQS moves it to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 8;

/** Lambda's guidance: a queue's visibility timeout of at least six times the consuming function's timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

export const WORKER_TIMEOUT_SECONDS = 60;
/** Above the receiver's 8 s worst case (functions/receiver/config.ts), so its answer is always its own. */
export const RECEIVER_TIMEOUT_SECONDS = 10;
/** The reconciler's timeout: long enough for a full budget of calls, well inside a 15-minute schedule. */
export const RECONCILER_TIMEOUT_SECONDS = 300;
/** The events publisher's: a batch of 100 stream records is at most 20 PutEvents calls with their retries. */
export const PUBLISHER_TIMEOUT_SECONDS = 30;

export const QUEUE_VISIBILITY_TIMEOUT_SECONDS = WORKER_TIMEOUT_SECONDS * VISIBILITY_TIMEOUT_FACTOR;

/** 14 days, SQS's maximum: the time operators have to look at a failed delivery. */
export const DLQ_RETENTION_SECONDS = 14 * 24 * 60 * 60;

/** 4 days on the main queue (SQS default) leaves room for long AssemblyAI outages under backoff. */
export const QUEUE_RETENTION_SECONDS = 4 * 24 * 60 * 60;

/** The one route AssemblyAI posts deliveries to. */
export const WEBHOOK_PATH = "/webhook";

/** The delivery queue as SQS sees it: lib/delivery-queue.ts and local/resources.ts build it from this. */
export const DELIVERY_QUEUE = {
  visibilityTimeoutSeconds: QUEUE_VISIBILITY_TIMEOUT_SECONDS,
  retentionSeconds: QUEUE_RETENTION_SECONDS,
  /** Its redrive policy: receives before a delivery moves to the dead-letter queue. */
  maxReceiveCount: MAX_RECEIVE_COUNT,
} as const;

export const DEAD_LETTER_QUEUE = { retentionSeconds: DLQ_RETENTION_SECONDS } as const;

/**
 * The record table's stream and how the events publisher (functions/publisher) reads it, as Lambda's event
 * source mapping does on AWS (lib/event-publishing.ts) and local/stream-poller.ts does locally: both images,
 * so that a change is told from a write that changed nothing; from the oldest record, so that nothing
 * committed before the publisher first ran is missed; only inserts and modifications (a deletion, by the time
 * to live or an erasure, announces nothing); partial batch responses; failed batches halved to find the
 * record that fails, and after the retries a pointer to it sent to EVENTS_DEAD_LETTER_QUEUE.
 */
export const EVENT_STREAM = {
  viewType: "NEW_AND_OLD_IMAGES",
  startingPosition: "TRIM_HORIZON",
  batchSize: 100,
  retryAttempts: 10,
  bisectBatchOnError: true,
  /** Lambda's filter criteria pattern: records that do not match are skipped, never invoked. */
  filterPattern: { eventName: ["INSERT", "MODIFY"] },
} as const;

/**
 * The events dead-letter queue: events EventBridge still refused after the publisher's retries, kept whole
 * (EventsDeadLetter in ./events.ts), and the stream's own pointers to batches the
 * publisher failed on after every retry. 14 days, as the delivery DLQ.
 */
export const EVENTS_DEAD_LETTER_QUEUE = { retentionSeconds: DLQ_RETENTION_SECONDS } as const;

export const TABLE_PARTITION_KEY = "customer_id";
export const TABLE_SORT_KEY = "order_id";
export const TRANSCRIPT_ID_INDEX = "by-transcript-id";
export const TRANSCRIPT_ID_ATTRIBUTE = "transcript_id";
/** AssemblyAI's times for the stored transcript, as the record keeps them (see winner.ts). */
export const TIMES_ATTRIBUTES = { created: "transcript_created", completed: "transcript_completed" } as const;

/**
 * On a record whose transcript won only by arrival order (AssemblyAI's list could not order the two, see
 * winner.ts): the other transcript's id. The reconciler, listing that transcript later, queues it again with
 * the list's times, so that the order is decided by AssemblyAI's times once its list can place both (a
 * transcript just finished may not be listed yet). Any later transcript write removes it.
 */
export const UNDECIDED_ATTRIBUTE = "undecided_transcript_id";
/** Attributes the transcript_id index carries besides the keys: enough to answer "where is it, is it done". */
export const TRANSCRIPT_ID_INDEX_ATTRIBUTES: readonly string[] = ["status", "stored_at", "received_at"];

/**
 * A `fetch_failed` record that a later read may fix (AssemblyAI answered 401/403: our API key; or 404) carries
 * these attributes while it waits for the reconciler to queue it again; every later write of the record's
 * transcript fields removes them. Only waiting records have `state`, so the index on it is sparse: it holds
 * exactly the records to retry, and a Query of it reads nothing else.
 */
export const FETCH_RETRY_INDEX = "by-fetch-retry";
export const FETCH_RETRY_ATTRIBUTES = {
  /** FETCH_RETRY_WAITING while it waits (the index's partition key); absent otherwise. */
  state: "fetch_retry_state",
  /** When the fetch failed (ISO-8601, the worker's clock): the index's sort key. */
  since: "fetch_retry_since",
  /** AssemblyAI's HTTP status: 401, 403 or 404. */
  status: "fetch_retry_status",
  /** The fingerprint of the API key the fetch was made with (shared/secrets.ts), never the key. */
  key: "fetch_retry_key",
  /** The AssemblyAI region whose answer it was (`us`, `eu`): only that region's reconciler run retries it. */
  region: "fetch_retry_region",
} as const;
/**
 * The one partition key value: the index stays small (records wait for hours, a bounded number of times),
 * so one partition holds it and a Query on it lists every waiting record oldest first.
 */
export const FETCH_RETRY_WAITING = "waiting";
/** AssemblyAI's answers to a transcript fetch that a new API key, or a later read, may turn into a result. */
export const FETCH_RETRY_STATUSES: ReadonlySet<number> = new Set([401, 403, 404]);

/** A key attribute, typed as DynamoDB spells it (S: string). */
export interface KeyAttribute {
  readonly name: string;
  readonly type: "S" | "N" | "B";
}

export interface IndexShape {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly projection: { readonly type: "INCLUDE"; readonly nonKeyAttributes: readonly string[] };
}

export interface TableShape {
  readonly billingMode: "PAY_PER_REQUEST";
  /** The table's stream, when it has one. */
  readonly streamViewType?: "NEW_AND_OLD_IMAGES";
  /** The attribute DynamoDB's time to live reads. */
  readonly timeToLiveAttribute?: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalSecondaryIndexes: readonly IndexShape[];
}

/**
 * When a record expires (epoch seconds): with `retentionDays`, every record write of the worker sets it to
 * that many days after the write, and the table's time to live deletes the record after it (DynamoDB does so
 * within a few days, so a reader filters on it); an erased order's tombstone always carries it (see
 * ERASED_ATTRIBUTE). Absent: the record stays until deleted.
 */
export const EXPIRES_AT_ATTRIBUTE = "expires_at";

/**
 * The record table; lib/transcript-store.ts and local/resources.ts both build it from this (its time to live
 * always on: tombstones expire by it, and records too with `retentionDays`).
 */
export const TRANSCRIPT_TABLE: TableShape = {
  billingMode: "PAY_PER_REQUEST",
  // The outbox of the events: every committed write, read by the publisher (EVENT_STREAM).
  streamViewType: EVENT_STREAM.viewType,
  timeToLiveAttribute: EXPIRES_AT_ATTRIBUTE,
  partitionKey: { name: TABLE_PARTITION_KEY, type: "S" },
  sortKey: { name: TABLE_SORT_KEY, type: "S" },
  globalSecondaryIndexes: [
    {
      indexName: TRANSCRIPT_ID_INDEX,
      partitionKey: { name: TRANSCRIPT_ID_ATTRIBUTE, type: "S" },
      projection: { type: "INCLUDE", nonKeyAttributes: TRANSCRIPT_ID_INDEX_ATTRIBUTES },
    },
    {
      indexName: FETCH_RETRY_INDEX,
      partitionKey: { name: FETCH_RETRY_ATTRIBUTES.state, type: "S" },
      sortKey: { name: FETCH_RETRY_ATTRIBUTES.since, type: "S" },
      projection: {
        type: "INCLUDE",
        nonKeyAttributes: [
          TRANSCRIPT_ID_ATTRIBUTE,
          FETCH_RETRY_ATTRIBUTES.status,
          FETCH_RETRY_ATTRIBUTES.key,
          FETCH_RETRY_ATTRIBUTES.region,
          TIMES_ATTRIBUTES.created,
          TIMES_ATTRIBUTES.completed,
        ],
      },
    },
  ],
};

/**
 * The usage table: one item per customer per UTC day, counters the worker moves in the same transaction as
 * the record's conditional write (functions/worker/usage.ts), so a duplicate delivery, which writes nothing,
 * never counts. A table of its own, not items in the record table: any string is a valid order_id, so no
 * counter key there could be told from a real order. `aai-webhooks usage` reads it with a Query per
 * customer (or one Scan of the counters, which grow with customers times days, never with records).
 * lib/transcript-store.ts and local/resources.ts build it from this.
 */
export const USAGE_DAY_KEY = "day";
export const USAGE_TABLE: UsageTableShape = {
  billingMode: "PAY_PER_REQUEST",
  partitionKey: { name: TABLE_PARTITION_KEY, type: "S" },
  sortKey: { name: USAGE_DAY_KEY, type: "S" },
  globalSecondaryIndexes: [],
};

/** What a table needs to be created: the usage table has no stream, TTL or index of the record table's. */
export type UsageTableShape = Pick<
  TableShape,
  "billingMode" | "partitionKey" | "sortKey" | "globalSecondaryIndexes"
>;

/** The counters on a usage item (numbers: DynamoDB adds them exactly). */
export const USAGE_COUNTERS = {
  /** Pre-recorded transcripts stored `completed` that day. */
  transcripts: "transcripts",
  /** Their `audio_duration`, in seconds. */
  audioSeconds: "audio_seconds",
  /** Streaming sessions stored that day. */
  sessions: "streaming_sessions",
  /** Their `duration_ms` (the latest word end), in milliseconds. */
  sessionMilliseconds: "streaming_ms",
} as const;

/**
 * An erased order's tombstone: the record table's item for that customer_id/order_id, holding only the keys,
 * ERASED_ATTRIBUTE (when it was erased) and RECORD_EXPIRY_ATTRIBUTE (DynamoDB's time to live, epoch
 * seconds). While it exists the worker stores nothing for the order: a late webhook retry, a dead-letter
 * redrive, a reconciler copy or a replay of an erased transcript is dropped and logged (outcome `erased`),
 * not resurrected. It lives TOMBSTONE_DAYS, longer than any message naming the order can (see
 * INBOX_EXPIRE_DAYS); then DynamoDB deletes it.
 */
export const ERASED_ATTRIBUTE = "erased_at";
/** The record table's time-to-live attribute (epoch seconds): tombstones carry it. */
export const RECORD_EXPIRY_ATTRIBUTE = EXPIRES_AT_ATTRIBUTE;

/** S3 key layout; the worker writes and the CLI reads these. */
export const BUCKET_PREFIXES = {
  transcripts: "transcripts/",
  redactedAudio: "redacted-audio/",
  unknown: "unknown/",
  /** Authenticated requests the pipeline could not route, kept whole (functions/worker: quarantine). */
  quarantine: "quarantine/",
} as const;

/**
 * Claim checks: a queue message too large for SQS, written here by the receiver and read by the worker.
 * Never deleted by code (a message may be received again after it was processed); expired by a lifecycle
 * rule after INBOX_EXPIRE_DAYS, longer than a message can live: 14 days on the queue, then at most 14 in the
 * dead-letter queue (its age counts from the first enqueue), plus a redrive's time.
 */
export const INBOX_PREFIX = "inbox/";
export const INBOX_EXPIRE_DAYS = 35;

/** How long an erased order's tombstone keeps the worker from storing it again (see ERASED_ATTRIBUTE). */
export const TOMBSTONE_DAYS = INBOX_EXPIRE_DAYS;

/** The reconciler's part of the transcript bucket; its old versions expire after a day (lib/transcript-store.ts). */
export const RECONCILER_PREFIX = "reconciler/";
/** The one object the reconciler reads and writes in the transcript bucket (its IAM grant names it exactly). */
export const CHECKPOINT_KEY = `${RECONCILER_PREFIX}checkpoint.json`;

/**
 * The checkpoint of each configured AssemblyAI region's listing (each region lists its own transcripts): the
 * first region's is CHECKPOINT_KEY, so a stack that adds a region keeps its checkpoint; a further region's
 * is `reconciler/checkpoint-<region>.json`.
 */
export function checkpointKeyFor(region: string, first: boolean): string {
  return first ? CHECKPOINT_KEY : `${RECONCILER_PREFIX}checkpoint-${region}.json`;
}

/**
 * The stack output naming a further AssemblyAI region's API key secret (`ApiKeySecretArnEu`): the first (or
 * only) region's is `ApiKeySecretArn`, as on a single-region stack. The stack writes it, the CLI reads it.
 */
export function apiKeySecretOutputKey(region: string): string {
  return `ApiKeySecretArn${region.charAt(0).toUpperCase()}${region.slice(1)}`;
}
