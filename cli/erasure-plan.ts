/**
 * What `erase` plans and reports, as pure functions: the key prefixes a customer's objects live under, the
 * orders to tombstone, the AssemblyAI transcripts to delete, batches, counts, the summary, the audit line and
 * the `Customer Erased` event's detail. cli/erase.ts does the I/O.
 */
import { createHash } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { TRANSCRIPT_ID_PATTERN } from "../functions/shared/contract/delivery";
import { EVENT_SCHEMA_VERSION } from "../functions/shared/contract/events";
import { BUCKET_PREFIXES, TOMBSTONE_DAYS } from "../functions/shared/contract/resources";
import { idSegment } from "../functions/shared/contract/s3-keys";
import type { StackTarget } from "./stack";

/** The prefixes a customer's (or an order's) objects live under: each id is one key segment. */
export const ERASABLE_PREFIXES = [
  BUCKET_PREFIXES.transcripts,
  BUCKET_PREFIXES.redactedAudio,
  BUCKET_PREFIXES.unknown,
] as const;

export const DELETE_OBJECTS_BATCH = 1_000;

/** The detail type of the event an erasure puts on the stack's bus. */
export const CUSTOMER_ERASED = "Customer Erased";

export interface ErasureScope {
  readonly customerId: string;
  /** Only this order; absent: the whole customer. */
  readonly orderId?: string | undefined;
}

export interface PlannedRecord {
  readonly order_id: string;
  readonly transcript_id?: string;
  readonly status?: string;
  readonly kind?: string;
  /** Other transcripts the record names (the one it won against by arrival, its redacted audio's). */
  readonly other_transcript_ids: readonly string[];
}

export interface PlannedObject {
  readonly key: string;
  readonly versionId: string;
  readonly deleteMarker: boolean;
  readonly size: number;
}

export interface ErasurePlan {
  readonly scope: ErasureScope;
  readonly records: readonly PlannedRecord[];
  /** Orders already erased (their tombstones), left as they are. */
  readonly tombstones: readonly string[];
  readonly objects: readonly PlannedObject[];
  /** Days of usage counters (whole-customer erasures only: counters are per customer, not per order). */
  readonly usageDays: readonly string[];
}

export interface ErasureFailure {
  readonly what: "record" | "object" | "usage" | "assemblyai" | "event";
  /** The order id, object key (and version), day or transcript id. */
  readonly item: string;
  readonly error: string;
}

export interface ErasureSummary {
  readonly customer_id: string;
  readonly order_id?: string;
  readonly dry_run: boolean;
  readonly records: number;
  readonly object_versions: number;
  readonly delete_markers: number;
  readonly bytes: number;
  readonly usage_items: number;
  /** Orders tombstoned (each erased order, and any order that only had objects). */
  readonly tombstones: number;
  /** Objects a worker wrote while the erasure ran, found by the second listing and deleted too. */
  readonly late_objects: number;
  readonly assemblyai?: {
    readonly deleted: number;
    readonly not_found: number;
    readonly transcript_ids: readonly string[];
  };
  readonly event: "sent" | "no_event_bus" | "failed" | "not_sent";
  readonly failures: readonly ErasureFailure[];
}

/** `transcripts/{customer}/` or `transcripts/{customer}/{order}/`, and the same under each prefix. */
export function erasablePrefixes(scope: ErasureScope): string[] {
  const order = scope.orderId === undefined ? "" : `${idSegment(scope.orderId)}/`;
  return ERASABLE_PREFIXES.map((prefix) => `${prefix}${idSegment(scope.customerId)}/${order}`);
}

