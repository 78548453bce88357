/**
 * `usage` and `erase`: the pure parts (aggregation, formats, erasure planning, batches) without mocks, and the
 * commands in-process over mocked clients for what the local stack cannot show: a partial failure (exit 3,
 * each failure listed), the confirmation, the event put on a bus, a stack without a usage table.
 */

import { readFileSync } from "node:fs";
import * as path from "node:path";
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { DeleteObjectsCommand, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import Ajv from "ajv";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-jest";
import {
  assemblyAiTranscriptIds,
  batches,
  customerErasedDetail,
  type ErasurePlan,
  erasablePrefixes,
  orderOfKey,
  ordersToTombstone,
  planCounts,
} from "../../../cli/erasure-plan";
import { aggregateUsage, formatUsageCsv, formatUsageTable, type UsageDay } from "../../../cli/usage";
import { toAttributeMap } from "../../../functions/shared/attribute-values";
import { fakeTarget, runCli } from "./support";

const day = (customer_id: string, dayText: string, seconds: number, transcripts = 1): UsageDay => ({
  customer_id,
  day: dayText,
  transcripts,
  audio_seconds: seconds,
  streaming_sessions: 0,
  streaming_ms: 0,
});

describe("aggregateUsage", () => {
  it("sums each customer's days from the first day on, sorted by hours, with totals", () => {
    const report = aggregateUsage(
      [
        day("small", "2026-11-20", 60),
        day("big", "2026-11-20", 3600),
        day("big", "2026-11-21", 1800, 2),
        day("old", "2026-10-01", 99_999),
      ],
      "2026-11-01",
    );

    expect(
      report.customers.map((each) => [each.customer_id, each.audio_seconds, each.transcripts, each.days]),
    ).toEqual([
      ["big", 5400, 3, 2],
      ["small", 60, 1, 1],
    ]);
    expect(report.customers[0]?.hours).toBe(1.5);
    expect(report.totals).toMatchObject({ transcripts: 4, audio_seconds: 5460 });
  });

  it("adds streaming sessions' milliseconds to the hours", () => {
    const report = aggregateUsage(
      [{ ...day("s", "2026-11-20", 0, 0), streaming_sessions: 2, streaming_ms: 1_800_000 }],
      "2026-11-01",
    );
    expect(report.customers[0]).toMatchObject({ hours: 0.5, streaming_sessions: 2 });
  });

  it("formats a table with a TOTAL line and CSV that quotes ids with commas and quotes", () => {
    const report = aggregateUsage(
      [day('a,"b"', "2026-11-20", 7200), day("c", "2026-11-20", 3600)],
      "2026-11-01",
    );

    const table = formatUsageTable(report);
    expect(table.split("\n")[0]).toMatch(/^CUSTOMER\s+HOURS\s+TRANSCRIPTS\s+AUDIO SECONDS/);
    expect(table).toMatch(/\nTOTAL\s+3\.00\s+2\s+10800/);
    expect(formatUsageCsv(report).split("\n")).toEqual([
      "customer_id,hours,transcripts,audio_seconds,streaming_sessions,streaming_ms,days",
      '"a,""b""",2,1,7200,0,0,1',
      "c,1,1,3600,0,0,1",
    ]);
    expect(formatUsageTable(aggregateUsage([], "2026-11-01"))).toBe("no usage since 2026-11-01");
  });
});

const plan = (overrides: Partial<ErasurePlan> = {}): ErasurePlan => ({
  scope: { customerId: "acme" },
  records: [
    { order_id: "o-1", transcript_id: "t-1", kind: undefined, other_transcript_ids: ["t-0"] },
    { order_id: "o-2", transcript_id: "s-1", kind: "streaming_session", other_transcript_ids: [] },
  ],
  tombstones: [],
  objects: [
    { key: "transcripts/acme/o-1/t-1.json.gz", versionId: "v1", deleteMarker: false, size: 100 },
    { key: "transcripts/acme/o-1/t-1.json.gz", versionId: "v2", deleteMarker: false, size: 120 },
    { key: "transcripts/acme/o-1/t-9.json.gz", versionId: "v1", deleteMarker: false, size: 10 },
    { key: "transcripts/acme/o-2/s-1.json.gz", versionId: "v1", deleteMarker: false, size: 50 },
    { key: "unknown/acme/o%2F3/x.json", versionId: "v1", deleteMarker: true, size: 0 },
  ],
  usageDays: ["2026-11-20"],
  ...overrides,
});

describe("erasure planning", () => {
  it("looks under each prefix at the customer's own segment, ending in a slash", () => {
    expect(erasablePrefixes({ customerId: "acme" })).toEqual([
      "transcripts/acme/",
      "redacted-audio/acme/",
      "unknown/acme/",
    ]);
    expect(erasablePrefixes({ customerId: "a/b.c", orderId: "o 1" })).toEqual([
      "transcripts/a%2Fb%2Ec/o%201/",
      "redacted-audio/a%2Fb%2Ec/o%201/",
      "unknown/a%2Fb%2Ec/o%201/",
    ]);
  });

  it("tombstones every record's order and every order its objects name, except those already erased", () => {
    expect(ordersToTombstone(plan())).toEqual(["o-1", "o-2", "o/3"]);
    expect(ordersToTombstone(plan({ tombstones: ["o-2"] }))).toEqual(["o-1", "o/3"]);
    expect(ordersToTombstone(plan({ scope: { customerId: "acme", orderId: "o-7" } }))).toEqual(["o-7"]);
    expect(orderOfKey("transcripts/acme/abc~0123/t.json.gz", "acme")).toBeUndefined();
  });

  it("deletes at AssemblyAI every transcript the records and keys name, never a streaming session", () => {
    expect(assemblyAiTranscriptIds(plan())).toEqual(["t-0", "t-1", "t-9"]);
  });

  it("counts versions, delete markers and bytes", () => {
    expect(planCounts(plan())).toEqual({
      records: 2,
      object_versions: 4,
      delete_markers: 1,
      bytes: 280,
      usage_items: 1,
    });
  });

  it("batches by 1,000", () => {
    expect(
      batches(
        Array.from({ length: 2_345 }, (_, i) => i),
        1_000,
      ).map((batch) => batch.length),
    ).toEqual([1_000, 1_000, 345]);
  });

  it("builds details its published schema accepts, for a customer and for an order", () => {
    const schema = JSON.parse(
      readFileSync(path.join(__dirname, "../../../docs/events/customer-erased.v1.schema.json"), "utf8"),
    );
    // Formats are not checked here (no ajv-formats); the date is an ISO string by construction.
    const validate = new Ajv({ strict: true, validateFormats: false }).compile(schema);
    const summary = {
      customer_id: "acme",
      dry_run: false,
      records: 1,
      object_versions: 2,
      delete_markers: 0,
      bytes: 10,
      usage_items: 0,
      tombstones: 1,
      late_objects: 0,
      assemblyai: { deleted: 1, not_found: 0, transcript_ids: ["t-1"] },
      event: "not_sent",
      failures: [],
    } as const;
    const at = new Date("2026-12-01T10:00:00.000Z");

    for (const detail of [
      customerErasedDetail(summary, at),
      customerErasedDetail({ ...summary, order_id: "o-1" }, at),
    ]) {
      expect({ valid: validate(detail), errors: validate.errors }).toEqual({ valid: true, errors: null });
    }
    expect(validate({ ...customerErasedDetail(summary, at), text: "content" })).toBe(false);
  });

  it("puts counts in the event's detail, never content", () => {
    const detail = customerErasedDetail(
      {
        customer_id: "acme",
        dry_run: false,
        records: 2,
        object_versions: 4,
        delete_markers: 1,
        bytes: 280,
        usage_items: 1,
        tombstones: 3,
        late_objects: 0,
        event: "not_sent",
        failures: [],
      },
      new Date("2026-12-01T10:00:00.000Z"),
    );
    expect(detail).toEqual({
      schema_version: 1,
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      customer_id: "acme",
      erased_at: "2026-12-01T10:00:00.000Z",
      records: 2,
      object_versions: 4,
      delete_markers: 1,
      bytes: 280,
      usage_items: 1,
      failures: 0,
    });
  });
});

const dynamodb = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
const events = mockClient(EventBridgeClient);

beforeEach(() => {
  dynamodb.reset();
  s3.reset();
  events.reset();
  dynamodb.on(QueryCommand, { TableName: "transcripts" }).resolves({
    Items: [
      toAttributeMap({ customer_id: "acme", order_id: "o-1", transcript_id: "t-1", status: "completed" }),
    ],
  });
  dynamodb.on(QueryCommand, { TableName: "usage" }).resolves({
    Items: [toAttributeMap({ day: "2026-11-20" })],
  });
  dynamodb.on(GetItemCommand).resolves({});
  dynamodb.on(PutItemCommand).resolves({});
  dynamodb.on(DeleteItemCommand).resolves({});
  // The customer's two versions, listed by the plan; the second listing (after the deletes) finds none.
  let listings = 0;
  s3.on(ListObjectVersionsCommand).callsFake((input: { Prefix?: string }) => {
    if (input.Prefix !== "transcripts/acme/" || ++listings > 1) return {};
    return {
      Versions: [
        { Key: "transcripts/acme/o-1/t-1.json.gz", VersionId: "v1", Size: 10 },
        { Key: "transcripts/acme/o-1/t-1.json.gz", VersionId: "v2", Size: 12 },
      ],
    };
  });
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e-1" }] });
});

describe("erase, in-process", () => {
  const NOW = new Date("2026-12-01T10:00:00.000Z");

  it("exits 3 and lists each object S3 refused, with the rest done", async () => {
    s3.on(DeleteObjectsCommand).resolves({
      Errors: [
        { Key: "transcripts/acme/o-1/t-1.json.gz", VersionId: "v2", Code: "AccessDenied", Message: "Denied" },
      ],
    });
    const target = fakeTarget({ usageTableName: "usage" });

    const run = await runCli(["--json", "erase", "--customer-id", "acme", "--yes"], { target, now: NOW });

    expect(run.code).toBe(3);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ records: 1, object_versions: 2, usage_items: 1, event: "no_event_bus" });
    expect(summary.failures).toEqual([
      {
        what: "object",
        item: "transcripts/acme/o-1/t-1.json.gz (version v2)",
        error: "AccessDenied: Denied",
      },
    ]);
    expect(s3).toHaveReceivedCommandWith(DeleteObjectsCommand, {
      Delete: {
        Objects: [
          { Key: "transcripts/acme/o-1/t-1.json.gz", VersionId: "v1" },
          { Key: "transcripts/acme/o-1/t-1.json.gz", VersionId: "v2" },
        ],
        Quiet: true,
      },
    });
    expect(dynamodb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: "transcripts",
      Item: toAttributeMap({
        customer_id: "acme",
        order_id: "o-1",
        erased_at: NOW.toISOString(),
        expires_at: Math.floor(NOW.getTime() / 1000) + 35 * 86_400,
      }),
    });
    expect(dynamodb).toHaveReceivedCommandWith(DeleteItemCommand, {
      TableName: "usage",
      Key: toAttributeMap({ customer_id: "acme", day: "2026-11-20" }),
    });
    expect(run.stderr).toMatch(/^audit: \{"audit":"customer_erased",.*"failures":1\}$/m);
  });

  it("puts Customer Erased on the stack's bus, with the stack's source", async () => {
    s3.on(DeleteObjectsCommand).resolves({});
    const target = fakeTarget({
      usageTableName: "usage",
      eventBusName: "bus-1",
      eventSource: "acme.webhooks",
    });

    const run = await runCli(["--json", "erase", "--customer-id", "acme", "--yes"], { target, now: NOW });

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ event: "sent", failures: [] });
    const entry = events.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({
      EventBusName: "bus-1",
      Source: "acme.webhooks",
      DetailType: "Customer Erased",
    });
    expect(JSON.parse(String(entry?.Detail))).toMatchObject({
      customer_id: "acme",
      records: 1,
      object_versions: 2,
    });
  });

  it("asks on a terminal and erases nothing unless the answer is yes", async () => {
    const target = fakeTarget({ usageTableName: "usage" });

    const run = await runCli(["erase", "--customer-id", "acme"], { target, tty: true, stdin: "n\r" });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Erasing customer acme removes:\n {2}1 record/);
    expect(run.stderr).toMatch(/not confirmed: nothing was erased/);
    expect(dynamodb).not.toHaveReceivedCommand(PutItemCommand);
    expect(s3).not.toHaveReceivedCommand(DeleteObjectsCommand);
  });

  it("lists an AssemblyAI deletion that failed, after erasing what is stored", async () => {
    s3.on(DeleteObjectsCommand).resolves({});
    const target = fakeTarget({
      usageTableName: "usage",
      assemblyAi: async () => ({ apiKey: "key", baseUrl: "http://127.0.0.1:1" }),
    });

    const run = await runCli(["--json", "erase", "--customer-id", "acme", "--yes", "--also-assemblyai"], {
      target,
      now: NOW,
    });

    expect(run.code).toBe(3);
    const summary = JSON.parse(run.stdout);
    expect(summary.assemblyai).toEqual({ deleted: 0, not_found: 0, transcript_ids: ["t-1"] });
    expect(summary.failures).toEqual([
      { what: "assemblyai", item: "t-1", error: expect.stringMatching(/fetch failed|ECONNREFUSED/) },
    ]);
    expect(s3).toHaveReceivedCommand(DeleteObjectsCommand);
  });
});

