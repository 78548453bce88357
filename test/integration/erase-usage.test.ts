/**
 * `usage` and `erase` on the local stack, as an operator runs them: customers seeded side by side through the
 * simulator and the pipeline (transcripts, a streaming session, duplicate deliveries), then counted and
 * erased. Erasing one customer removes its records and every version of its objects, and nothing of its
 * neighbour (whose id starts with the erased one's); `--dry-run` removes nothing; a late delivery of an
 * erased order is dropped, not stored again. `usage` matches the stored durations exactly, and what it
 * reads does not grow with other customers' records.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { BatchWriteItemCommand, PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { DeleteObjectCommand, ListObjectVersionsCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { ErasureSummary } from "../../cli/erasure-plan";
import type { UsageReport } from "../../cli/usage";
import { toAttributeMap } from "../../functions/shared/attribute-values";
import { BUCKET_PREFIXES } from "../../functions/shared/contract/resources";
import { runCli, runCliJson } from "./cli-support";
import { audioUrl, eventually, LOCAL_CREDENTIALS, type LocalStack, uniqueId, useLocalStack } from "./support";

jest.setTimeout(120_000);

const stack = useLocalStack();

type UsageJson = UsageReport & { read: { requests: number; items: number } };

/** Every version and delete marker under a customer's prefixes, as `key@version` (sorted). */
async function versionsOf(s: LocalStack, customerId: string): Promise<string[]> {
  const found: string[] = [];
  for (const prefix of Object.values(BUCKET_PREFIXES)) {
    const page = await s.s3.send(
      new ListObjectVersionsCommand({ Bucket: s.contract.bucketName, Prefix: `${prefix}${customerId}/` }),
    );
    for (const each of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
      found.push(`${each.Key}@${each.VersionId}`);
    }
  }
  return found.sort();
}

/** Two transcripts, one streaming session and one duplicate delivery for a customer, all stored. */
async function seedCustomer(s: LocalStack, customerId: string, words: [number, number]): Promise<string[]> {
  const first = await s.submit(customerId, "o-1", { audioUrl: audioUrl({ words: words[0] }) });
  const second = await s.submit(customerId, "o-2", { audioUrl: audioUrl({ words: words[1] }) });
  await s.endStreamingSession(customerId, "o-3", { text: "Hello there. Thanks for calling." });
  await Promise.all([
    s.waitForRecord(customerId, "o-1", (record) => record.status === "completed", 30_000),
    s.waitForRecord(customerId, "o-2", (record) => record.status === "completed", 30_000),
    s.waitForRecord(customerId, "o-3", (record) => record.status === "completed", 30_000),
  ]);
  // AssemblyAI delivers the first transcript again (a retry after a timeout): a duplicate, stored once.
  const again = await s.postWebhook(s.webhookUrl(customerId, "o-1"), {
    transcript_id: first.id,
    status: "completed",
  });
  expect(again.status).toBe(200);
  await s.waitForLog(
    (line) => line.outcome === "duplicate" && line.transcript_id === first.id,
    30_000,
    `the duplicate of ${first.id}`,
  );
  return [first.id, second.id];
}

