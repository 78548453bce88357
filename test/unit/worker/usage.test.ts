/**
 * Usage counters and erasure tombstones in the worker: the counting rule (pure), and the worker's writes on a
 * fake table whose TransactWriteItems applies both updates or neither, as DynamoDB does, so duplicates,
 * replays and lost races are shown never to double-count.
 */
import {
  DynamoDBClient,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ChangeMessageVisibilityCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-jest";
import { fromAttributeMap, toAttributeMap } from "../../../functions/shared/attribute-values";
import { usageIncrement } from "../../../functions/worker/usage";
import { createWorker } from "../../../functions/worker/worker";
import { setWriter, type Writer } from "../../support/telemetry";
import {
  API_KEY,
  CUSTOMER_ID,
  completedTranscript,
  FakeAssemblyAi,
  FakeTable,
  type Line,
  ORDER_ID,
  plainUpdate,
  redactedAudioMessage,
  sessionMessage,
  sqsEvent,
  TRANSCRIPT_ID,
  testConfig,
  transcriptMessage,
  transcriptRoute,
  unknownMessage,
  withListing,
} from "./support";

describe("usageIncrement", () => {
  const base = { customerId: "acme", storedAt: "2026-11-30T23:59:59.999Z" } as const;

  it("counts a completed transcript once, by its audio_duration, on the UTC day it was stored", () => {
    expect(usageIncrement({ ...base, status: "completed", kind: "transcript", audioDuration: 281 })).toEqual({
      customerId: "acme",
      day: "2026-11-30",
      transcripts: 1,
      audioSeconds: 281,
      sessions: 0,
      sessionMilliseconds: 0,
    });
  });

  it("counts a streaming session as a session, by its duration_ms", () => {
    expect(
      usageIncrement({ ...base, status: "completed", kind: "streaming_session", durationMs: 12_345 }),
    ).toMatchObject({ transcripts: 0, audioSeconds: 0, sessions: 1, sessionMilliseconds: 12_345 });
  });

  it("counts nothing for error and fetch_failed writes", () => {
    expect(
      usageIncrement({ ...base, status: "error", kind: "transcript", audioDuration: 10 }),
    ).toBeUndefined();
    expect(usageIncrement({ ...base, status: "fetch_failed", kind: "transcript" })).toBeUndefined();
  });

  it("counts a completed transcript without a duration as a transcript of 0 seconds", () => {
    expect(
      usageIncrement({ ...base, status: "completed", kind: "transcript", audioDuration: null }),
    ).toMatchObject({ transcripts: 1, audioSeconds: 0 });
  });
});

const dynamodb = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
const sqs = mockClient(SQSClient);
const secrets = mockClient(SecretsManagerClient);
const assemblyAi = new FakeAssemblyAi();
const KEY = { customer_id: CUSTOMER_ID, order_id: ORDER_ID };

let table: FakeTable;
/** The usage table: counters by customer and day, added as DynamoDB's ADD does. */
let counters: Map<string, Record<string, number>>;
let lines: Line[];
let previousWriter: Writer;

function worker() {
  return createWorker(testConfig(assemblyAi.baseUrl, { usageTableName: "usage" }), { random: () => 0.5 });
}

function applyCounter(input: {
  Key?: Record<string, unknown>;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
  UpdateExpression?: string;
}): void {
  const key = fromAttributeMap(input.Key as never) as Record<string, string>;
  const values = fromAttributeMap((input.ExpressionAttributeValues ?? {}) as never);
  const names = input.ExpressionAttributeNames ?? {};
  const id = `${key.customer_id}|${key.day}`;
  const item = counters.get(id) ?? {};
  const add = /^ADD (.+?) SET /.exec(input.UpdateExpression ?? "")?.[1] ?? "";
  for (const part of add.split(", ")) {
    const [name, value] = part.split(" ") as [string, string];
    const attribute = names[name] as string;
    item[attribute] = (item[attribute] ?? 0) + (values[value] as number);
  }
  counters.set(id, item);
}

function usageOf(customerId: string): Record<string, number> {
  const total: Record<string, number> = {};
  for (const [id, item] of counters) {
    if (!id.startsWith(`${customerId}|`)) continue;
    for (const [name, value] of Object.entries(item)) total[name] = (total[name] ?? 0) + value;
  }
  return total;
}

beforeAll(async () => {
  process.env.AWS_REGION ??= "us-east-1";
  await assemblyAi.start();
});

afterAll(async () => {
  await assemblyAi.stop();
});

beforeEach(() => {
  for (const client of [dynamodb, s3, sqs, secrets]) client.reset();
  assemblyAi.reset();
  table = new FakeTable();
  counters = new Map();
  dynamodb.on(GetItemCommand).callsFake((input) => {
    const item = table.get(fromAttributeMap(input.Key ?? {}));
    return { Item: item === undefined ? undefined : toAttributeMap(item) };
  });
  dynamodb.on(UpdateItemCommand).callsFake((input) => {
    table.update(plainUpdate(input));
    return {};
  });
  // All or nothing: the record's update first (it alone has a condition), then the counter's.
  dynamodb.on(TransactWriteItemsCommand).callsFake((input) => {
    const [record, counter] = (input.TransactItems ?? []).map(
      (item: { Update?: unknown }) => item.Update,
    ) as [
      Parameters<typeof plainUpdate>[0] & { TableName?: string },
      Parameters<typeof applyCounter>[0] & { TableName?: string },
    ];
    expect(record.TableName).toBe("transcripts");
    expect(counter.TableName).toBe("usage");
    try {
      table.update(plainUpdate(record));
    } catch (error) {
      if (error instanceof Error && error.name === "ConditionalCheckFailedException") {
        throw new TransactionCanceledException({
          message: "Transaction cancelled, please refer cancellation reasons for specific reasons",
          CancellationReasons: [{ Code: "ConditionalCheckFailed" }, { Code: "None" }],
          $metadata: {},
        });
      }
      throw error;
    }
    applyCounter(counter);
    return {};
  });
  s3.on(PutObjectCommand).resolves({});
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  secrets.on(GetSecretValueCommand).resolves({ SecretString: API_KEY });
  lines = [];
  previousWriter = setWriter((text) => {
    const line = JSON.parse(text) as Line;
    if (!("_aws" in line)) lines.push(line);
  });
});

afterEach(() => {
  setWriter(previousWriter);
});

/** The first read sees the item as it is, then `change` happens (another writer, between read and write). */
function readFirst(change: () => void): void {
  let reads = 0;
  dynamodb.on(GetItemCommand).callsFake((input) => {
    const item = table.get(fromAttributeMap(input.Key ?? {}));
    if (++reads === 1) change();
    return { Item: item === undefined ? undefined : toAttributeMap(item) };
  });
}

describe("the worker's usage counters", () => {
  it("count a stored transcript in the same transaction as its record", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });

    await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(table.get(KEY)?.status).toBe("completed");
    expect(dynamodb).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 1);
    expect(dynamodb).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(usageOf(CUSTOMER_ID)).toEqual({
      transcripts: 1,
      audio_seconds: 281,
      streaming_sessions: 0,
      streaming_ms: 0,
    });
  });

  it("count a delivery delivered three times (retries, a replay) once", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });

    await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));
    await worker().handleBatch(sqsEvent({ body: transcriptMessage({ request_id: "retry-1" }) }));
    await worker().handleBatch(sqsEvent({ body: transcriptMessage({ source: "replay" }) }));

    expect(lines.map((line) => line.outcome)).toEqual(["stored", "duplicate", "duplicate"]);
    expect(usageOf(CUSTOMER_ID)).toMatchObject({ transcripts: 1, audio_seconds: 281 });
  });

  it("count nothing when the write loses its race (its condition fails)", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });
    // Another worker stores the same transcript between this one's read and its write.
    readFirst(() => table.put({ ...KEY, transcript_id: TRANSCRIPT_ID, status: "completed" }));

    await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(lines.map((line) => [line.outcome, line.reason])).toEqual([["duplicate", undefined]]);
    expect(counters.size).toBe(0);
  });

  it("count a newer transcript replacing a stored one, and not an older one arriving later", async () => {
    const newer = "5552493-16d8-42d8-8feb-c2a16b56f6e9";
    assemblyAi.route = withListing(
      [TRANSCRIPT_ID, newer],
      transcriptRoute({
        [TRANSCRIPT_ID]: completedTranscript(),
        [newer]: completedTranscript({ id: newer, audio_duration: 19 }),
      }),
    );

    await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));
    await worker().handleBatch(sqsEvent({ body: transcriptMessage({ transcript_id: newer }) }));
    await worker().handleBatch(sqsEvent({ body: transcriptMessage({ request_id: "late-retry" }) }));

    expect(lines.map((line) => line.outcome)).toEqual(["stored", "stored", "superseded"]);
    expect(usageOf(CUSTOMER_ID)).toMatchObject({ transcripts: 2, audio_seconds: 281 + 19 });
  });

  it("count nothing for a transcript AssemblyAI answers as error", async () => {
    assemblyAi.route = transcriptRoute({
      [TRANSCRIPT_ID]: completedTranscript({ status: "error", error: "bad audio", audio_duration: 50 }),
    });

    await worker().handleBatch(sqsEvent({ body: transcriptMessage({ status: "error" }) }));

    expect(table.get(KEY)?.status).toBe("error");
    expect(counters.size).toBe(0);
  });

  it("count a streaming session once, as a session", async () => {
    await worker().handleBatch(sqsEvent({ body: sessionMessage() }));
    await worker().handleBatch(sqsEvent({ body: sessionMessage({ request_id: "again" }) }));

    expect(usageOf(CUSTOMER_ID)).toMatchObject({ transcripts: 0, streaming_sessions: 1 });
  });
});

