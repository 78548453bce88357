import { randomUUID } from "node:crypto";
import {
  type AttributeValue,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBRecord } from "aws-lambda";
import { type Emulator, startEmulator } from "../../local/emulator";
import {
  type StreamFailureRecord,
  type StreamPoller,
  type StreamPollerOptions,
  startStreamPoller,
} from "../../local/stream-poller";

const REGION = "eu-west-1";
const CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

let emulator: Emulator;
let dynamodb: DynamoDBClient;
let streams: DynamoDBStreamsClient;
const pollers: StreamPoller[] = [];

beforeAll(async () => {
  emulator = await startEmulator();
  const config = { endpoint: emulator.endpoint, region: REGION, credentials: CREDENTIALS };
  dynamodb = new DynamoDBClient(config);
  streams = new DynamoDBStreamsClient(config);
}, 30_000);

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
});

afterAll(async () => {
  dynamodb?.destroy();
  streams?.destroy();
  await emulator?.stop();
});

/** A fresh table with a NEW_AND_OLD_IMAGES stream, so that tests never see each other's records. */
async function createTable(): Promise<{ tableName: string; streamArn: string }> {
  const tableName = `stream-${randomUUID().slice(0, 8)}`;
  const created = await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
    }),
  );
  const streamArn = created.TableDescription?.LatestStreamArn;
  if (!streamArn) throw new Error("moto gave the table no stream");
  return { tableName, streamArn };
}

async function put(tableName: string, item: Record<string, AttributeValue>): Promise<void> {
  await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: item }));
}

async function start(
  options: Omit<StreamPollerOptions, "streams" | "region" | "handler"> & {
    handler?: StreamPollerOptions["handler"];
  },
): Promise<DynamoDBRecord[][]> {
  const invocations: DynamoDBRecord[][] = [];
  const poller = await startStreamPoller({
    streams,
    region: REGION,
    pollIntervalMs: 50,
    retryDelayMs: 5,
    ...options,
    handler: async (event, context) => {
      invocations.push(event.Records);
      return options.handler?.(event, context);
    },
  });
  pollers.push(poller);
  return invocations;
}

const keyOf = (record: DynamoDBRecord) => record.dynamodb?.Keys?.pk?.S;
const keysOf = (invocations: DynamoDBRecord[][]) => invocations.map((records) => records.map(keyOf));