describe("usage and erase on the local stack", () => {
  const erased = uniqueId("erase");
  // Its id starts with the erased customer's: a prefix without the segment's slash would take it too.
  const neighbour = `${erased}x`;
  let erasedTranscripts: string[] = [];

  beforeAll(async () => {
    const s = stack();
    [erasedTranscripts] = await Promise.all([
      seedCustomer(s, erased, [30, 45]),
      seedCustomer(s, neighbour, [60, 20]),
    ]);
    // A second version of a stored object, and an order left with only a deleted object (a delete marker).
    const firstKey = String((await s.getRecord(erased, "o-1"))?.transcript_s3_key);
    const body = await s.getObject(firstKey);
    await s.s3.send(new PutObjectCommand({ Bucket: s.contract.bucketName, Key: firstKey, Body: body }));
    const stray = `${BUCKET_PREFIXES.unknown}${erased}/o-9/stray.json`;
    await s.s3.send(new PutObjectCommand({ Bucket: s.contract.bucketName, Key: stray, Body: "{}" }));
    await s.s3.send(new DeleteObjectCommand({ Bucket: s.contract.bucketName, Key: stray }));
  }, 110_000);

  it("usage sums each customer's stored durations exactly, the duplicate counted once", async () => {
    const s = stack();
    const records = [...(await s.recordsOf(erased)), ...(await s.recordsOf(neighbour))];
    const expected = (customerId: string) => {
      const mine = records.filter((record) => record.customer_id === customerId);
      return {
        transcripts: mine.filter((record) => record.kind !== "streaming_session").length,
        audio_seconds: mine.reduce((all, record) => all + (record.audio_duration ?? 0), 0),
        streaming_sessions: mine.filter((record) => record.kind === "streaming_session").length,
        streaming_ms: mine.reduce((all, record) => all + Number(record.duration_ms ?? 0), 0),
      };
    };

    const report = await runCliJson<UsageJson>(s, ["usage", "--since", "1d"]);

    for (const customerId of [erased, neighbour]) {
      const row = report.customers.find((each) => each.customer_id === customerId);
      expect(row).toMatchObject({ ...expected(customerId), transcripts: 2, streaming_sessions: 1 });
      expect(row?.audio_seconds).toBeGreaterThan(0);
    }
    const one = await runCliJson<UsageJson>(s, ["usage", "--customer-id", erased]);
    expect(one.customers).toEqual([expect.objectContaining(expected(erased))]);
    expect(one.totals).toMatchObject(expected(erased));
  });

  it("usage prints a table sorted by hours with totals, and CSV", async () => {
    const s = stack();
    const table = await runCli(s, ["usage", "--customer-id", neighbour]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^CUSTOMER\s+HOURS\s+TRANSCRIPTS/);
    expect(table.stdout).toMatch(/\nTOTAL\s+\d+\.\d\d\s+2\s/);

    const csv = await runCli(s, ["usage", "--csv"]);
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trim().split("\n");
    expect(lines[0]).toBe("customer_id,hours,transcripts,audio_seconds,streaming_sessions,streaming_ms,days");
    expect(
      lines.filter((line) => line.startsWith(`${erased},`) || line.startsWith(`${neighbour},`)),
    ).toHaveLength(2);
  });

  it("usage reads the same for one customer however many other records the table holds", async () => {
    const s = stack();
    const before = await runCliJson<UsageJson>(s, ["usage", "--customer-id", erased]);
    const countersBefore = (
      await s.dynamodb.send(
        new ScanCommand({ TableName: String(s.contract.usageTableName), Select: "COUNT" }),
      )
    ).Count;

    // 500 records of other customers, written straight to the table (no counters: a record alone).
    const others = uniqueId("others");
    for (let batch = 0; batch < 20; batch += 1) {
      await s.dynamodb.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [s.contract.tableName]: Array.from({ length: 25 }, (_, index) => ({
              PutRequest: {
                Item: toAttributeMap({
                  customer_id: `${others}-${batch}`,
                  order_id: `o-${index}`,
                  transcript_id: `t-${batch}-${index}`,
                  status: "completed",
                  audio_duration: 100,
                }),
              },
            })),
          },
        }),
      );
    }
    const after = await runCliJson<UsageJson>(s, ["usage", "--customer-id", erased]);
    const all = await runCliJson<UsageJson>(s, ["usage"]);

    expect(after.read).toEqual(before.read);
    expect(after.read).toEqual({ requests: 1, items: 1 });
    // All customers: the counters, never the records.
    expect(all.read.items).toBe(countersBefore);
    expect(all.customers.some((each) => each.customer_id.startsWith(others))).toBe(false);
  });

  it("erase --dry-run lists what would go and removes nothing", async () => {
    const s = stack();
    const versionsBefore = await versionsOf(s, erased);
    const recordsBefore = await s.recordsOf(erased);

    const plan = await runCliJson<ErasureSummary>(s, ["erase", "--customer-id", erased, "--dry-run"]);

    expect(plan).toMatchObject({
      dry_run: true,
      records: 3,
      delete_markers: 1,
      usage_items: 1,
      failures: [],
    });
    expect(plan.object_versions + plan.delete_markers).toBe(versionsBefore.length);
    expect(plan.bytes).toBeGreaterThan(0);
    expect(await versionsOf(s, erased)).toEqual(versionsBefore);
    expect(await s.recordsOf(erased)).toEqual(recordsBefore);
  });

  it("erase without --yes and without a terminal refuses, and removes nothing", async () => {
    const s = stack();
    const versionsBefore = await versionsOf(s, erased);

    const refused = await runCli(s, ["erase", "--customer-id", erased]);

    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/no terminal to ask on: nothing was erased/);
    expect(await versionsOf(s, erased)).toEqual(versionsBefore);
  });

  describe("erase --yes --also-assemblyai", () => {
    let summary: ErasureSummary;
    let stderr = "";
    let neighbourVersions: string[] = [];
    let neighbourRecords: unknown[] = [];

    beforeAll(async () => {
      const s = stack();
      neighbourVersions = await versionsOf(s, neighbour);
      neighbourRecords = await s.recordsOf(neighbour);
      const run = await runCli(s, ["--json", "erase", "--customer-id", erased, "--yes", "--also-assemblyai"]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
      summary = JSON.parse(run.stdout) as ErasureSummary;
      stderr = run.stderr;
    });

    it("removes every record (each a tombstone now) and every object version and delete marker", async () => {
      const s = stack();
      expect(summary).toMatchObject({
        dry_run: false,
        records: 3,
        delete_markers: 1,
        usage_items: 1,
        failures: [],
      });
      expect(await versionsOf(s, erased)).toEqual([]);
      const items = await s.recordsOf(erased);
      // o-1..o-3 had records; o-9 only a deleted object: all four are tombstones, holding nothing else.
      expect(items.map((item) => item.order_id).sort()).toEqual(["o-1", "o-2", "o-3", "o-9"]);
      for (const item of items) {
        expect(Object.keys(item).sort()).toEqual(["customer_id", "erased_at", "expires_at", "order_id"]);
      }
    });

    it("removes nothing of the neighbour customer", async () => {
      const s = stack();
      expect(await versionsOf(s, neighbour)).toEqual(neighbourVersions);
      expect(await s.recordsOf(neighbour)).toEqual(neighbourRecords);
      const usage = await runCliJson<UsageJson>(s, ["usage", "--since", "1d"]);
      expect(usage.customers.map((each) => each.customer_id)).toContain(neighbour);
      expect(usage.customers.map((each) => each.customer_id)).not.toContain(erased);
    });

    it("deletes the transcripts at AssemblyAI", async () => {
      const s = stack();
      expect(summary.assemblyai).toMatchObject({ deleted: 2, not_found: 0 });
      expect(summary.assemblyai?.transcript_ids).toEqual(expect.arrayContaining(erasedTranscripts));
      for (const id of erasedTranscripts) {
        const transcript = await s.assemblyAi.transcripts.get(id);
        expect(transcript.audio_url).toBe("http://deleted_by_user");
      }
    });

    it("writes one audit line with the counts and no content", () => {
      const audits = stderr.split("\n").filter((line) => line.startsWith("audit: "));
      expect(audits).toHaveLength(1);
      const audit = JSON.parse((audits[0] as string).slice("audit: ".length)) as Record<string, unknown>;
      expect(audit).toMatchObject({
        audit: "customer_erased",
        customer_id: erased,
        records: 3,
        delete_markers: 1,
        failures: 0,
        operator: expect.any(String),
        at: expect.any(String),
      });
      expect(JSON.stringify(audit)).not.toMatch(/Hello there|transcript_s3_key|text/);
    });

    it("drops a late delivery of an erased order instead of storing it again", async () => {
      const s = stack();
      const [first] = erasedTranscripts;
      const late = await s.postWebhook(s.webhookUrl(erased, "o-1"), {
        transcript_id: first,
        status: "completed",
      });
      expect(late.status).toBe(200);
      await s.waitForLog(
        (line) => line.outcome === "erased" && line.customer_id === erased && line.order_id === "o-1",
        30_000,
        "the late delivery dropped as erased",
      );
      expect(Object.keys((await s.getRecord(erased, "o-1")) ?? {}).sort()).toEqual([
        "customer_id",
        "erased_at",
        "expires_at",
        "order_id",
      ]);
      expect(await versionsOf(s, erased)).toEqual([]);
    });

    it("erases one order of the neighbour and leaves its other orders", async () => {
      const s = stack();
      const run = await runCliJson<ErasureSummary>(s, [
        "erase",
        "--customer-id",
        neighbour,
        "--order-id",
        "o-2",
        "--yes",
      ]);
      expect(run).toMatchObject({ records: 1, usage_items: 0, failures: [] });
      expect((await versionsOf(s, neighbour)).some((key) => key.includes(`/${neighbour}/o-2/`))).toBe(false);
      expect((await versionsOf(s, neighbour)).some((key) => key.includes(`/${neighbour}/o-1/`))).toBe(true);
      await eventually(
        async () => ((await s.getRecord(neighbour, "o-1"))?.status === "completed" ? true : undefined),
        {
          timeoutMs: 5_000,
          describe: () => "the neighbour's o-1 record still stored",
        },
      );
    });
  });

  it("puts a Customer Erased event on the bus stack.json names, with its source and the counts", async () => {
    const s = stack();
    const customerId = uniqueId("evented");
    const busName = uniqueId("bus");
    const events = new EventBridgeClient({
      endpoint: s.contract.awsEndpoint,
      region: s.contract.region,
      credentials: LOCAL_CREDENTIALS,
    });
    const stateDir = mkdtempSync(path.join(tmpdir(), "erase-events-"));
    try {
      // A bus with a rule sending Customer Erased to a queue the test reads.
      await events.send(new CreateEventBusCommand({ Name: busName }));
      const queueUrl = String(
        (await s.sqs.send(new CreateQueueCommand({ QueueName: `${busName}-events` }))).QueueUrl,
      );
      const queueArn = (
        await s.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))
      ).Attributes?.QueueArn;
      await events.send(
        new PutRuleCommand({
          Name: `${busName}-erased`,
          EventBusName: busName,
          EventPattern: JSON.stringify({ "detail-type": ["Customer Erased"] }),
        }),
      );
      await events.send(
        new PutTargetsCommand({
          Rule: `${busName}-erased`,
          EventBusName: busName,
          Targets: [{ Id: "queue", Arn: String(queueArn) }],
        }),
      );
      // The stack's contract, naming the bus as the local stack's stack.json does once it has one.
      writeFileSync(
        path.join(stateDir, "stack.json"),
        JSON.stringify({ ...s.contract, eventBusName: busName, eventSource: "test.webhooks" }),
      );
      await s.dynamodb.send(
        new PutItemCommand({
          TableName: s.contract.tableName,
          Item: toAttributeMap({
            customer_id: customerId,
            order_id: "o-1",
            transcript_id: "t-1",
            status: "completed",
          }),
        }),
      );

      const run = await runCli({ stateDir } as LocalStack, [
        "--json",
        "erase",
        "--customer-id",
        customerId,
        "--yes",
      ]);

      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ event: "sent", records: 1, failures: [] });
      const message = await eventually(
        async () =>
          (await s.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 })))
            .Messages?.[0],
        { timeoutMs: 10_000, describe: () => "the Customer Erased event on the queue" },
      );
      const event = JSON.parse(String(message.Body)) as Record<string, unknown>;
      expect(event).toMatchObject({
        "detail-type": "Customer Erased",
        source: "test.webhooks",
        detail: { schema_version: 1, customer_id: customerId, records: 1, object_versions: 0, failures: 0 },
      });
    } finally {
      events.destroy();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
