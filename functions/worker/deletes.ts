/**
 * Deleting stored transcripts at AssemblyAI (setting `deleteFromAssemblyAi`): the worker's I/O around the
 * rules in lifecycle.ts. The record is written first; nothing here throws into a delivery or changes what the
 * record says about the transcript, only its `assemblyai_*` attributes. A failed delete is retried by a
 * delayed message of its own (kind `assemblyai_delete`), never by holding the delivery back.
 */
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { AssemblyAiRegion } from "../shared/assemblyai";
import {
  type AssemblyAiDeleteMessage,
  buildAssemblyAiDeleteMessage,
  type DeliverySource,
  type RedactedAudioDelivery,
  type TranscriptDelivery,
} from "../shared/contract/delivery";
import { describeError, type LogEvent } from "../shared/telemetry";
import type { WorkerConfig } from "./config";
import {
  alreadyDeleted,
  buildDeletedUpdate,
  buildDeleteFailedUpdate,
  classifyDelete,
  DELETE_PAUSES_MS,
  DELETE_TRIES_IN_INVOCATION,
  type DeleteDecision,
  deleteRetryDelaySeconds,
  deleteStillDue,
  MAX_IN_INVOCATION_WAIT_MS,
  MAX_QUEUED_DELETE_ATTEMPTS,
  redactedAudioSettled,
} from "./lifecycle";
import { ASSEMBLYAI_DELETE_FAILED_METRIC, type Outcome } from "./report";
import type { Store } from "./store";
import { type ItemUpdate, itemKey } from "./updates";
import type { RegionDependencies } from "./worker";

/** What a stored transcript's write committed: what its delete needs. */
export interface CommittedTranscript {
  readonly status: "completed" | "error";
  /** Its delete waits for its redacted audio (lifecycle.ts, deleteWaitsForRedactedAudio). */
  readonly redactPiiAudio: boolean;
  readonly region: AssemblyAiRegion;
}

/** Whose transcript a delete is for: the stored delivery's source, request and webhook URL parameters. */
export type DeleteOrigin = {
  readonly source: DeliverySource;
  readonly metadata: TranscriptDelivery["metadata"];
  readonly request_id: string;
  readonly source_ip?: string;
};

/** What became of the transcript at AssemblyAI, for the record's log line. */
export interface DeleteReport {
  readonly assemblyAiDelete?: string;
  readonly assemblyAiDeleteError?: string;
}

/** A queued retry's result, as the worker reports records. */
export interface DeleteRetryResult extends DeleteReport {
  readonly outcome: Outcome;
  readonly reason?: string;
  readonly transcriptId: string;
}

/** What the deletes use of the worker. */
export interface DeleteContext {
  readonly config: WorkerConfig;
  readonly store: Store;
  readonly sqs: SQSClient;
  readonly now: () => number;
  readonly emit: (event: LogEvent) => void;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The worker's record write (with its expiry). */
  readonly updateItem: (update: ItemUpdate, signal: AbortSignal) => Promise<"written" | "condition_failed">;
  readonly apiKey: (region: RegionDependencies) => Promise<string>;
  readonly dropKeyOnAuthFailure: (
    region: RegionDependencies,
    result: { type: string; status?: number },
  ) => void;
  /** Where a delivery's transcript is, in order (regions.ts). */
  readonly regionsFor: (origin: DeleteOrigin) => RegionDependencies[];
  readonly regionByName: (name: string) => RegionDependencies | undefined;
}

/** The next queued retry could not be sent: the retry message itself is retried (it backs off). */
class DeleteRetryNotQueued extends Error {
  override readonly name = "DeleteRetryNotQueued";
}

