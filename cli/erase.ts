/**
 * `erase`: everything the stack keeps about a customer (or one of its orders), found by key, then removed.
 *
 * What it finds: the customer's records (a Query on its partition, or the one order's item), every object
 * version and delete marker under its key prefixes (transcripts/, redacted-audio/, unknown/, each
 * `{customer}/` or `{customer}/{order}/`: the bucket is versioned, so a plain delete would leave the data in
 * old versions), and, for a whole customer, its usage counters. In this order it then:
 * 1. replaces each order's record with a tombstone (contract/resources.ts, ERASED_ATTRIBUTE), so no worker
 *    stores it again: one PutItem per order, which removes the record in the same write;
 * 2. with --also-assemblyai, deletes each transcript at AssemblyAI (DELETE /v2/transcript/{id});
 * 3. deletes every object version and delete marker (DeleteObjects with VersionId, 1,000 a request);
 * 4. deletes the usage counters;
 * 5. lists the prefixes again and deletes what a worker still wrote meanwhile (a file it was uploading).
 * Each failure is kept with what failed and why; the command exits 3 when there is any.
 *
 * The planning, the batches and the summaries are pure; the rest is small I/O over the target's clients.
 */
import { createHash } from "node:crypto";
import { hostname, userInfo } from "node:os";
import {
  type AttributeValue,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from "@aws-sdk/client-dynamodb";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { DeleteObjectsCommand, ListObjectVersionsCommand } from "@aws-sdk/client-s3";
import { fromAttributeMap, toAttributeMap } from "../functions/shared/attribute-values";
import { mapWithConcurrency } from "../functions/shared/concurrency";
import { TRANSCRIPT_ID_PATTERN } from "../functions/shared/contract/delivery";
import { DEFAULT_EVENT_SOURCE, EVENT_SCHEMA_VERSION } from "../functions/shared/contract/events";
import {
  BUCKET_PREFIXES,
  ERASED_ATTRIBUTE,
  RECORD_EXPIRY_ATTRIBUTE,
  TABLE_PARTITION_KEY,
  TABLE_SORT_KEY,
  TOMBSTONE_DAYS,
  UNDECIDED_ATTRIBUTE,
  USAGE_DAY_KEY,
} from "../functions/shared/contract/resources";
import { idSegment } from "../functions/shared/contract/s3-keys";
import type { StackTarget } from "./stack";

/** The prefixes a customer's (or an order's) objects live under: each id is one key segment. */
export const ERASABLE_PREFIXES = [
  BUCKET_PREFIXES.transcripts,
  BUCKET_PREFIXES.redactedAudio,
  BUCKET_PREFIXES.unknown,
] as const;

export const DELETE_OBJECTS_BATCH = 1_000;
const CONCURRENCY = 8;

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

// ---------------------------------------------------------------------------------------------------------
// I/O

const text = (value: unknown) => (typeof value === "string" && value.length > 0 ? value : undefined);

function plannedRecord(item: Readonly<Record<string, unknown>>): PlannedRecord {
  const others = [text(item[UNDECIDED_ATTRIBUTE]), text(item.redacted_audio_transcript_id)].filter(
    (id): id is string => id !== undefined && id !== text(item.transcript_id),
  );
  return {
    order_id: String(item[TABLE_SORT_KEY]),
    ...(text(item.transcript_id) ? { transcript_id: text(item.transcript_id) as string } : {}),
    ...(text(item.status) ? { status: text(item.status) as string } : {}),
    ...(text(item.kind) ? { kind: text(item.kind) as string } : {}),
    other_transcript_ids: [...new Set(others)],
  };
}

async function readItems(target: StackTarget, scope: ErasureScope): Promise<Record<string, unknown>[]> {
  if (scope.orderId !== undefined) {
    const found = await target.dynamodb.send(
      new GetItemCommand({
        TableName: target.tableName,
        Key: toAttributeMap({ [TABLE_PARTITION_KEY]: scope.customerId, [TABLE_SORT_KEY]: scope.orderId }),
        ConsistentRead: true,
      }),
    );
    return found.Item === undefined ? [] : [fromAttributeMap(found.Item)];
  }
  const items: Record<string, unknown>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await target.dynamodb.send(
      new QueryCommand({
        TableName: target.tableName,
        KeyConditionExpression: "#customer = :customer",
        ExpressionAttributeNames: { "#customer": TABLE_PARTITION_KEY },
        ExpressionAttributeValues: toAttributeMap({ ":customer": scope.customerId }),
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []).map((item) => fromAttributeMap(item)));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** Every version and delete marker under the prefixes (ListObjectVersions, page after page). */
export async function listVersions(
  target: StackTarget,
  prefixes: readonly string[],
): Promise<PlannedObject[]> {
  const objects: PlannedObject[] = [];
  for (const prefix of prefixes) {
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      const page = await target.s3.send(
        new ListObjectVersionsCommand({
          Bucket: target.bucketName,
          Prefix: prefix,
          KeyMarker: keyMarker,
          VersionIdMarker: versionMarker,
        }),
      );
      for (const version of page.Versions ?? []) {
        if (version.Key === undefined) continue;
        objects.push({
          key: version.Key,
          versionId: version.VersionId ?? "null",
          deleteMarker: false,
          size: version.Size ?? 0,
        });
      }
      for (const marker of page.DeleteMarkers ?? []) {
        if (marker.Key === undefined) continue;
        objects.push({ key: marker.Key, versionId: marker.VersionId ?? "null", deleteMarker: true, size: 0 });
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
  }
  return objects;
}

async function readUsageKeys(target: StackTarget, customerId: string): Promise<string[]> {
  if (target.usageTableName === undefined) return [];
  const days: string[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await target.dynamodb.send(
      new QueryCommand({
        TableName: target.usageTableName,
        KeyConditionExpression: "#customer = :customer",
        ExpressionAttributeNames: { "#customer": TABLE_PARTITION_KEY, "#day": USAGE_DAY_KEY },
        ExpressionAttributeValues: toAttributeMap({ ":customer": customerId }),
        ProjectionExpression: "#day",
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      const day = fromAttributeMap(item)[USAGE_DAY_KEY];
      if (typeof day === "string") days.push(day);
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return days;
}

/** Finds everything in scope; changes nothing. */
export async function planErasure(target: StackTarget, scope: ErasureScope): Promise<ErasurePlan> {
  const items = await readItems(target, scope);
  const records = items.filter((item) => item[ERASED_ATTRIBUTE] === undefined).map(plannedRecord);
  const tombstones = items
    .filter((item) => item[ERASED_ATTRIBUTE] !== undefined)
    .map((item) => String(item[TABLE_SORT_KEY]));
  const objects = await listVersions(target, erasablePrefixes(scope));
  const usageDays = scope.orderId === undefined ? await readUsageKeys(target, scope.customerId) : [];
  return { scope, records, tombstones, objects, usageDays };
}

const describe = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** DeleteObjects with each version named, 1,000 a request; returns the failures (S3's per-key errors too). */
export async function deleteVersions(
  target: StackTarget,
  objects: readonly PlannedObject[],
  onBatch: (done: number) => void = () => {},
): Promise<ErasureFailure[]> {
  const failures: ErasureFailure[] = [];
  let done = 0;
  await mapWithConcurrency(batches(objects, DELETE_OBJECTS_BATCH), 2, async (batch) => {
    try {
      const answer = await target.s3.send(
        new DeleteObjectsCommand({
          Bucket: target.bucketName,
          Delete: {
            Objects: batch.map((object) => ({ Key: object.key, VersionId: object.versionId })),
            Quiet: true,
          },
        }),
      );
      for (const error of answer.Errors ?? []) {
        failures.push({
          what: "object",
          item: `${error.Key} (version ${error.VersionId})`,
          error: `${error.Code}: ${error.Message}`,
        });
      }
    } catch (error) {
      for (const object of batch) {
        failures.push({
          what: "object",
          item: `${object.key} (version ${object.versionId})`,
          error: describe(error),
        });
      }
    }
    done += batch.length;
    onBatch(done);
  });
  return failures;
}

/** What DELETE /v2/transcript/{id} answered. */
export type AssemblyAiDeletion = "deleted" | "not_found" | { readonly error: string };

/** Deletes one transcript at AssemblyAI; a small seam the tests replace. */
export type DeleteTranscript = (transcriptId: string) => Promise<AssemblyAiDeletion>;

/** DELETE /v2/transcript/{id} with the stack's AssemblyAI key (never printed). */
export function assemblyAiDeleter(
  access: { apiKey: string; baseUrl: string },
  timeoutMs = 30_000,
): DeleteTranscript {
  return async (transcriptId) => {
    try {
      const response = await fetch(
        `${access.baseUrl.replace(/\/$/, "")}/v2/transcript/${encodeURIComponent(transcriptId)}`,
        {
          method: "DELETE",
          headers: { authorization: access.apiKey },
          signal: AbortSignal.timeout(timeoutMs),
        },
      );
      await response.body?.cancel();
      if (response.ok) return "deleted";
      if (response.status === 404) return "not_found";
      return { error: `AssemblyAI answered HTTP ${response.status}` };
    } catch (error) {
      return { error: describe(error) };
    }
  };
}

export interface ErasureRun {
  readonly alsoAssemblyAi: boolean;
  readonly deleteTranscript?: DeleteTranscript;
  readonly now: () => Date;
  readonly onProgress?: (done: number, total: number, detail: string) => void;
}

/** Carries out a plan (see the module's comment for the order); every failure is in the summary. */
export async function executeErasure(
  target: StackTarget,
  plan: ErasurePlan,
  run: ErasureRun,
): Promise<ErasureSummary> {
  const failures: ErasureFailure[] = [];
  const { customerId } = plan.scope;
  const counts = planCounts(plan);
  const orders = ordersToTombstone(plan);
  const transcriptIds = run.alsoAssemblyAi ? assemblyAiTranscriptIds(plan) : [];
  const total = orders.length + transcriptIds.length + plan.objects.length + plan.usageDays.length;
  let done = 0;
  const progress = (detail: string) => run.onProgress?.(done, total, detail);

  // 1. Tombstones: each replaces its order's record in one write.
  const erasedAt = run.now();
  const expiresAt = Math.floor(erasedAt.getTime() / 1000) + TOMBSTONE_DAYS * 86_400;
  await mapWithConcurrency(orders, CONCURRENCY, async (orderId) => {
    try {
      await target.dynamodb.send(
        new PutItemCommand({
          TableName: target.tableName,
          Item: toAttributeMap({
            [TABLE_PARTITION_KEY]: customerId,
            [TABLE_SORT_KEY]: orderId,
            [ERASED_ATTRIBUTE]: erasedAt.toISOString(),
            [RECORD_EXPIRY_ATTRIBUTE]: expiresAt,
          }),
        }),
      );
    } catch (error) {
      failures.push({ what: "record", item: orderId, error: describe(error) });
    }
    done += 1;
    progress("records");
  });

  // 2. AssemblyAI, before the objects: a failure there leaves the ids in the failures for a person to retry.
  let assemblyai: ErasureSummary["assemblyai"];
  if (run.alsoAssemblyAi) {
    const remove = run.deleteTranscript;
    if (remove === undefined) throw new Error("--also-assemblyai needs a way to delete transcripts");
    let deleted = 0;
    let notFound = 0;
    await mapWithConcurrency(transcriptIds, 4, async (transcriptId) => {
      const answer = await remove(transcriptId);
      if (answer === "deleted") deleted += 1;
      else if (answer === "not_found") notFound += 1;
      else failures.push({ what: "assemblyai", item: transcriptId, error: answer.error });
      done += 1;
      progress("AssemblyAI");
    });
    assemblyai = { deleted, not_found: notFound, transcript_ids: transcriptIds };
  }

  // 3. Every object version and delete marker.
  const before = done;
  failures.push(
    ...(await deleteVersions(target, plan.objects, (deletedSoFar) => {
      done = before + deletedSoFar;
      progress("objects");
    })),
  );

  // 4. The usage counters (a whole customer only).
  if (target.usageTableName !== undefined) {
    const usageTableName = target.usageTableName;
    await mapWithConcurrency(plan.usageDays, CONCURRENCY, async (day) => {
      try {
        await target.dynamodb.send(
          new DeleteItemCommand({
            TableName: usageTableName,
            Key: toAttributeMap({ [TABLE_PARTITION_KEY]: customerId, [USAGE_DAY_KEY]: day }),
          }),
        );
      } catch (error) {
        failures.push({ what: "usage", item: day, error: describe(error) });
      }
      done += 1;
      progress("usage");
    });
  }

  // 5. Whatever a worker wrote meanwhile (it read the record before its tombstone, and uploaded since).
  const planned = new Set(plan.objects.map((object) => `${object.key}\u0000${object.versionId}`));
  let late: PlannedObject[] = [];
  try {
    late = (await listVersions(target, erasablePrefixes(plan.scope))).filter(
      (object) => !planned.has(`${object.key}\u0000${object.versionId}`),
    );
  } catch (error) {
    failures.push({ what: "object", item: "second listing", error: describe(error) });
  }
  if (late.length > 0) failures.push(...(await deleteVersions(target, late)));

  return {
    customer_id: customerId,
    ...(plan.scope.orderId !== undefined ? { order_id: plan.scope.orderId } : {}),
    dry_run: false,
    ...counts,
    tombstones: orders.length,
    late_objects: late.length,
    ...(assemblyai !== undefined ? { assemblyai } : {}),
    event: "not_sent",
    failures,
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

/** Puts `Customer Erased` on the stack's bus; "no_event_bus" when the stack has none. */
export async function publishErased(
  target: StackTarget,
  summary: ErasureSummary,
  at: Date,
): Promise<{ readonly event: ErasureSummary["event"]; readonly failure?: ErasureFailure }> {
  if (target.eventBusName === undefined) return { event: "no_event_bus" };
  try {
    const answer = await target.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: target.eventBusName,
            Source: target.eventSource ?? DEFAULT_EVENT_SOURCE,
            DetailType: CUSTOMER_ERASED,
            Time: at,
            Detail: JSON.stringify(customerErasedDetail(summary, at)),
          },
        ],
      }),
    );
    const entry = answer.Entries?.[0];
    if ((answer.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode) {
      return {
        event: "failed",
        failure: {
          what: "event",
          item: CUSTOMER_ERASED,
          error: `${entry?.ErrorCode}: ${entry?.ErrorMessage}`,
        },
      };
    }
    return { event: "sent" };
  } catch (error) {
    return { event: "failed", failure: { what: "event", item: CUSTOMER_ERASED, error: describe(error) } };
  }
}
