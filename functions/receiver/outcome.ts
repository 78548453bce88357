/**
 * What the receiver answers and logs: the error codes of its HTTP contract, the response bodies, and the one
 * log line (which is also the `Deliveries` metric) written per delivery. Pure: plain values in and out.
 */
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { DeliveryKind, DeliveryMessage, QuarantineReason } from "../shared/contract/delivery";
import type { LogEvent } from "../shared/log-event";

/**
 * Every error code the receiver answers with; 4xx codes are final for AssemblyAI, 5xx codes are retried.
 * Only unauthenticated or misrouted requests get a 4xx: an authenticated one the pipeline cannot route is
 * quarantined with a 2xx (its reason is a QuarantineReason, not an ErrorCode).
 */
export type ErrorCode =
  | "not_found"
  | "method_not_allowed"
  | "unauthorized"
  | "forbidden"
  | "secret_unavailable"
  | "enqueue_failed"
  | "internal_error";

/** A delivery the receiver will not queue, and why, in words safe to show the caller and to log. */
export interface Rejection {
  readonly statusCode: number;
  readonly error: ErrorCode;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The result of a step that either produces a value or rejects the delivery. */
export type Check<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly rejection: Rejection };

export function accept<T>(value: T): Check<T> {
  return { ok: true, value };
}

export function reject(
  statusCode: number,
  error: ErrorCode,
  message: string,
  headers?: Readonly<Record<string, string>>,
): { readonly ok: false; readonly rejection: Rejection } {
  return {
    ok: false,
    rejection: headers ? { statusCode, error, message, headers } : { statusCode, error, message },
  };
}

/** AssemblyAI retries every 10 s whatever we say; the header documents that a retry is welcome. */
const RETRY_AFTER_SECONDS = "10";

export const unavailable = {
  secret: (): Rejection => ({
    statusCode: 503,
    error: "secret_unavailable",
    message: "the webhook secret could not be read; retry later",
    headers: { "retry-after": RETRY_AFTER_SECONDS },
  }),
  queue: (): Rejection => ({
    statusCode: 503,
    error: "enqueue_failed",
    message: "the delivery could not be queued; retry later",
    headers: { "retry-after": RETRY_AFTER_SECONDS },
  }),
  internal: (): Rejection => ({
    statusCode: 500,
    error: "internal_error",
    message: "the delivery could not be processed; retry later",
  }),
};

const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-store" } as const;

export function errorResponse(rejection: Rejection): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: rejection.statusCode,
    headers: { ...JSON_HEADERS, ...rejection.headers },
    body: JSON.stringify({ error: rejection.error, message: rejection.message }),
  };
}

/**
 * The 2xx for a kept delivery. A quarantined one says so and why, so that a developer testing with curl sees
 * the problem (AssemblyAI only looks at the status).
 */
export function queuedResponse(
  message: DeliveryMessage,
  messageId: string,
): APIGatewayProxyStructuredResultV2 {
  const body =
    message.kind === "quarantine"
      ? {
          status: "quarantined",
          reason: message.reason,
          message: message.reason_message,
          message_id: messageId,
        }
      : { status: "queued", kind: message.kind, message_id: messageId };
  return { statusCode: 200, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

export type DeliveryOutcome = "accepted" | "quarantined" | "rejected" | "failed";

/** What one delivery came to, as logged: ids only when they passed validation, never the auth header. */
export interface DeliveryReport {
  readonly statusCode: number;
  readonly requestId: string;
  readonly sourceIp: string;
  readonly latencyMs: number;
  readonly kind?: DeliveryKind;
  readonly error?: ErrorCode;
  /** Our own rejection text (it names the problem, never echoes a header or the body). */
  readonly errorMessage?: string;
  /** For failures: the cause, from `describeError`. */
  readonly errorDetail?: string;
  readonly transcriptId?: string;
  readonly customerId?: string;
  readonly orderId?: string;
  readonly messageId?: string;
  /** Why an accepted delivery was queued as `unknown` rather than as the kind it resembled. */
  readonly note?: string;
  /** Why an authenticated delivery was quarantined (kept, not routed). */
  readonly quarantine?: { readonly reason: QuarantineReason; readonly message: string };
}

export function outcomeOf(statusCode: number, quarantined = false): DeliveryOutcome {
  if (statusCode < 300) return quarantined ? "quarantined" : "accepted";
  return statusCode >= 500 ? "failed" : "rejected";
}

const MESSAGES: Readonly<Record<DeliveryOutcome, string>> = {
  accepted: "delivery accepted",
  quarantined: "delivery quarantined",
  rejected: "delivery rejected",
  failed: "delivery failed",
};

const LEVELS: Readonly<Record<DeliveryOutcome, "info" | "warn" | "error">> = {
  accepted: "info",
  quarantined: "warn",
  rejected: "warn",
  failed: "error",
};

/**
 * The single log line and `Deliveries` metric for one delivery: `Reason` is the kind for an accepted one, the
 * quarantine reason for a quarantined one, the error code otherwise.
 */
export function deliveryLogEvent(report: DeliveryReport): LogEvent {
  const quarantined = report.statusCode < 300 && report.quarantine !== undefined;
  const outcome = outcomeOf(report.statusCode, quarantined);
  const reason =
    outcome === "accepted"
      ? (report.kind ?? "unknown")
      : outcome === "quarantined"
        ? (report.quarantine?.reason ?? "unknown")
        : (report.error ?? "internal_error");
  const fields: Record<string, unknown> = {
    status_code: report.statusCode,
    latency_ms: report.latencyMs,
    request_id: report.requestId,
    source_ip: report.sourceIp,
  };
  if (report.kind !== undefined) fields.kind = report.kind;
  if (report.error !== undefined) fields.error = report.error;
  if (report.errorMessage !== undefined) fields.error_message = report.errorMessage;
  if (report.errorDetail !== undefined) fields.error_detail = report.errorDetail;
  if (report.transcriptId !== undefined) fields.transcript_id = report.transcriptId;
  if (report.customerId !== undefined) fields.customer_id = report.customerId;
  if (report.orderId !== undefined) fields.order_id = report.orderId;
  if (report.messageId !== undefined) fields.message_id = report.messageId;
  if (report.note !== undefined) fields.note = report.note;
  if (report.quarantine !== undefined) {
    fields.quarantine_reason = report.quarantine.reason;
    fields.quarantine_message = report.quarantine.message;
  }
  return {
    level: report.note !== undefined && outcome === "accepted" ? "warn" : LEVELS[outcome],
    message: MESSAGES[outcome],
    metrics: { Deliveries: { value: 1, unit: "Count" } },
    dimensions: { Outcome: outcome, Reason: reason },
    dimensionSets: [["Outcome"], ["Outcome", "Reason"]],
    fields,
  };
}
