/** What the worker says about each record: its outcome, one log line and the `Records` metrics. Pure. */
import type { LogEvent } from "../shared/log-event";

export type Outcome =
  | "stored"
  | "duplicate"
  | "superseded"
  | "transient_failure"
  | "final_failure"
  | "deleted_skipped"
  | "unknown_archived"
  | "quarantine_archived"
  | "redacted_audio_stored"
  /** A queued retry of a delete at AssemblyAI (functions/worker/lifecycle.ts): done, queued again, given up. */
  | "assemblyai_deleted"
  | "assemblyai_delete_retrying"
  | "assemblyai_delete_failed"
  /** The order was erased (its item is a tombstone): the delivery is dropped, nothing stored. */
  | "erased";

export const DELETED_TRANSCRIPT_ERROR = "transcript was deleted at AssemblyAI";
export const API_KEY_NOT_SET_REASON = "AssemblyAI API key not set";
/** Counted beside `Records` on a record that failed because the key is still the placeholder (alarmed). */
export const API_KEY_NOT_SET_METRIC = "ApiKeyNotSet";
/** Counted on a line of its own when the worker gives up deleting a stored transcript at AssemblyAI (alarmed). */
export const ASSEMBLYAI_DELETE_FAILED_METRIC = "AssemblyAiDeleteFailed";

export interface RecordReport {
  readonly outcome: Outcome;
  readonly kind: string | undefined;
  readonly messageId: string;
  readonly attempt: number;
  readonly transcriptId?: string | undefined;
  readonly customerId?: string | undefined;
  readonly orderId?: string | undefined;
  readonly requestId?: string | undefined;
  readonly receivedAt?: string | undefined;
  readonly storedAt?: string | undefined;
  readonly reason?: string | undefined;
  readonly s3Key?: string | undefined;
  /** With several AssemblyAI regions: where the transcript was fetched from, and each region asked. */
  readonly assemblyAiRegion?: string | undefined;
  readonly regionsTried?: readonly string[] | undefined;
  /** Seconds the record stays invisible before its next attempt (transient failures). */
  readonly retryInSeconds?: number | undefined;
  readonly maxReceiveCount?: number;
  /** webhook, replay or reconciler: only webhook deliveries measure the pipeline's own latency. */
  readonly source?: string | undefined;
  /** With deleteFromAssemblyAi, what became of the stored transcript at AssemblyAI, and why when it failed. */
  readonly assemblyAiDelete?: string | undefined;
  readonly assemblyAiDeleteError?: string | undefined;
}

/** One log line and metric set per record. */
export function recordEvent(report: RecordReport): LogEvent {
  const latencyMs =
    report.receivedAt !== undefined && report.storedAt !== undefined
      ? Math.max(0, Date.parse(report.storedAt) - Date.parse(report.receivedAt))
      : undefined;
  const lastAttempt =
    report.outcome === "transient_failure" &&
    report.maxReceiveCount !== undefined &&
    report.attempt >= report.maxReceiveCount;
  const failed =
    report.outcome === "transient_failure" ||
    report.outcome === "final_failure" ||
    report.outcome === "assemblyai_delete_retrying";
  const fields: Record<string, unknown> = {
    transcript_id: report.transcriptId,
    customer_id: report.customerId,
    order_id: report.orderId,
    kind: report.kind,
    outcome: report.outcome,
    attempt: report.attempt,
    message_id: report.messageId,
    request_id: report.requestId,
  };
  if (latencyMs !== undefined) fields.latency_ms = latencyMs;
  if (report.reason !== undefined) fields.reason = report.reason;
  if (report.s3Key !== undefined) fields.s3_key = report.s3Key;
  if (report.assemblyAiRegion !== undefined) fields.assemblyai_region = report.assemblyAiRegion;
  if (report.regionsTried !== undefined) fields.regions_tried = report.regionsTried;
  if (report.retryInSeconds !== undefined) fields.retry_in_seconds = report.retryInSeconds;
  if (report.assemblyAiDelete !== undefined) fields.assemblyai_delete = report.assemblyAiDelete;
  if (report.assemblyAiDeleteError !== undefined)
    fields.assemblyai_delete_error = report.assemblyAiDeleteError;
  // SQS's redrive policy moves the message to the dead-letter queue after this attempt.
  if (lastAttempt) fields.moving_to_dlq = true;
  const metrics: Record<string, { value: number; unit: "Count" | "Milliseconds" }> = {
    Records: { value: 1, unit: "Count" },
  };
  // A replayed or reconciled record started when an operator or the reconciler queued it, long after AssemblyAI
  // finished it: that is not the pipeline's latency, so it stays in the log line and out of the metric.
  if (report.outcome === "stored" && latencyMs !== undefined && (report.source ?? "webhook") === "webhook") {
    metrics.DeliveryToStoredLatency = { value: latencyMs, unit: "Milliseconds" };
  }
  // With several regions the reason names the region whose key is missing.
  if (report.reason?.startsWith(API_KEY_NOT_SET_REASON))
    metrics[API_KEY_NOT_SET_METRIC] = { value: 1, unit: "Count" };
  if (report.source !== undefined && report.source !== "webhook") fields.source = report.source;
  return {
    level:
      lastAttempt || report.outcome === "final_failure" || report.outcome === "assemblyai_delete_failed"
        ? "error"
        : failed
          ? "warn"
          : "info",
    message: `record ${report.outcome}`,
    metrics,
    dimensions: { Outcome: report.outcome },
    fields,
  };
}