/** The order id an object key names, when its segment decodes to one (a shortened long id does not). */
export function orderOfKey(key: string, customerId: string): string | undefined {
  for (const prefix of ERASABLE_PREFIXES) {
    const start = `${prefix}${idSegment(customerId)}/`;
    if (!key.startsWith(start)) continue;
    const segment = key.slice(start.length).split("/")[0] ?? "";
    if (segment.length === 0 || segment.includes("~")) return undefined;
    try {
      return decodeURIComponent(segment);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The orders to tombstone: every record's, and (erasing a whole customer) every order that only left
 * objects (a session that lost to another, an archived notice), when its key names it.
 */
export function ordersToTombstone(plan: ErasurePlan): string[] {
  if (plan.scope.orderId !== undefined) return [plan.scope.orderId];
  const orders = new Set(plan.records.map((record) => record.order_id));
  for (const object of plan.objects) {
    const order = orderOfKey(object.key, plan.scope.customerId);
    if (order !== undefined) orders.add(order);
  }
  for (const erased of plan.tombstones) orders.delete(erased);
  return [...orders].sort();
}

/**
 * The AssemblyAI transcripts the erasure may delete: each record's transcript (not a streaming session's,
 * which AssemblyAI does not keep as a transcript), the others it names, and every id the transcripts/
 * objects are named by (`{id}.json.gz`, `{id}.txt`: superseded transcripts too). Sorted, each once.
 */
export function assemblyAiTranscriptIds(plan: ErasurePlan): string[] {
  const sessions = new Set(
    plan.records
      .filter((record) => record.kind === "streaming_session")
      .map((record) => record.transcript_id),
  );
  const ids = new Set<string>();
  for (const record of plan.records) {
    if (record.transcript_id !== undefined && record.kind !== "streaming_session")
      ids.add(record.transcript_id);
    for (const other of record.other_transcript_ids) ids.add(other);
  }
  for (const object of plan.objects) {
    if (!object.key.startsWith(BUCKET_PREFIXES.transcripts)) continue;
    const name = /\/([^/]+)\.(?:json\.gz|txt)$/.exec(object.key)?.[1];
    if (name !== undefined && TRANSCRIPT_ID_PATTERN.test(name)) ids.add(name);
  }
  for (const session of sessions) if (session !== undefined) ids.delete(session);
  return [...ids].sort();
}

export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

export function planCounts(plan: ErasurePlan) {
  const markers = plan.objects.filter((object) => object.deleteMarker).length;
  return {
    records: plan.records.length,
    object_versions: plan.objects.length - markers,
    delete_markers: markers,
    bytes: plan.objects.reduce((all, object) => all + object.size, 0),
    usage_items: plan.usageDays.length,
  };
}

/** A byte count for people: 1.5 MB. */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

function scopeText(scope: ErasureScope): string {
  return scope.orderId === undefined
    ? `customer ${scope.customerId}`
    : `customer ${scope.customerId} order ${scope.orderId}`;
}

/** What will go, for the confirmation and --dry-run. */
export function describePlan(plan: ErasurePlan, alsoAssemblyAi: boolean): string {
  const counts = planCounts(plan);
  const lines = [
    `Erasing ${scopeText(plan.scope)} removes:`,
    `  ${counts.records} record${counts.records === 1 ? "" : "s"} (each replaced by a tombstone for ${TOMBSTONE_DAYS} days)`,
    `  ${counts.object_versions} object version${counts.object_versions === 1 ? "" : "s"} and ${counts.delete_markers} delete marker${counts.delete_markers === 1 ? "" : "s"} (${formatBytes(counts.bytes)}) under ${erasablePrefixes(plan.scope).join(", ")}`,
  ];
  if (plan.scope.orderId === undefined) lines.push(`  ${counts.usage_items} usage counter item(s)`);
  if (alsoAssemblyAi) {
    lines.push(`  ${assemblyAiTranscriptIds(plan).length} transcript(s) at AssemblyAI`);
  }
  if (plan.tombstones.length > 0) lines.push(`  (${plan.tombstones.length} order(s) already erased)`);
  return lines.join("\n");
}

export function formatSummary(summary: ErasureSummary): string {
  const verb = summary.dry_run ? "Would remove" : "Removed";
  const lines = [
    `${verb}: ${summary.records} records, ${summary.object_versions} object versions, ` +
      `${summary.delete_markers} delete markers (${formatBytes(summary.bytes)}), ${summary.usage_items} usage items` +
      (summary.late_objects > 0 ? `, and ${summary.late_objects} objects written meanwhile` : ""),
  ];
  if (!summary.dry_run) lines.push(`Tombstones: ${summary.tombstones} order(s)`);
  if (summary.assemblyai !== undefined) {
    lines.push(
      `AssemblyAI: ${summary.assemblyai.deleted} transcript(s) deleted, ${summary.assemblyai.not_found} not found`,
    );
  }
  const event = {
    sent: `${CUSTOMER_ERASED} event sent`,
    no_event_bus: `no ${CUSTOMER_ERASED} event: the stack has no event bus`,
    failed: `the ${CUSTOMER_ERASED} event failed (see below)`,
    not_sent: undefined,
  }[summary.event];
  if (event !== undefined) lines.push(event);
  if (summary.failures.length > 0) {
    lines.push(`${summary.failures.length} failure(s):`);
    for (const failure of summary.failures) lines.push(`  ${failure.what} ${failure.item}: ${failure.error}`);
  }
  return lines.join("\n");
}

/** The one audit line of an erasure: who, when, what scope and counts; never any content. */
export function auditLine(summary: ErasureSummary, at: Date, target: Pick<StackTarget, "description">) {
  let operator: string;
  try {
    operator = userInfo().username;
  } catch {
    operator = "unknown";
  }
  return {
    audit: "customer_erased",
    at: at.toISOString(),
    operator,
    host: hostname(),
    aws_profile: process.env.AWS_PROFILE,
    stack: target.description,
    customer_id: summary.customer_id,
    ...(summary.order_id !== undefined ? { order_id: summary.order_id } : {}),
    records: summary.records,
    object_versions: summary.object_versions,
    delete_markers: summary.delete_markers,
    bytes: summary.bytes,
    usage_items: summary.usage_items,
    tombstones: summary.tombstones,
    late_objects: summary.late_objects,
    ...(summary.assemblyai !== undefined
      ? { assemblyai_deleted: summary.assemblyai.deleted, assemblyai_not_found: summary.assemblyai.not_found }
      : {}),
    failures: summary.failures.length,
  };
}

/** The `Customer Erased` event's detail: the scope and the counts, like the audit line; no content. */
export function customerErasedDetail(summary: ErasureSummary, at: Date) {
  return {
    schema_version: EVENT_SCHEMA_VERSION,
    id: createHash("sha256")
      .update(
        JSON.stringify([CUSTOMER_ERASED, summary.customer_id, summary.order_id ?? null, at.toISOString()]),
      )
      .digest("hex")
      .slice(0, 32),
    customer_id: summary.customer_id,
    ...(summary.order_id !== undefined ? { order_id: summary.order_id } : {}),
    erased_at: at.toISOString(),
    records: summary.records,
    object_versions: summary.object_versions,
    delete_markers: summary.delete_markers,
    bytes: summary.bytes,
    usage_items: summary.usage_items,
    ...(summary.assemblyai !== undefined ? { assemblyai_deleted: summary.assemblyai.deleted } : {}),
    failures: summary.failures.length,
  };
}

/** The summary of a dry run: what would go, nothing changed. */
export function dryRunSummary(plan: ErasurePlan, alsoAssemblyAi: boolean): ErasureSummary {
  const ids = alsoAssemblyAi ? assemblyAiTranscriptIds(plan) : undefined;
  return {
    customer_id: plan.scope.customerId,
    ...(plan.scope.orderId !== undefined ? { order_id: plan.scope.orderId } : {}),
    dry_run: true,
    ...planCounts(plan),
    tombstones: ordersToTombstone(plan).length,
    late_objects: 0,
    ...(ids !== undefined ? { assemblyai: { deleted: 0, not_found: 0, transcript_ids: ids } } : {}),
    event: "not_sent",
    failures: [],
  };
}
