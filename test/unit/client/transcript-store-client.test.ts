import { gzipSync } from "node:zlib";
import { type AttributeValue, DynamoDBClient, GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, NoSuchKey, S3Client } from "@aws-sdk/client-s3";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-jest";
import { toAttributeMap } from "../../../functions/shared/attribute-values";
import {
  type REDACTED_AUDIO_ATTRIBUTES,
  type TRANSCRIPT_ATTRIBUTES,
  STREAMING_SESSION_KIND as WORKER_SESSION_KIND,
} from "../../../functions/worker/updates";
import { encodeCursor, InvalidCursorError } from "../../../lib/client/cursor";
import {
  isTurnEvent,
  STREAMING_SESSION_KIND,
  type StoredRecord,
  TranscriptNotStoredError,
  TranscriptStoreClient,
} from "../../../lib/client/transcript-store-client";

const dynamodb = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);

beforeEach(() => {
  dynamodb.reset();
  s3.reset();
});

const AWS = { region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } };

function client(): TranscriptStoreClient {
  return new TranscriptStoreClient({
    dynamodb: new DynamoDBClient(AWS),
    s3: new S3Client(AWS),
    tableName: "transcripts",
    bucketName: "transcripts-bucket",
  });
}

const RECORD = {
  customer_id: "acme",
  order_id: "o-1",
  transcript_id: "t-1",
  status: "completed",
  text: "hello",
  audio_duration: 12,
  metadata: { customer_id: "acme", order_id: "o-1", tag: ["a", "b"] },
  transcript_s3_key: "transcripts/acme/o-1/t-1.json.gz",
  received_at: "2026-11-27T12:00:00.000Z",
  source: "webhook",
} as const;

function item(record: Readonly<Record<string, unknown>>): Record<string, AttributeValue> {
  return toAttributeMap(record);
}

function recordsOf(orders: readonly string[]): Record<string, AttributeValue>[] {
  return orders.map((order) => item({ ...RECORD, order_id: order }));
}

function body(bytes: Uint8Array) {
  return { Body: { transformToByteArray: async () => bytes } as never };
}

// The worker's attribute lists are what it writes: the record type must name every one of them.
type Covers<Names extends string> = [Exclude<Names, keyof StoredRecord>] extends [never]
  ? true
  : Exclude<Names, keyof StoredRecord>;
const everyAttributeTyped: Covers<
  (typeof TRANSCRIPT_ATTRIBUTES)[number] | (typeof REDACTED_AUDIO_ATTRIBUTES)[number]
> = true;

describe("the record type", () => {
  it("names every attribute the worker writes, and its streaming-session kind", () => {
    expect(everyAttributeTyped).toBe(true);
    expect(STREAMING_SESSION_KIND).toBe(WORKER_SESSION_KIND);
  });
});

describe("get", () => {
  it("reads the item by its keys, strongly consistent, with the worker's codec", async () => {
    dynamodb
      .on(GetItemCommand, {
        TableName: "transcripts",
        Key: { customer_id: { S: "acme" }, order_id: { S: "o-1" } },
        ConsistentRead: true,
      })
      .resolves({ Item: item(RECORD) });

    const record = await client().get("acme", "o-1");

    expect(record).toEqual(RECORD);
  });

  it("answers undefined when nothing is stored", async () => {
    dynamodb.on(GetItemCommand).resolves({});

    await expect(client().get("acme", "o-9")).resolves.toBeUndefined();
  });

  it("keeps metadata named __proto__ and constructor as data, which the document client drops", async () => {
    const metadata = JSON.parse('{"__proto__":"kept","constructor":"also kept","order_id":"o-1"}');
    dynamodb.on(GetItemCommand).resolves({ Item: item({ ...RECORD, metadata }) });

    const record = await client().get("acme", "o-1");
    const unmarshalled = unmarshall(item({ ...RECORD, metadata }));

    expect(Object.getOwnPropertyDescriptor(record?.metadata, "__proto__")?.value).toBe("kept");
    expect(Object.getOwnPropertyDescriptor(record?.metadata, "constructor")?.value).toBe("also kept");
    expect(Object.getPrototypeOf(record?.metadata)).toBe(Object.prototype);
    // The contrast this client exists for: the document client's unmarshaller loses __proto__.
    expect(Object.hasOwn(unmarshalled.metadata as object, "__proto__")).toBe(false);
  });

  it("refuses an empty id before calling DynamoDB", async () => {
    await expect(client().get("", "o-1")).rejects.toThrow("customerId must be a non-empty string");
    expect(dynamodb).not.toHaveReceivedCommand(GetItemCommand);
  });
});

