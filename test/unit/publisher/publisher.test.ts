import type {
  PutEventsCommand,
  PutEventsRequestEntry,
  PutEventsResultEntry,
} from "@aws-sdk/client-eventbridge";
import type { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { loadConfig, type PublisherConfig } from "../../../functions/publisher/config";
import {
  calls,
  createHandler,
  entrySize,
  FIRST_RETRY_DELAY_MS,
  MAX_CALL_BYTES,
  PUT_ATTEMPTS,
  pendingEntries,
} from "../../../functions/publisher/publisher";
import {
  DETAIL_TYPES,
  type EventsDeadLetter,
  isEventsDeadLetter,
} from "../../../functions/shared/contract/events";
import { validateEventDetail } from "../../support/event-schemas";
import { type CapturedTelemetry, captureTelemetry } from "../../support/telemetry";

const CONFIG: PublisherConfig = {
  stackName: "test-stack",
  eventBusName: "team-bus",
  eventSource: "assemblyai.webhooks",
  bucketName: "transcripts-bucket",
  deadLetterQueueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/failed-events",
};

let sequence = 100;

function completed(order: string, transcriptId = `t-${order}`, extra: Record<string, unknown> = {}) {
  return {
    customer_id: "acme",
    order_id: order,
    transcript_id: transcriptId,
    status: "completed",
    source: "webhook",
    stored_at: "2026-12-03T06:00:00.000Z",
    transcript_s3_key: `transcripts/acme/${order}/${transcriptId}.json.gz`,
    audio_duration: 12,
    language_code: "en_us",
    metadata: { customer_id: "acme", order_id: order, team: "blue" },
    text: "the transcript's words",
    ...extra,
  };
}

function streamRecord(
  after: Record<string, unknown> | undefined,
  before?: Record<string, unknown>,
  eventName: DynamoDBRecord["eventName"] = before ? "MODIFY" : "INSERT",
): DynamoDBRecord {
  const keys = after ?? before ?? {};
  sequence += 1;
  return {
    eventID: `event-${sequence}`,
    eventName,
    eventSource: "aws:dynamodb",
    awsRegion: "us-east-1",
    dynamodb: {
      ApproximateCreationDateTime: 1_796_000_000,
      Keys: marshall({ customer_id: keys.customer_id, order_id: keys.order_id }) as never,
      ...(after ? { NewImage: marshall(after, { removeUndefinedValues: true }) as never } : {}),
      ...(before ? { OldImage: marshall(before, { removeUndefinedValues: true }) as never } : {}),
      SequenceNumber: String(sequence),
      SizeBytes: 100,
      StreamViewType: "NEW_AND_OLD_IMAGES",
    },
    eventSourceARN: "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026",
  };
}

type PutAnswer = (entries: PutEventsRequestEntry[]) => { Entries: PutEventsResultEntry[] } | Error;

/** A stand-in for EventBridge: records each call's entries, answers as `answer` says. */
function fakeEventBridge(
  answer: PutAnswer = (entries) => ({ Entries: entries.map(() => ({ EventId: "e" })) }),
) {
  const puts: PutEventsRequestEntry[][] = [];
  return {
    puts,
    async send(command: PutEventsCommand) {
      const entries = command.input.Entries ?? [];
      // Every event the publisher puts is one its schema describes.
      for (const entry of entries)
        validateEventDetail(entry.DetailType ?? "", JSON.parse(entry.Detail ?? ""));
      puts.push(entries);
      const result = answer(entries);
      if (result instanceof Error) throw result;
      return result;
    },
  };
}

function fakeSqs(fail: false | "throw" | "failed" = false) {
  const bodies: EventsDeadLetter[] = [];
  return {
    bodies,
    async send(command: SendMessageBatchCommand) {
      if (fail === "throw") throw Object.assign(new Error("queue unreachable"), { name: "TimeoutError" });
      const entries = command.input.Entries ?? [];
      if (fail === "failed") return { Failed: entries.map((entry) => ({ Id: entry.Id })) };
      for (const entry of entries) bodies.push(JSON.parse(entry.MessageBody ?? "") as EventsDeadLetter);
      return { Successful: entries.map((entry) => ({ Id: entry.Id })) };
    },
  };
}

const sleeps: number[] = [];
const sleep = async (ms: number) => {
  sleeps.push(ms);
};

/** The publisher's log and metric lines, kept off the test output; the tests that need them read them. */
let telemetry: CapturedTelemetry;
beforeEach(() => {
  sleeps.length = 0;
  telemetry = captureTelemetry();
});
afterEach(() => {
  telemetry.restore();
});

describe("the events publisher", () => {
  it("publishes one Transcript Stored event for a new record, without the text", async () => {
    const eventBridge = fakeEventBridge();
    const handler = createHandler(CONFIG, { eventBridge, sqs: fakeSqs(), sleep });

    const result = await handler({ Records: [streamRecord(completed("o-1"))] });

    expect(result).toEqual({ batchItemFailures: [] });
    expect(eventBridge.puts).toHaveLength(1);
    const [entry] = eventBridge.puts[0] ?? [];
    expect(entry).toMatchObject({
      EventBusName: "team-bus",
      Source: "assemblyai.webhooks",
      DetailType: DETAIL_TYPES.stored,
      Time: new Date("2026-12-03T06:00:00.000Z"),
    });
    const detail = JSON.parse(entry?.Detail ?? "{}");
    expect(detail).toMatchObject({
      customer_id: "acme",
      order_id: "o-1",
      transcript_id: "t-o-1",
      status: "completed",
      bucket: "transcripts-bucket",
      transcript_s3_key: "transcripts/acme/o-1/t-o-1.json.gz",
      metadata: { team: "blue" },
      source: "webhook",
    });
    expect(entry?.Detail).not.toContain("the transcript's words");
  });

  it("publishes nothing for a write that changed nothing a subscriber hears of, nor for a deletion", async () => {
    const eventBridge = fakeEventBridge();
    const handler = createHandler(CONFIG, { eventBridge, sqs: fakeSqs(), sleep });
    const stored = completed("o-2");

    await handler({
      Records: [
        streamRecord({ ...stored, assemblyai_deleted: true }, stored),
        streamRecord(undefined, stored, "REMOVE"),
      ],
    });

    expect(eventBridge.puts).toHaveLength(0);
  });

  it("publishes Transcript Failed for an error and for a fetch_failed record, with the reason", async () => {
    const eventBridge = fakeEventBridge();
    const handler = createHandler(CONFIG, { eventBridge, sqs: fakeSqs(), sleep });

    await handler({
      Records: [
        streamRecord({ ...completed("o-3"), status: "error", error: "audio unreadable" }),
        streamRecord({
          ...completed("o-4"),
          status: "fetch_failed",
          error: "AssemblyAI answered 401",
          fetch_retry_status: 401,
          fetch_retry_state: "waiting",
        }),
      ],
    });

    const entries = eventBridge.puts.flat();
    expect(entries.map((entry) => entry.DetailType)).toEqual([DETAIL_TYPES.failed, DETAIL_TYPES.failed]);
    expect(entries.map((entry) => JSON.parse(entry.Detail ?? "{}"))).toEqual([
      expect.objectContaining({ status: "error", reason: "audio unreadable" }),
      expect.objectContaining({
        status: "fetch_failed",
        reason: "AssemblyAI answered 401",
        fetch_status: 401,
        retry_scheduled: true,
      }),
    ]);
  });

  it("puts at most 10 entries and 256 KB per call, in stream order", async () => {
    const eventBridge = fakeEventBridge();
    const handler = createHandler(CONFIG, { eventBridge, sqs: fakeSqs(), sleep });
    const records = Array.from({ length: 25 }, (_, index) => streamRecord(completed(`o-${index}`)));

    await handler({ Records: records });

    expect(eventBridge.puts.map((entries) => entries.length)).toEqual([10, 10, 5]);
    const orders = eventBridge.puts.flat().map((entry) => JSON.parse(entry.Detail ?? "{}").order_id);
    expect(orders).toEqual(records.map((_, index) => `o-${index}`));

    // Entries of 100 KB each: two fit in a call, a third would not.
    const large = pendingEntries([streamRecord(completed("big"))], CONFIG).map((item) => ({
      ...item,
      size: 100 * 1024,
    }));
    const grouped = calls([...large, ...large, ...large]);
    expect(grouped.map((call) => call.length)).toEqual([2, 1]);
    expect(grouped.every((call) => call.reduce((sum, item) => sum + item.size, 0) <= MAX_CALL_BYTES)).toBe(
      true,
    );
  });

  it("counts an entry's size as EventBridge does", () => {
    expect(
      entrySize({ Source: "abc", DetailType: "de", Detail: '{"é":1}', Time: new Date(), Resources: ["arn"] }),
    ).toBe(14 + 3 + 2 + 8 + 3);
  });

  it("sends again only the entries EventBridge refused, after a doubling backoff", async () => {
    let call = 0;
    const eventBridge = fakeEventBridge((entries) => {
      call += 1;
      return {
        Entries: entries.map((_, index) =>
          call === 1 && index === 1
            ? { ErrorCode: "ThrottlingException", ErrorMessage: "Rate exceeded" }
            : { EventId: `e-${call}-${index}` },
        ),
      };
    });
    const handler = createHandler(CONFIG, { eventBridge, sqs: fakeSqs(), sleep });

    const result = await handler({
      Records: [
        streamRecord(completed("o-a")),
        streamRecord(completed("o-b")),
        streamRecord(completed("o-c")),
      ],
    });

    expect(result).toEqual({ batchItemFailures: [] });
    expect(eventBridge.puts.map((entries) => entries.length)).toEqual([3, 1]);
    expect(JSON.parse(eventBridge.puts[1]?.[0]?.Detail ?? "{}").order_id).toBe("o-b");
    expect(sleeps).toEqual([FIRST_RETRY_DELAY_MS]);
  });

  it("keeps an event still refused after its attempts whole in the dead-letter queue, and goes on", async () => {
    const eventBridge = fakeEventBridge((entries) => ({
      Entries: entries.map((entry) =>
        JSON.parse(entry.Detail ?? "{}").order_id === "o-bad"
          ? { ErrorCode: "InternalFailure", ErrorMessage: "try later" }
          : { EventId: "ok" },
      ),
    }));
    const sqs = fakeSqs();
    const handler = createHandler(CONFIG, { eventBridge, sqs, sleep, now: () => 1_796_000_001_000 });
    const bad = streamRecord(completed("o-bad"));

    const result = await handler({ Records: [bad, streamRecord(completed("o-good"))] });

    expect(result).toEqual({ batchItemFailures: [] });
    expect(eventBridge.puts).toHaveLength(PUT_ATTEMPTS);
    expect(sleeps).toEqual([100, 200, 400]);
    expect(sqs.bodies).toHaveLength(1);
    const [letter] = sqs.bodies;
    expect(letter).toMatchObject({
      kind: "event",
      attempts: PUT_ATTEMPTS,
      failed_at: new Date(1_796_000_001_000).toISOString(),
      entry: {
        Source: "assemblyai.webhooks",
        DetailType: DETAIL_TYPES.stored,
        EventBusName: "team-bus",
        Time: "2026-12-03T06:00:00.000Z",
      },
      record: { sequence_number: bad.dynamodb?.SequenceNumber, customer_id: "acme", order_id: "o-bad" },
    });
    expect(letter?.reason).toContain("InternalFailure: try later");
    // The entry as it was refused: putting it again is the same event.
    expect(letter?.entry.Detail).toBe(eventBridge.puts[0]?.[0]?.Detail);
    // What `events dlq` and `events redrive` recognise as the publisher's.
    expect(isEventsDeadLetter(letter)).toBe(true);

    const metricNames = telemetry
      .metrics()
      .flatMap((line) =>
        (
          (line._aws as { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> })
            .CloudWatchMetrics ?? []
        ).flatMap((set) => set.Metrics.map((metric) => metric.Name)),
      );
    expect(metricNames).toContain("EventsDeadLettered");
    expect(metricNames).toContain("EventsPublished");
    expect(telemetry.lines.join("\n")).not.toContain("the transcript's words");
  });

  it("dead-letters every entry of a call that kept failing whole", async () => {
    const eventBridge = fakeEventBridge(() =>
      Object.assign(new Error("denied"), { name: "AccessDeniedException" }),
    );
    const sqs = fakeSqs();
    const handler = createHandler(CONFIG, { eventBridge, sqs, sleep });

    const result = await handler({
      Records: [streamRecord(completed("o-x")), streamRecord(completed("o-y"))],
    });

    expect(result).toEqual({ batchItemFailures: [] });
    expect(sqs.bodies.map((body) => body.record.order_id)).toEqual(["o-x", "o-y"]);
    expect(sqs.bodies[0]?.reason).toContain("AccessDeniedException: denied");
  });

  it.each(["throw", "failed"] as const)(
    "reports the first record neither published nor kept (dead-letter queue %s), and stops there",
    async (failure) => {
      const eventBridge = fakeEventBridge((entries) => ({
        Entries: entries.map(() => ({ ErrorCode: "InternalFailure", ErrorMessage: "down" })),
      }));
      const handler = createHandler(CONFIG, { eventBridge, sqs: fakeSqs(failure), sleep });
      const records = Array.from({ length: 15 }, (_, index) => streamRecord(completed(`o-${index}`)));

      const result = await handler({ Records: records });

      // Lambda retries from the first record; the second call (records 10 to 14) was never made.
      expect(result).toEqual({
        batchItemFailures: [{ itemIdentifier: records[0]?.dynamodb?.SequenceNumber }],
      });
      expect(new Set(eventBridge.puts.map((entries) => entries.length))).toEqual(new Set([10]));
    },
  );
});

describe("the publisher's configuration", () => {
  const env = {
    STACK_NAME: "s",
    EVENT_BUS_NAME: "bus",
    EVENT_SOURCE: "assemblyai.webhooks",
    BUCKET_NAME: "b",
    EVENTS_DLQ_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/q",
  };

  it("reads every variable", () => {
    expect(loadConfig(env)).toEqual({
      stackName: "s",
      eventBusName: "bus",
      eventSource: "assemblyai.webhooks",
      bucketName: "b",
      deadLetterQueueUrl: env.EVENTS_DLQ_URL,
    });
  });

  it.each([
    ["EVENT_BUS_NAME", "", "EVENT_BUS_NAME is required"],
    ["EVENT_SOURCE", "aws.s3", 'EVENT_SOURCE must not start with "aws."'],
    ["EVENTS_DLQ_URL", "queue", "EVENTS_DLQ_URL must be a URL"],
  ])("refuses %s=%j at cold start, naming it", (name, value, message) => {
    expect(() => loadConfig({ ...env, [name]: value })).toThrow(message);
  });
});
