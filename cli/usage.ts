/**
 * `usage`: audio hours and transcript counts per customer, from the counters the worker keeps (one item per
 * customer per UTC day in the usage table, functions/worker/usage.ts), never from the records: one customer
 * is one Query of its days, all customers one Scan of the counters, whose size grows with customers times
 * days, not with records. The aggregation and the formats are pure.
 */
import { type AttributeValue, QueryCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { fromAttributeMap, toAttributeMap } from "../functions/shared/attribute-values";
import { TABLE_PARTITION_KEY, USAGE_COUNTERS, USAGE_DAY_KEY } from "../functions/shared/contract/resources";
import { CliError, type Column, formatTable } from "./output";
import type { StackTarget } from "./stack";

/** One counter item as stored. */
export interface UsageDay {
  readonly customer_id: string;
  readonly day: string;
  readonly transcripts: number;
  readonly audio_seconds: number;
  readonly streaming_sessions: number;
  readonly streaming_ms: number;
}

export interface CustomerUsage {
  readonly customer_id: string;
  readonly transcripts: number;
  readonly audio_seconds: number;
  readonly streaming_sessions: number;
  readonly streaming_ms: number;
  /** Audio and streaming together, in hours (rounded to 4 decimals; the seconds above are exact). */
  readonly hours: number;
  /** The days with any usage. */
  readonly days: number;
}

export interface UsageReport {
  /** The first day counted (`YYYY-MM-DD`, UTC; counters are per day, so that whole day counts). */
  readonly since_day: string;
  readonly customers: readonly CustomerUsage[];
  readonly totals: Omit<CustomerUsage, "customer_id" | "days">;
}

/** What reading the counters cost: how many requests, and how many items DynamoDB read. */
export interface ReadCost {
  requests: number;
  itemsRead: number;
}

/** The UTC day of an instant: counters are kept per UTC day. */
export function dayOf(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

function counter(item: Readonly<Record<string, unknown>>, name: string): number {
  const value = item[name];
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/** A counter item read back; items that are not counters (no customer or day) are left out. */
export function usageDayFrom(item: Readonly<Record<string, unknown>>): UsageDay | undefined {
  const customerId = item[TABLE_PARTITION_KEY];
  const day = item[USAGE_DAY_KEY];
  if (typeof customerId !== "string" || typeof day !== "string") return undefined;
  return {
    customer_id: customerId,
    day,
    transcripts: counter(item, USAGE_COUNTERS.transcripts),
    audio_seconds: counter(item, USAGE_COUNTERS.audioSeconds),
    streaming_sessions: counter(item, USAGE_COUNTERS.sessions),
    streaming_ms: counter(item, USAGE_COUNTERS.sessionMilliseconds),
  };
}

const hoursOf = (audioSeconds: number, streamingMs: number) =>
  Math.round(((audioSeconds + streamingMs / 1000) / 3600) * 10_000) / 10_000;

/** Per customer, sorted by hours (most first), then transcripts, then customer id; with totals. */
export function aggregateUsage(days: readonly UsageDay[], sinceDay: string): UsageReport {
  const byCustomer = new Map<string, { sums: Omit<UsageDay, "customer_id" | "day">; days: number }>();
  for (const day of days) {
    if (day.day < sinceDay) continue;
    const entry = byCustomer.get(day.customer_id) ?? {
      sums: { transcripts: 0, audio_seconds: 0, streaming_sessions: 0, streaming_ms: 0 },
      days: 0,
    };
    entry.sums = {
      transcripts: entry.sums.transcripts + day.transcripts,
      audio_seconds: entry.sums.audio_seconds + day.audio_seconds,
      streaming_sessions: entry.sums.streaming_sessions + day.streaming_sessions,
      streaming_ms: entry.sums.streaming_ms + day.streaming_ms,
    };
    entry.days += 1;
    byCustomer.set(day.customer_id, entry);
  }
  const customers = [...byCustomer].map(([customerId, { sums, days: count }]) => ({
    customer_id: customerId,
    ...sums,
    hours: hoursOf(sums.audio_seconds, sums.streaming_ms),
    days: count,
  }));
  customers.sort(
    (a, b) =>
      b.audio_seconds + b.streaming_ms / 1000 - (a.audio_seconds + a.streaming_ms / 1000) ||
      b.transcripts + b.streaming_sessions - (a.transcripts + a.streaming_sessions) ||
      (a.customer_id < b.customer_id ? -1 : a.customer_id > b.customer_id ? 1 : 0),
  );
  const sum = (pick: (each: CustomerUsage) => number) => customers.reduce((all, each) => all + pick(each), 0);
  const audioSeconds = sum((each) => each.audio_seconds);
  const streamingMs = sum((each) => each.streaming_ms);
  return {
    since_day: sinceDay,
    customers,
    totals: {
      transcripts: sum((each) => each.transcripts),
      audio_seconds: audioSeconds,
      streaming_sessions: sum((each) => each.streaming_sessions),
      streaming_ms: streamingMs,
      hours: hoursOf(audioSeconds, streamingMs),
    },
  };
}

const USAGE_COLUMNS: readonly Column<CustomerUsage | (UsageReport["totals"] & { customer_id: string })>[] = [
  { header: "CUSTOMER", value: (row) => row.customer_id, maxWidth: 50 },
  { header: "HOURS", value: (row) => row.hours.toFixed(2), align: "right" },
  { header: "TRANSCRIPTS", value: (row) => row.transcripts, align: "right" },
  { header: "AUDIO SECONDS", value: (row) => row.audio_seconds, align: "right" },
  { header: "SESSIONS", value: (row) => row.streaming_sessions, align: "right" },
  { header: "SESSION SECONDS", value: (row) => row.streaming_ms / 1000, align: "right" },
];

/** The table, with a TOTAL line under a rule. */
export function formatUsageTable(report: UsageReport): string {
  if (report.customers.length === 0) return `no usage since ${report.since_day}`;
  const rows = [...report.customers, { customer_id: "TOTAL", ...report.totals }];
  const lines = formatTable(USAGE_COLUMNS, rows).split("\n");
  const rule = lines[1] ?? "";
  return [...lines.slice(0, -1), rule, lines.at(-1) ?? "", "", `since ${report.since_day} (UTC days)`].join(
    "\n",
  );
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled (ids may hold any of them). */
function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One line per customer, in the table's order, no totals line (so every row is a customer). */
export function formatUsageCsv(report: UsageReport): string {
  const header = [
    "customer_id",
    "hours",
    "transcripts",
    "audio_seconds",
    "streaming_sessions",
    "streaming_ms",
    "days",
  ];
  const rows = report.customers.map((each) =>
    [
      each.customer_id,
      each.hours,
      each.transcripts,
      each.audio_seconds,
      each.streaming_sessions,
      each.streaming_ms,
      each.days,
    ]
      .map(csvField)
      .join(","),
  );
  return [header.join(","), ...rows].join("\n");
}

function usageTable(target: StackTarget): string {
  if (target.usageTableName === undefined) {
    throw new CliError(
      `${target.description} has no usage table (output UsageTableName): deploy this version; usage counts ` +
        "the transcripts stored from then on",
    );
  }
  return target.usageTableName;
}

/**
 * The counter items from `sinceDay` on: a Query of one customer's days, or a Scan of all counters (never
 * of the records). Strongly consistent, so a transcript stored a moment ago is counted.
 */
export async function readUsageDays(
  target: StackTarget,
  sinceDay: string,
  customerId: string | undefined,
  cost: ReadCost = { requests: 0, itemsRead: 0 },
): Promise<UsageDay[]> {
  const tableName = usageTable(target);
  const days: UsageDay[] = [];
  let start: Record<string, AttributeValue> | undefined;
  const names = { "#customer": TABLE_PARTITION_KEY, "#day": USAGE_DAY_KEY };
  do {
    const page =
      customerId === undefined
        ? await target.dynamodb.send(
            new ScanCommand({
              TableName: tableName,
              FilterExpression: "#day >= :since",
              ExpressionAttributeNames: { "#day": USAGE_DAY_KEY },
              ExpressionAttributeValues: toAttributeMap({ ":since": sinceDay }),
              ConsistentRead: true,
              ExclusiveStartKey: start,
            }),
          )
        : await target.dynamodb.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: "#customer = :customer AND #day >= :since",
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: toAttributeMap({ ":customer": customerId, ":since": sinceDay }),
              ConsistentRead: true,
              ExclusiveStartKey: start,
            }),
          );
    cost.requests += 1;
    cost.itemsRead += page.ScannedCount ?? page.Items?.length ?? 0;
    for (const item of page.Items ?? []) {
      const day = usageDayFrom(fromAttributeMap(item));
      if (day !== undefined) days.push(day);
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return days;
}