describe("an erased order's tombstone", () => {
  const tombstone = { ...KEY, erased_at: "2026-12-01T10:00:00.000Z", expires_at: 1_900_000_000 };

  it("drops a late transcript delivery without fetching, storing or counting it", async () => {
    table.put(tombstone);
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(lines.map((line) => [line.outcome, line.reason])).toEqual([
      ["erased", "the order was erased at 2026-12-01T10:00:00.000Z; the delivery is dropped, not stored"],
    ]);
    expect(assemblyAi.transcriptRequests()).toEqual([]);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(table.get(KEY)).toEqual(tombstone);
    expect(counters.size).toBe(0);
  });

  it("drops a streaming session, a redacted-audio notice and an unknown delivery for the order", async () => {
    table.put(tombstone);

    await worker().handleBatch(
      sqsEvent(
        { body: sessionMessage() },
        { body: redactedAudioMessage(`${assemblyAi.baseUrl}/redacted/${TRANSCRIPT_ID}.mp3`) },
        { body: unknownMessage() },
      ),
    );

    expect(lines.map((line) => line.outcome)).toEqual(["erased", "erased", "erased"]);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(table.get(KEY)).toEqual(tombstone);
  });

  it("stops a worker that read the item before the erasure from writing it back", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });
    // The read sees nothing; the tombstone lands before the write.
    readFirst(() => table.put(tombstone));

    await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(lines.map((line) => line.outcome)).toEqual(["erased"]);
    expect(table.get(KEY)).toEqual(tombstone);
    expect(counters.size).toBe(0);
  });
});