describe("listByCustomer", () => {
  it("reads an erased order's tombstone as no record, and leaves tombstones out of a listing", async () => {
    const tombstone = item({ customer_id: "acme", order_id: "o-2", erased_at: "2026-12-01T10:00:00.000Z" });
    dynamodb.on(GetItemCommand).resolves({ Item: tombstone });
    dynamodb
      .on(QueryCommand)
      .resolvesOnce({ Items: [...recordsOf(["o-1"]), tombstone, ...recordsOf(["o-3"])] })
      .resolvesOnce({ Items: recordsOf(["o-3"]) });
    const store = client();

    await expect(store.get("acme", "o-2")).resolves.toBeUndefined();
    const first = await store.listByCustomer("acme", { limit: 2 });
    expect(first.records.map((record) => record.order_id)).toEqual(["o-1"]);
    // The cursor still continues after the tombstone, the page's last item.
    const second = await store.listByCustomer("acme", { limit: 2, cursor: first.nextCursor });
    expect(second.records.map((record) => record.order_id)).toEqual(["o-3"]);
    expect(dynamodb).toHaveReceivedNthSpecificCommandWith(2, QueryCommand, {
      ExclusiveStartKey: { customer_id: { S: "acme" }, order_id: { S: "o-2" } },
    });
  });

  it("pages with the cursor: each page asks one more than the limit, the last has no cursor", async () => {
    dynamodb
      .on(QueryCommand)
      .resolvesOnce({
        Items: recordsOf(["o-1", "o-2", "o-3"]),
        LastEvaluatedKey: item({ ...RECORD, order_id: "o-3" }),
      })
      .resolvesOnce({ Items: recordsOf(["o-3"]) });
    const store = client();

    const first = await store.listByCustomer("acme", { limit: 2 });
    const second = await store.listByCustomer("acme", { limit: 2, cursor: first.nextCursor });

    expect(first.records.map((record) => record.order_id)).toEqual(["o-1", "o-2"]);
    expect(typeof first.nextCursor).toBe("string");
    expect(second.records.map((record) => record.order_id)).toEqual(["o-3"]);
    expect(second.nextCursor).toBeUndefined();
    expect(dynamodb).toHaveReceivedNthSpecificCommandWith(1, QueryCommand, {
      TableName: "transcripts",
      KeyConditionExpression: "#customer = :customer",
      ExpressionAttributeNames: { "#customer": "customer_id" },
      ExpressionAttributeValues: { ":customer": { S: "acme" } },
      Limit: 3,
      ExclusiveStartKey: undefined,
    });
    expect(dynamodb).toHaveReceivedNthSpecificCommandWith(2, QueryCommand, {
      Limit: 3,
      ExclusiveStartKey: { customer_id: { S: "acme" }, order_id: { S: "o-2" } },
    });
  });

  it("continues where DynamoDB stopped a page short (its 1 MB page size)", async () => {
    dynamodb.on(QueryCommand).resolvesOnce({
      Items: recordsOf(["o-1"]),
      LastEvaluatedKey: { customer_id: { S: "acme" }, order_id: { S: "o-1" } },
    });

    const page = await client().listByCustomer("acme", { limit: 5 });

    expect(page.records).toHaveLength(1);
    expect(page.nextCursor).toBe(encodeCursor("acme", "o-1"));
  });

  it("reads 100 records a page by default", async () => {
    dynamodb.on(QueryCommand).resolves({ Items: [] });

    const page = await client().listByCustomer("acme");

    expect(page).toEqual({ records: [] });
    expect(dynamodb).toHaveReceivedCommandWith(QueryCommand, { Limit: 101, ConsistentRead: false });
  });

  it.each([
    ["not base64url", "not a cursor!"],
    ["tampered", `${encodeCursor("acme", "o-2").slice(0, -2)}A`],
    ["JSON of another shape", Buffer.from('{"customer_id":"acme"}').toString("base64url")],
    ["not JSON", Buffer.from("acme/o-2").toString("base64url")],
    ["another customer's", encodeCursor("globex", "o-2")],
  ])("refuses a cursor that is %s, with a clear error and no Query", async (_what, cursor) => {
    const listing = client().listByCustomer("acme", { limit: 2, cursor });

    await expect(listing).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(listing).rejects.toThrow(
      /^invalid cursor: .+ \(pass back the nextCursor of the previous page/,
    );
    expect(dynamodb).not.toHaveReceivedCommand(QueryCommand);
  });

  it("names another customer's cursor as such", async () => {
    await expect(client().listByCustomer("acme", { cursor: encodeCursor("globex", "o-2") })).rejects.toThrow(
      "it continues another customer's listing, not acme's",
    );
  });

  it.each([0, 1001, 1.5, Number.NaN])("refuses limit %p", async (limit) => {
    await expect(client().listByCustomer("acme", { limit })).rejects.toThrow(
      `limit must be a whole number from 1 to 1000, not ${limit}`,
    );
    expect(dynamodb).not.toHaveReceivedCommand(QueryCommand);
  });
});

describe("findByTranscriptId", () => {
  it("queries the by-transcript-id index, all pages, and reads each record whole", async () => {
    dynamodb
      .on(QueryCommand, { IndexName: "by-transcript-id" })
      .resolvesOnce({
        Items: [item({ customer_id: "acme", order_id: "o-1", transcript_id: "t-1" })],
        LastEvaluatedKey: item({ customer_id: "acme", order_id: "o-1", transcript_id: "t-1" }),
      })
      .resolvesOnce({ Items: [item({ customer_id: "acme", order_id: "o-2", transcript_id: "t-1" })] });
    dynamodb
      .on(GetItemCommand, { Key: { customer_id: { S: "acme" }, order_id: { S: "o-1" } } })
      .resolves({ Item: item(RECORD) })
      .on(GetItemCommand, { Key: { customer_id: { S: "acme" }, order_id: { S: "o-2" } } })
      .resolves({ Item: item({ ...RECORD, order_id: "o-2" }) });

    const records = await client().findByTranscriptId("t-1");

    expect(records).toEqual([RECORD, { ...RECORD, order_id: "o-2" }]);
    expect(dynamodb).toHaveReceivedNthSpecificCommandWith(1, QueryCommand, {
      TableName: "transcripts",
      IndexName: "by-transcript-id",
      ExpressionAttributeValues: { ":transcript": { S: "t-1" } },
    });
    expect(dynamodb).toHaveReceivedNthSpecificCommandWith(2, QueryCommand, {
      ExclusiveStartKey: item({ customer_id: "acme", order_id: "o-1", transcript_id: "t-1" }),
    });
  });

  it("leaves out a record the index still lists but that holds another transcript now", async () => {
    dynamodb.on(QueryCommand).resolves({ Items: [item({ customer_id: "acme", order_id: "o-1" })] });
    dynamodb.on(GetItemCommand).resolves({ Item: item({ ...RECORD, transcript_id: "t-newer" }) });

    await expect(client().findByTranscriptId("t-1")).resolves.toEqual([]);
  });
});

describe("getFullTranscript", () => {
  const transcript = { id: "t-1", status: "completed", text: "hello", words: [{ text: "hello", start: 0 }] };

  it("gunzips and parses the transcript JSON the record names", async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: item(RECORD) });
    s3.on(GetObjectCommand, { Bucket: "transcripts-bucket", Key: RECORD.transcript_s3_key }).resolves(
      body(gzipSync(JSON.stringify(transcript))),
    );

    const full = await client().getFullTranscript("acme", "o-1");

    expect(full).toEqual({ kind: "transcript", record: RECORD, transcript });
    if (full.kind !== "transcript") throw new Error("not a transcript");
    expect(full.transcript.words?.[0]?.text).toBe("hello");
  });

  it("reads a plain JSON object as is", async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: item(RECORD) });
    s3.on(GetObjectCommand).resolves(body(Buffer.from(JSON.stringify(transcript))));

    await expect(client().getFullTranscript("acme", "o-1")).resolves.toMatchObject({ transcript });
  });

  it("gives a streaming session's record its session body, with Turn messages narrowed", async () => {
    const turn = {
      type: "Turn",
      turn_order: 0,
      turn_is_formatted: true,
      end_of_turn: true,
      transcript: "Hello there.",
      end_of_turn_confidence: 0.9,
      words: [],
    };
    const session = { session_id: "s-1", messages: [{ type: "Begin", id: "s-1" }, turn] };
    dynamodb.on(GetItemCommand).resolves({
      Item: item({ ...RECORD, transcript_id: "s-1", session_id: "s-1", kind: "streaming_session" }),
    });
    s3.on(GetObjectCommand).resolves(body(gzipSync(JSON.stringify(session))));

    const full = await client().getFullTranscript("acme", "o-1");

    if (full.kind !== "streaming_session") throw new Error(`got ${full.kind}`);
    expect(full.session).toEqual(session);
    expect(full.session.messages.filter(isTurnEvent).map((message) => message.transcript)).toEqual([
      "Hello there.",
    ]);
  });

  it("throws naming the status when the record has no stored transcript, without asking S3", async () => {
    dynamodb.on(GetItemCommand).resolves({
      Item: item({ ...RECORD, status: "fetch_failed", transcript_s3_key: undefined, error: "HTTP 404" }),
    });

    const reading = client().getFullTranscript("acme", "o-1");

    await expect(reading).rejects.toBeInstanceOf(TranscriptNotStoredError);
    await expect(reading).rejects.toMatchObject({
      reason: "no_transcript",
      status: "fetch_failed",
      message: "the record for customer acme order o-1 has no stored transcript (status fetch_failed)",
    });
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
  });

  it("throws no_record when nothing is stored", async () => {
    dynamodb.on(GetItemCommand).resolves({});

    await expect(client().getFullTranscript("acme", "o-9")).rejects.toMatchObject({
      name: "TranscriptNotStoredError",
      reason: "no_record",
      message: "no record for customer acme order o-9",
    });
  });

  it("throws object_missing when the bucket no longer has the object", async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: item(RECORD) });
    s3.on(GetObjectCommand).rejects(
      new NoSuchKey({ message: "The specified key does not exist.", $metadata: {} }),
    );

    await expect(client().getFullTranscript("acme", "o-1")).rejects.toMatchObject({
      reason: "object_missing",
      key: RECORD.transcript_s3_key,
      message: expect.stringContaining(
        `names s3://transcripts-bucket/${RECORD.transcript_s3_key}, which does not exist`,
      ),
    });
  });

  it.each([
    ["not JSON", gzipSync("{not json")],
    ["not a transcript", gzipSync("[1, 2]")],
  ])("throws unreadable for an object that is %s", async (_what, bytes) => {
    dynamodb.on(GetItemCommand).resolves({ Item: item(RECORD) });
    s3.on(GetObjectCommand).resolves(body(bytes));

    await expect(client().getFullTranscript("acme", "o-1")).rejects.toMatchObject({ reason: "unreadable" });
  });
});