export function createDeletes(ctx: DeleteContext) {
  /** After a transcript's write: delete it now, or leave it to its redacted audio's delivery. */
  async function deleteAfterCommit(
    origin: DeleteOrigin,
    transcriptId: string,
    committed: CommittedTranscript,
    signal: AbortSignal,
  ): Promise<DeleteReport> {
    try {
      if (committed.redactPiiAudio) {
        // Read after the write: of this write and the audio's, whichever reads second sees both.
        const item = await ctx.store.readItem(itemKey(origin.metadata), signal);
        if (alreadyDeleted(item, transcriptId)) return { assemblyAiDelete: "deleted" };
        if (!redactedAudioSettled(item, transcriptId))
          return { assemblyAiDelete: "waiting_for_redacted_audio" };
      }
      return await deleteInInvocation(origin, transcriptId, committed.region, signal);
    } catch (error) {
      return deleteFailed(origin, transcriptId, committed.region, describeError(error), 0, signal);
    }
  }

  /**
   * A repeated delivery of the stored transcript: deletes it when that never happened (the worker that
   * stored it stopped between the write and the delete), else changes nothing.
   */
  async function resumeDelete(delivery: TranscriptDelivery, signal: AbortSignal): Promise<DeleteReport> {
    const transcriptId = delivery.transcript_id;
    try {
      const item = await ctx.store.readItem(itemKey(delivery.metadata), signal);
      if (!deleteStillDue(item, transcriptId)) return {};
      return await deleteInInvocation(delivery, transcriptId, undefined, signal);
    } catch (error) {
      return { assemblyAiDelete: "not_started", assemblyAiDeleteError: describeError(error) };
    }
  }

  /** After a redacted audio file is stored or failed for good: its completed transcript may go now. */
  async function deleteAfterAudio(
    delivery: RedactedAudioDelivery,
    audioTranscriptId: string | undefined,
    signal: AbortSignal,
  ): Promise<DeleteReport> {
    let transcriptId: string | undefined;
    try {
      const item = await ctx.store.readItem(itemKey(delivery.metadata), signal);
      const held = typeof item?.transcript_id === "string" ? item.transcript_id : undefined;
      // No transcript yet: its own write will see this audio and delete it then.
      if (held === undefined) return { assemblyAiDelete: "waiting_for_transcript" };
      if (audioTranscriptId !== undefined && audioTranscriptId !== held) return {};
      if (item?.status !== "completed" || item.kind !== undefined || alreadyDeleted(item, held)) return {};
      transcriptId = held;
      return await deleteInInvocation(delivery, held, undefined, signal);
    } catch (error) {
      if (transcriptId === undefined) {
        return { assemblyAiDelete: "not_started", assemblyAiDeleteError: describeError(error) };
      }
      return deleteFailed(delivery, transcriptId, undefined, describeError(error), 0, signal);
    }
  }

  /** The regions to delete in: where it was fetched from, else the delivery's regions in order. */
  function deleteRegions(origin: DeleteOrigin, region: string | undefined): RegionDependencies[] {
    const known = region === undefined ? undefined : ctx.regionByName(region);
    return known === undefined ? ctx.regionsFor(origin) : [known];
  }

  /** One DELETE, in each region in turn while the answer is a 404. */
  async function deleteOnce(
    transcriptId: string,
    regions: readonly RegionDependencies[],
    signal: AbortSignal,
  ): Promise<DeleteDecision> {
    const notHere: string[] = [];
    for (const region of regions) {
      let key: string;
      try {
        key = await ctx.apiKey(region);
      } catch (error) {
        return { action: "retry", reason: describeError(error) };
      }
      const result = await region.assemblyAi.deleteTranscript(transcriptId, key, signal);
      ctx.dropKeyOnAuthFailure(region, result);
      const decision = classifyDelete(result, ctx.now());
      if (decision.action !== "not_here") return decision;
      notHere.push(region.region);
    }
    const where = notHere.length > 1 ? ` (in ${notHere.join(" and ")})` : "";
    return { action: "final", reason: `AssemblyAI delete answered HTTP 404: no such transcript${where}` };
  }

  /** A few tries within the invocation; then a queued retry, or giving up on a final answer. */
  async function deleteInInvocation(
    origin: DeleteOrigin,
    transcriptId: string,
    region: string | undefined,
    signal: AbortSignal,
  ): Promise<DeleteReport> {
    const regions = deleteRegions(origin, region);
    let decision: DeleteDecision = { action: "retry", reason: "not tried" };
    let tries = 0;
    for (const pause of [0, ...DELETE_PAUSES_MS]) {
      if (pause > 0) await ctx.sleep(pause, signal);
      decision = await deleteOnce(transcriptId, regions, signal);
      tries += 1;
      if (decision.action !== "retry") break;
      if ((decision.retryAfterSeconds ?? 0) * 1000 > MAX_IN_INVOCATION_WAIT_MS) break;
    }
    if (decision.action === "deleted") {
      await ctx.updateItem(
        buildDeletedUpdate(itemKey(origin.metadata), transcriptId, new Date(ctx.now()).toISOString()),
        signal,
      );
      return { assemblyAiDelete: "deleted" };
    }
    const reason = decision.action === "not_here" ? "no such transcript" : decision.reason;
    if (decision.action !== "retry") return giveUp(origin, transcriptId, reason, tries, signal);
    return deleteFailed(origin, transcriptId, region, reason, tries, signal, decision.retryAfterSeconds);
  }

  /** A delete that may succeed later: recorded, and queued as its first retry. */
  async function deleteFailed(
    origin: DeleteOrigin,
    transcriptId: string,
    region: string | undefined,
    reason: string,
    tries: number,
    signal: AbortSignal,
    retryAfterSeconds?: number,
  ): Promise<DeleteReport> {
    try {
      await queueDeleteRetry(origin, transcriptId, region, 1, reason, retryAfterSeconds);
    } catch (error) {
      return giveUp(
        origin,
        transcriptId,
        `${reason}; its retry could not be queued: ${describeError(error)}`,
        tries,
        signal,
      );
    }
    await ctx
      .updateItem(
        buildDeleteFailedUpdate(itemKey(origin.metadata), transcriptId, reason, Math.max(1, tries), false),
        signal,
      )
      .catch(() => undefined);
    return { assemblyAiDelete: "retry_queued", assemblyAiDeleteError: reason };
  }

  async function queueDeleteRetry(
    origin: DeleteOrigin,
    transcriptId: string,
    region: string | undefined,
    attempt: number,
    reason: string,
    retryAfterSeconds?: number,
  ): Promise<number> {
    const message = buildAssemblyAiDeleteMessage({
      delivery: origin,
      transcriptId,
      region,
      attempt,
      lastError: reason,
      queuedAt: new Date(ctx.now()),
    });
    const delaySeconds = deleteRetryDelaySeconds(attempt, ctx.config.retryBaseSeconds, retryAfterSeconds);
    await ctx.sqs.send(
      new SendMessageCommand({
        QueueUrl: ctx.config.queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: delaySeconds,
      }),
    );
    return delaySeconds;
  }

  /** The end of the retries: recorded on the item (best effort) and counted on a line of its own (alarmed). */
  async function giveUp(
    origin: DeleteOrigin,
    transcriptId: string,
    reason: string,
    tries: number,
    signal: AbortSignal,
  ): Promise<DeleteReport> {
    let recordError: string | undefined;
    try {
      await ctx.updateItem(
        buildDeleteFailedUpdate(itemKey(origin.metadata), transcriptId, reason, tries, true),
        signal,
      );
    } catch (error) {
      recordError = describeError(error);
    }
    ctx.emit({
      level: "error",
      message: "AssemblyAI delete given up",
      metrics: { [ASSEMBLYAI_DELETE_FAILED_METRIC]: { value: 1, unit: "Count" } },
      fields: {
        transcript_id: transcriptId,
        customer_id: origin.metadata.customer_id,
        order_id: origin.metadata.order_id,
        reason,
        attempts: tries,
        ...(recordError === undefined ? {} : { record_error: recordError }),
      },
    });
    return { assemblyAiDelete: "failed", assemblyAiDeleteError: reason };
  }

  /** A queued retry of a delete (kind `assemblyai_delete`): one try, then the next retry or giving up. */
  async function processAssemblyAiDelete(
    message: AssemblyAiDeleteMessage,
    signal: AbortSignal,
  ): Promise<DeleteRetryResult> {
    const transcriptId = message.transcript_id;
    const ids = { transcriptId };
    const item = await ctx.store.readItem(itemKey(message.metadata), signal);
    if (alreadyDeleted(item, transcriptId)) {
      return {
        outcome: "assemblyai_deleted",
        reason: "already deleted",
        ...ids,
        assemblyAiDelete: "deleted",
      };
    }
    const decision = await deleteOnce(
      transcriptId,
      deleteRegions(message, message.assemblyai_region),
      signal,
    );
    if (decision.action === "deleted") {
      await ctx.updateItem(
        buildDeletedUpdate(itemKey(message.metadata), transcriptId, new Date(ctx.now()).toISOString()),
        signal,
      );
      return { outcome: "assemblyai_deleted", ...ids, assemblyAiDelete: "deleted" };
    }
    // Tries so far: those of the invocation that stored it, and one per queued retry.
    const tries = DELETE_TRIES_IN_INVOCATION + message.attempt;
    const reason = decision.action === "not_here" ? "no such transcript" : decision.reason;
    if (decision.action !== "retry" || message.attempt >= MAX_QUEUED_DELETE_ATTEMPTS) {
      const given = await giveUp(message, transcriptId, reason, tries, signal);
      return { outcome: "assemblyai_delete_failed", reason, ...ids, ...given };
    }
    let delaySeconds: number;
    try {
      delaySeconds = await queueDeleteRetry(
        message,
        transcriptId,
        message.assemblyai_region,
        message.attempt + 1,
        reason,
        decision.retryAfterSeconds,
      );
    } catch (error) {
      // This message comes back after its backoff and tries again.
      throw new DeleteRetryNotQueued(
        `${reason}; its next retry could not be queued: ${describeError(error)}`,
      );
    }
    await ctx
      .updateItem(
        buildDeleteFailedUpdate(itemKey(message.metadata), transcriptId, reason, tries, false),
        signal,
      )
      .catch(() => undefined);
    return {
      outcome: "assemblyai_delete_retrying",
      reason: `${reason}; retry ${message.attempt + 1} of ${MAX_QUEUED_DELETE_ATTEMPTS} in ${delaySeconds} s`,
      ...ids,
      assemblyAiDelete: "retry_queued",
      assemblyAiDeleteError: reason,
    };
  }

  return { deleteAfterCommit, deleteAfterAudio, resumeDelete, processAssemblyAiDelete };
}
