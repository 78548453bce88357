/**
 * 7. Per-customer operations on moto, through the CLI's own code (cli/usage.ts, cli/erase.ts):
 * - `usage` for one customer with 10,000 records of other customers in the table: its time and what it
 *   reads (its own counter items, a Query), against summing `audio_duration` with a Scan of the record
 *   table, the approach the counters replace; measured with the others' records absent and present.
 * - `erase` of a customer holding 1,000 object versions (500 keys, 2 versions each) and 50 records: its time,
 *   against deleting the same versions one DeleteObject request each.
 */
import { BatchWriteItemCommand, PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { executeErasure, listVersions, planErasure } from "../../cli/erase";
import { localTarget, type StackTarget } from "../../cli/stack";
import { aggregateUsage, type ReadCost, readUsageDays } from "../../cli/usage";
import { fromAttributeMap, toAttributeMap } from "../../functions/shared/attribute-values";
import { mapWithConcurrency } from "../../functions/shared/concurrency";
import { startEmulator } from "../../local/emulator";
import { createResources } from "../../local/resources";
import type { LocalStackContract } from "../../local/start";
import { progress } from "../lib/proc";
import { median } from "../lib/stats";
import { type BenchOptions, ms, type Row, type SectionResult, x } from "../lib/types";

const REGION = "us-east-1";
const OTHER_RECORDS = 10_000;
const CUSTOMER_DAYS = 30;
const ERASE_KEYS = 500;
const VERSIONS_PER_KEY = 2;
const ERASE_RECORDS = 50;
const USAGE_RUNS = 15;

async function timed<T>(action: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await action();
  return { ms: performance.now() - started, value };
}

/** What the counters replace: every record read, this customer's durations summed. */
async function scanUsage(target: StackTarget, customerId: string, cost: ReadCost): Promise<number> {
  let seconds = 0;
  let start: Record<string, import("@aws-sdk/client-dynamodb").AttributeValue> | undefined;
  do {
    const page = await target.dynamodb.send(
      new ScanCommand({ TableName: target.tableName, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    cost.requests += 1;
    cost.itemsRead += page.ScannedCount ?? 0;
    for (const item of page.Items ?? []) {
      const record = fromAttributeMap(item);
      if (record.customer_id === customerId) seconds += Number(record.audio_duration ?? 0);
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return seconds;
}

async function usageRuns(target: StackTarget, customerId: string, since: string) {
  const times: number[] = [];
  const cost: ReadCost = { requests: 0, itemsRead: 0 };
  let seconds = 0;
  for (let run = 0; run < USAGE_RUNS; run += 1) {
    const each: ReadCost = { requests: 0, itemsRead: 0 };
    const { ms: took, value } = await timed(() => readUsageDays(target, since, customerId, each));
    times.push(took);
    seconds = aggregateUsage(value, since).totals.audio_seconds;
    Object.assign(cost, each);
  }
  return { p50: median(times), cost, seconds };
}

async function scanRuns(target: StackTarget, customerId: string) {
  const times: number[] = [];
  const cost: ReadCost = { requests: 0, itemsRead: 0 };
  for (let run = 0; run < 3; run += 1) {
    const each: ReadCost = { requests: 0, itemsRead: 0 };
    times.push((await timed(() => scanUsage(target, customerId, each))).ms);
    Object.assign(cost, each);
  }
  return { p50: median(times), cost };
}

export async function customers(_options: BenchOptions): Promise<SectionResult> {
  progress("customers: starting moto");
  const emulator = await startEmulator();
  let target: StackTarget | undefined;
  try {
    const resources = await createResources({ endpoint: emulator.endpoint, region: REGION }, [
      { region: "us", apiKey: "bench" },
    ]);
    const contract = {
      awsEndpoint: emulator.endpoint,
      dynamodbEndpoint: emulator.endpoint,
      region: REGION,
      tableName: resources.tableName,
      usageTableName: resources.usageTableName,
      bucketName: resources.bucketName,
      queueUrl: resources.queueUrl,
      dlqUrl: resources.dlqUrl,
      webhookUrl: "http://127.0.0.1:1/webhook",
      authHeaderName: "X-Webhook-Secret",
      authHeaderValue: "unused",
      assemblyAiBaseUrl: "http://127.0.0.1:1",
      assemblyAiApiKey: "unused",
    } as LocalStackContract;
    target = localTarget(contract, emulator.endpoint);
    const measured = target;

    // The customer measured: a record and a counter item per day, as the worker writes them.
    const customerId = "bench-customer";
    let expectedSeconds = 0;
    for (let day = 1; day <= CUSTOMER_DAYS; day += 1) {
      const dayText = `2026-11-${String(day).padStart(2, "0")}`;
      const seconds = 60 * day;
      expectedSeconds += seconds;
      await measured.dynamodb.send(
        new PutItemCommand({
          TableName: resources.tableName,
          Item: toAttributeMap({ customer_id: customerId, order_id: `o-${day}`, audio_duration: seconds }),
        }),
      );
      await measured.dynamodb.send(
        new PutItemCommand({
          TableName: resources.usageTableName,
          Item: toAttributeMap({
            customer_id: customerId,
            day: dayText,
            transcripts: 1,
            audio_seconds: seconds,
          }),
        }),
      );
    }
    const since = "2026-11-01";
    progress("customers: usage with the customer's records alone");
    const alone = await usageRuns(measured, customerId, since);
    const scanAlone = await scanRuns(measured, customerId);

    progress(`customers: writing ${OTHER_RECORDS} records of other customers`);
    const batches = Array.from({ length: OTHER_RECORDS / 25 }, (_, batch) => batch);
    await mapWithConcurrency(batches, 4, async (batch) => {
      await measured.dynamodb.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [resources.tableName]: Array.from({ length: 25 }, (_, index) => ({
              PutRequest: {
                Item: toAttributeMap({
                  customer_id: `other-${batch % 400}`,
                  order_id: `o-${batch}-${index}`,
                  transcript_id: `t-${batch}-${index}`,
                  status: "completed",
                  audio_duration: 120,
                  text: "x".repeat(200),
                }),
              },
            })),
          },
        }),
      );
    });
    progress("customers: usage with 10,000 other records");
    const crowded = await usageRuns(measured, customerId, since);
    const scanCrowded = await scanRuns(measured, customerId);
    if (crowded.seconds !== expectedSeconds) {
      throw new Error(`usage summed ${crowded.seconds} s, expected ${expectedSeconds}`);
    }

    // Erase: 500 keys with 2 versions each, 50 records.
    progress(`customers: writing ${ERASE_KEYS * VERSIONS_PER_KEY} object versions to erase`);
    const erased = "bench-erased";
    const keys = Array.from(
      { length: ERASE_KEYS },
      (_, index) => `transcripts/${erased}/o-${index % ERASE_RECORDS}/t-${index}.json.gz`,
    );
    const writeVersions = async () => {
      for (let version = 0; version < VERSIONS_PER_KEY; version += 1) {
        await mapWithConcurrency(keys, 8, (key) =>
          measured.s3.send(
            new PutObjectCommand({ Bucket: resources.bucketName, Key: key, Body: `v${version}` }),
          ),
        );
      }
    };
    await writeVersions();
    for (let index = 0; index < ERASE_RECORDS; index += 1) {
      await measured.dynamodb.send(
        new PutItemCommand({
          TableName: resources.tableName,
          Item: toAttributeMap({ customer_id: erased, order_id: `o-${index}`, transcript_id: `t-${index}` }),
        }),
      );
    }
    progress("customers: erase");
    const erase = await timed(async () => {
      const plan = await planErasure(measured, { customerId: erased });
      return executeErasure(measured, plan, { alsoAssemblyAi: false, now: () => new Date() });
    });
    if (erase.value.failures.length > 0 || erase.value.object_versions !== ERASE_KEYS * VERSIONS_PER_KEY) {
      throw new Error(`erase: ${JSON.stringify(erase.value)}`);
    }
    progress("customers: the same versions deleted one request each");
    await writeVersions();
    const oneByOne = await timed(async () => {
      const versions = await listVersions(measured, [`transcripts/${erased}/`]);
      await mapWithConcurrency(versions, 8, (version) =>
        measured.s3.send(
          new DeleteObjectCommand({
            Bucket: resources.bucketName,
            Key: version.key,
            VersionId: version.versionId,
          }),
        ),
      );
      return versions.length;
    });

    const section = "7 per customer";
    const rows: Row[] = [
      {
        section,
        metric: `usage, one customer (${CUSTOMER_DAYS} days), ${OTHER_RECORDS} other records: p50`,
        ours: ms(crowded.p50),
        baseline: `Scan ${ms(scanCrowded.p50)}`,
        ratio: x(crowded.p50 / scanCrowded.p50),
        target: "faster than a Scan",
        verdict: crowded.p50 < scanCrowded.p50 ? "met" : "MISSED",
      },
      {
        section,
        metric: "usage, one customer: items read without / with the other records",
        ours: `${alone.cost.itemsRead} / ${crowded.cost.itemsRead}`,
        baseline: `Scan ${scanAlone.cost.itemsRead} / ${scanCrowded.cost.itemsRead}`,
        ratio: x(crowded.cost.itemsRead / scanCrowded.cost.itemsRead),
        target: "does not grow",
        verdict: crowded.cost.itemsRead === alone.cost.itemsRead ? "met" : "MISSED",
      },
      {
        section,
        metric: `erase: ${ERASE_KEYS * VERSIONS_PER_KEY} object versions, ${ERASE_RECORDS} records`,
        ours: ms(erase.ms, 0),
        baseline: `1 DeleteObject each ${ms(oneByOne.ms, 0)}`,
        ratio: x(erase.ms / oneByOne.ms),
        target: "< 30 s",
        verdict: erase.ms < 30_000 ? "met" : "MISSED",
      },
    ];
    const notes = [
      `Per customer: moto on this machine, through the CLI's code (cli/usage.ts, cli/erase.ts). usage reads ` +
        `the customer's counter items with one Query (${crowded.cost.requests} request, ${crowded.cost.itemsRead} items), ` +
        `whatever else the table holds; the Scan it replaces reads every record (${scanCrowded.cost.itemsRead} items in ` +
        `${scanCrowded.cost.requests} requests). erase deletes versions 1,000 per DeleteObjects request; the time includes ` +
        "planning (Query, ListObjectVersions), tombstones and the second listing.",
    ];
    return {
      rows,
      notes,
      data: {
        usage: { alone, crowded, scanAlone, scanCrowded, expectedSeconds },
        erase: {
          ms: erase.ms,
          summary: erase.value,
          oneByOneMs: oneByOne.ms,
          oneByOneVersions: oneByOne.value,
        },
      },
    };
  } finally {
    target?.close();
    await emulator.stop();
  }
}