describe("usage, in-process", () => {
  it("says what to do on a stack without a usage table", async () => {
    const run = await runCli(["usage"], { target: fakeTarget() });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/has no usage table \(output UsageTableName\): deploy this version/);
  });

  it("refuses --csv with --json, and a --since in the future", async () => {
    const target = fakeTarget({ usageTableName: "usage" });
    expect((await runCli(["--json", "usage", "--csv"], { target })).code).toBe(2);
    const future = await runCli(["usage", "--since", "2999-01-01"], { target });
    expect(future.code).toBe(2);
    expect(future.stderr).toMatch(/--since 2999-01-01 is in the future/);
  });

  it("queries one customer's days from the first day of --since", async () => {
    dynamodb.on(QueryCommand, { TableName: "usage" }).resolves({
      Items: [toAttributeMap({ customer_id: "acme", day: "2026-11-20", transcripts: 2, audio_seconds: 90 })],
      ScannedCount: 1,
    });
    const target = fakeTarget({ usageTableName: "usage" });

    const run = await runCli(["--json", "usage", "--customer-id", "acme", "--since", "30d"], {
      target,
      now: new Date("2026-12-01T10:00:00.000Z"),
    });

    expect(run.code).toBe(0);
    expect(dynamodb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: "usage",
      KeyConditionExpression: "#customer = :customer AND #day >= :since",
      ExpressionAttributeValues: toAttributeMap({ ":customer": "acme", ":since": "2026-11-01" }),
    });
    expect(JSON.parse(run.stdout)).toMatchObject({
      since_day: "2026-11-01",
      customers: [{ customer_id: "acme", transcripts: 2, audio_seconds: 90 }],
      read: { requests: 1, items: 1 },
    });
  });
});
