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
 * The planning, the batches and the summaries are pure (cli/erasure-plan.ts); this is the I/O over the
 * target's clients.
 */
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
import { DEFAULT_EVENT_SOURCE } from "../functions/shared/contract/events";
import {
  ERASED_ATTRIBUTE,
  RECORD_EXPIRY_ATTRIBUTE,
  TABLE_PARTITION_KEY,
  TABLE_SORT_KEY,
  TOMBSTONE_DAYS,
  UNDECIDED_ATTRIBUTE,
  USAGE_DAY_KEY,
} from "../functions/shared/contract/resources";
import {
  assemblyAiTranscriptIds,
  batches,
  CUSTOMER_ERASED,
  customerErasedDetail,
  DELETE_OBJECTS_BATCH,
  type ErasureFailure,
  type ErasurePlan,
  type ErasureScope,
  type ErasureSummary,
  erasablePrefixes,
  ordersToTombstone,
  type PlannedObject,
  type PlannedRecord,
  planCounts,
} from "./erasure-plan";
import type { StackTarget } from "./stack";

const CONCURRENCY = 8;

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