/** Polls until `probe` answers something other than undefined; fails with `describe()` at the deadline. */
async function until<T>(probe: () => T | undefined, describe: () => string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const delivered = (invocations: DynamoDBRecord[][], key: string) =>
  invocations.some((records) => records.some((record) => keyOf(record) === key)) || undefined;

describe("local DynamoDB Streams poller", () => {
  it("delivers INSERT and MODIFY records in order in Lambda's event shape, and filters out REMOVE", async () => {
    const { tableName, streamArn } = await createTable();
    await put(tableName, { pk: { S: "a" }, n: { N: "1" }, bytes: { B: Uint8Array.from([1, 2, 255]) } });
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: "a" } },
        UpdateExpression: "SET n = :n",
        ExpressionAttributeValues: { ":n": { N: "2" } },
      }),
    );
    await dynamodb.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: "a" } } }));
    // Written after the REMOVE: once it arrives, the REMOVE (earlier in the shard) has been handled.
    await put(tableName, { pk: { S: "b" } });

    const invocations = await start({ streamArn, filter: { eventName: ["INSERT", "MODIFY"] } });
    await until(
      () => delivered(invocations, "b"),
      () => JSON.stringify(keysOf(invocations)),
    );

    const records = invocations.flat();
    expect(records.map((record) => [record.eventName, keyOf(record)])).toEqual([
      ["INSERT", "a"],
      ["MODIFY", "a"],
      ["INSERT", "b"],
    ]);
    const [insert, modify] = records;
    expect(insert).toEqual({
      eventID: expect.any(String),
      eventName: "INSERT",
      eventVersion: expect.any(String),
      eventSource: "aws:dynamodb",
      awsRegion: REGION,
      dynamodb: {
        ApproximateCreationDateTime: expect.any(Number),
        Keys: { pk: { S: "a" } },
        NewImage: {
          pk: { S: "a" },
          n: { N: "1" },
          bytes: { B: Buffer.from([1, 2, 255]).toString("base64") },
        },
        SequenceNumber: expect.any(String),
        SizeBytes: expect.any(Number),
        StreamViewType: "NEW_AND_OLD_IMAGES",
      },
      eventSourceARN: streamArn,
    });
    // Whole epoch seconds, as Lambda delivers them.
    const created = insert?.dynamodb?.ApproximateCreationDateTime ?? 0;
    expect(Number.isInteger(created)).toBe(true);
    expect(Math.abs(created - Date.now() / 1000)).toBeLessThan(120);
    expect(modify?.dynamodb?.OldImage?.n).toEqual({ N: "1" });
    expect(modify?.dynamodb?.NewImage?.n).toEqual({ N: "2" });
    const sequence = records.map((record) => BigInt(record.dynamodb?.SequenceNumber ?? "0"));
    expect([...sequence].sort((x, y) => (x < y ? -1 : 1))).toEqual(sequence);
  });

  it("delivers the records a TransactWriteItems writes, with both images (as the worker's record write makes them)", async () => {
    const { tableName, streamArn } = await createTable();
    await put(tableName, { pk: { S: "a" }, status: { S: "queued" } });
    await dynamodb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: tableName, Item: { pk: { S: "b" } } } },
          {
            Update: {
              TableName: tableName,
              Key: { pk: { S: "a" } },
              UpdateExpression: "SET #status = :status",
              ExpressionAttributeNames: { "#status": "status" },
              ExpressionAttributeValues: { ":status": { S: "completed" } },
            },
          },
        ],
      }),
    );
    await put(tableName, { pk: { S: "c" } });

    const invocations = await start({ streamArn });
    await until(
      () => delivered(invocations, "c"),
      () => JSON.stringify(keysOf(invocations)),
    );

    const [, inserted, modified] = invocations.flat();
    expect(inserted).toMatchObject({ eventName: "INSERT", dynamodb: { NewImage: { pk: { S: "b" } } } });
    expect(modified).toMatchObject({
      eventName: "MODIFY",
      dynamodb: { OldImage: { status: { S: "queued" } }, NewImage: { status: { S: "completed" } } },
    });
  });

  it("passes on no MODIFY for a write that changed nothing, as DynamoDB writes none", async () => {
    const { tableName, streamArn } = await createTable();
    await put(tableName, { pk: { S: "a" }, n: { N: "1" } });
    await put(tableName, { pk: { S: "a" }, n: { N: "1" } });
    await put(tableName, { pk: { S: "b" } });

    const invocations = await start({ streamArn });
    await until(
      () => delivered(invocations, "b"),
      () => JSON.stringify(keysOf(invocations)),
    );

    expect(invocations.flat().map((record) => [record.eventName, keyOf(record)])).toEqual([
      ["INSERT", "a"],
      ["INSERT", "b"],
    ]);
  });

  it("retries a partial batch failure from the lowest failed record only", async () => {
    const { tableName, streamArn } = await createTable();
    for (const pk of ["r1", "r2", "r3"]) await put(tableName, { pk: { S: pk } });
    let failedOnce = false;

    const invocations = await start({
      streamArn,
      handler: async (event) => {
        if (failedOnce) return undefined;
        failedOnce = true;
        // Out of order on purpose: Lambda checkpoints before the lowest sequence number named.
        const failing = ["r3", "r2"].map((pk) => event.Records.find((record) => keyOf(record) === pk));
        return {
          batchItemFailures: failing.map((record) => ({
            itemIdentifier: record?.dynamodb?.SequenceNumber ?? "",
          })),
        };
      },
    });
    await until(
      () => (invocations.length >= 2 ? true : undefined),
      () => JSON.stringify(keysOf(invocations)),
    );
    await put(tableName, { pk: { S: "r4" } });
    await until(
      () => delivered(invocations, "r4"),
      () => JSON.stringify(keysOf(invocations)),
    );

    expect(keysOf(invocations)).toEqual([["r1", "r2", "r3"], ["r2", "r3"], ["r4"]]);
  });

  it("fails the whole batch when batchItemFailures names a record not in it", async () => {
    const { tableName, streamArn } = await createTable();
    for (const pk of ["r1", "r2"]) await put(tableName, { pk: { S: pk } });
    const errors: unknown[] = [];
    let answered = false;

    const invocations = await start({
      streamArn,
      bisectBatchOnError: false,
      onError: (error) => errors.push(error),
      handler: async () => {
        if (answered) return undefined;
        answered = true;
        return { batchItemFailures: [{ itemIdentifier: "not-a-sequence-number" }] };
      },
    });
    await until(
      () => (invocations.length >= 2 ? true : undefined),
      () => JSON.stringify(keysOf(invocations)),
    );

    expect(keysOf(invocations)).toEqual([
      ["r1", "r2"],
      ["r1", "r2"],
    ]);
    expect(String(errors[0])).toMatch(/not-a-sequence-number.*whole batch fails/);
  });

  it("isolates a poisoned record by bisection, sends it to the on-failure destination after its retries, and moves on", async () => {
    const { tableName, streamArn } = await createTable();
    for (const pk of ["p0", "p1", "poison", "p3"]) await put(tableName, { pk: { S: pk } });
    const failures: StreamFailureRecord[] = [];

    const invocations = await start({
      streamArn,
      functionName: "local-publisher",
      maxRetryAttempts: 2,
      onFailure: async (record) => {
        failures.push(record);
      },
      handler: async (event) => {
        if (event.Records.some((record) => keyOf(record) === "poison")) throw new Error("poisoned");
        return undefined;
      },
    });
    await until(
      () => delivered(invocations, "p3"),
      () => JSON.stringify(keysOf(invocations)),
    );
    await put(tableName, { pk: { S: "p4" } });
    await until(
      () => delivered(invocations, "p4"),
      () => JSON.stringify(keysOf(invocations)),
    );

    expect(keysOf(invocations)).toEqual([
      ["p0", "p1", "poison", "p3"],
      // Halves keep the batch's retry count: only the poisoned record's own failures are retries.
      ["p0", "p1"],
      ["poison", "p3"],
      ["poison"],
      ["poison"],
      ["poison"],
      ["p3"],
      ["p4"],
    ]);
    const poisoned = invocations[3]?.[0]?.dynamodb;
    expect(failures).toEqual([
      {
        requestContext: {
          requestId: expect.any(String),
          functionArn: expect.stringMatching(/:function:local-publisher$/),
          condition: "RetryAttemptsExhausted",
          approximateInvokeCount: 5,
        },
        responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
        version: "1.0",
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        DDBStreamBatchInfo: {
          shardId: expect.any(String),
          startSequenceNumber: poisoned?.SequenceNumber,
          endSequenceNumber: poisoned?.SequenceNumber,
          approximateArrivalOfFirstRecord: new Date((poisoned?.ApproximateCreationDateTime ?? 0) * 1000)
            .toISOString()
            .replace(".000Z", "Z"),
          approximateArrivalOfLastRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
          batchSize: 1,
          streamArn,
        },
      },
    ]);
  });

  it("fails and retries an invocation that runs past the timeout", async () => {
    const { tableName, streamArn } = await createTable();
    await put(tableName, { pk: { S: "slow" } });
    const errors: unknown[] = [];
    let calls = 0;

    const invocations = await start({
      streamArn,
      timeoutMs: 100,
      onError: (error) => errors.push(error),
      handler: async () => {
        calls += 1;
        // The first invocation never answers, as a hung function would not.
        if (calls === 1) await new Promise<never>(() => {});
        return undefined;
      },
    });
    await until(
      () => (invocations.length >= 2 ? true : undefined),
      () => JSON.stringify(keysOf(invocations)),
    );

    expect(keysOf(invocations)).toEqual([["slow"], ["slow"]]);
    expect(String(errors[0])).toMatch(/Task timed out after 0\.10 seconds/);
  });

  it("refuses a filter operator it does not implement", async () => {
    const { streamArn } = await createTable();

    const started = startStreamPoller({
      streams,
      streamArn,
      region: REGION,
      handler: async () => undefined,
      filter: { eventName: [{ prefix: "INS" }] } as never,
    });

    await expect(started).rejects.toThrow(/only lists of exact values.*prefix/);
  });

  it("stop() resolves only once the invocation in flight has answered", async () => {
    const { tableName, streamArn } = await createTable();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let answered = false;
    const invocations: DynamoDBRecord[][] = [];
    const poller = await startStreamPoller({
      streams,
      streamArn,
      region: REGION,
      pollIntervalMs: 50,
      handler: async (event) => {
        invocations.push(event.Records);
        await gate;
        answered = true;
      },
    });
    await put(tableName, { pk: { S: "slow" } });
    await until(
      () => (invocations.length > 0 ? true : undefined),
      () => "the handler was never invoked",
    );

    let stopped = false;
    const stopping = poller.stop().then(() => {
      stopped = true;
    });
    // A window in which a stop() that did not wait would resolve; the handler is still held at the gate.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stoppedWhileInFlight = stopped;
    release();
    await stopping;

    expect(stoppedWhileInFlight).toBe(false);
    expect(answered).toBe(true);
  });
});
