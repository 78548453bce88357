import {
  deliveryLogEvent,
  errorResponse,
  outcomeOf,
  queuedResponse,
  unavailable,
} from "../../../functions/receiver/outcome";
import { buildDeliveryMessage, buildQuarantineMessage } from "../../../functions/shared/contract/delivery";

const RECEIVED = { receivedAt: new Date("2026-11-27T05:52:00.000Z"), sourceIp: "1.2.3.4", requestId: "r" };
const quarantined = buildQuarantineMessage({
  ...RECEIVED,
  reason: "missing_parameter",
  reasonMessage: "query parameter customer_id is required",
  rawQuery: "order_id=o",
  headers: {},
  body: "{}",
  bodyEncoding: "utf8",
});

describe("responses", () => {
  it("answers an error as JSON with error and message", () => {
    const response = errorResponse({
      statusCode: 405,
      error: "method_not_allowed",
      message: "POST only",
      headers: { allow: "POST" },
    });

    expect(response).toEqual({
      statusCode: 405,
      headers: { "content-type": "application/json", "cache-control": "no-store", allow: "POST" },
      body: JSON.stringify({ error: "method_not_allowed", message: "POST only" }),
    });
  });

  it("answers a queued delivery with its kind and message id", () => {
    const message = buildDeliveryMessage({
      ...RECEIVED,
      source: "webhook",
      kind: "redacted_audio",
      redactedAudioUrl: "https://bucket.s3.us-west-2.amazonaws.com/a.mp3",
      metadata: { customer_id: "c", order_id: "o", params: {} },
      payload: {},
    });

    expect(JSON.parse(queuedResponse(message, "m-1").body ?? "")).toEqual({
      status: "queued",
      kind: "redacted_audio",
      message_id: "m-1",
    });
  });

  it("answers a quarantined delivery with a 200 that says so and why", () => {
    const response = queuedResponse(quarantined, "m-2");

    expect(response.statusCode).toBe(200);
    expect(response.headers?.["content-type"]).toBe("application/json");
    expect(JSON.parse(response.body ?? "")).toEqual({
      status: "quarantined",
      reason: "missing_parameter",
      message: "query parameter customer_id is required",
      message_id: "m-2",
    });
  });

  it("asks for a retry on the 503s and says nothing specific on a 500", () => {
    expect(unavailable.secret()).toMatchObject({ statusCode: 503, headers: { "retry-after": "10" } });
    expect(unavailable.queue()).toMatchObject({ statusCode: 503, error: "enqueue_failed" });
    expect(unavailable.internal()).toMatchObject({ statusCode: 500, error: "internal_error" });
  });
});

describe("deliveryLogEvent", () => {
  it.each([
    [200, "accepted"],
    [401, "rejected"],
    [413, "rejected"],
    [500, "failed"],
    [503, "failed"],
  ] as const)("counts status %i as %s", (status, outcome) => {
    expect(outcomeOf(status)).toBe(outcome);
  });

  it("counts a quarantined 2xx as quarantined", () => {
    expect(outcomeOf(200, true)).toBe("quarantined");
  });

  it("uses the quarantine reason as the Reason of a quarantined delivery, and warns", () => {
    const event = deliveryLogEvent({
      statusCode: 200,
      requestId: "r",
      sourceIp: "1.2.3.4",
      latencyMs: 3,
      kind: "quarantine",
      messageId: "m",
      quarantine: { reason: quarantined.reason, message: quarantined.reason_message },
    });

    expect(event).toEqual({
      level: "warn",
      message: "delivery quarantined",
      metrics: { Deliveries: { value: 1, unit: "Count" } },
      dimensions: { Outcome: "quarantined", Reason: "missing_parameter" },
      dimensionSets: [["Outcome"], ["Outcome", "Reason"]],
      fields: {
        status_code: 200,
        latency_ms: 3,
        request_id: "r",
        source_ip: "1.2.3.4",
        kind: "quarantine",
        message_id: "m",
        quarantine_reason: "missing_parameter",
        quarantine_message: "query parameter customer_id is required",
      },
    });
  });

  it("counts a quarantine message that could not be queued as failed, by its error code", () => {
    const event = deliveryLogEvent({
      statusCode: 503,
      requestId: "r",
      sourceIp: "",
      latencyMs: 1,
      kind: "quarantine",
      error: "enqueue_failed",
      quarantine: { reason: "invalid_json", message: "the body is not valid JSON" },
    });

    expect(event).toMatchObject({
      level: "error",
      dimensions: { Outcome: "failed", Reason: "enqueue_failed" },
    });
  });

  it("uses the kind as the Reason of an accepted delivery", () => {
    const event = deliveryLogEvent({
      statusCode: 200,
      requestId: "r",
      sourceIp: "1.2.3.4",
      latencyMs: 12,
      kind: "transcript",
      transcriptId: "t-1",
      customerId: "c",
      orderId: "o",
      messageId: "m",
    });

    expect(event).toEqual({
      level: "info",
      message: "delivery accepted",
      metrics: { Deliveries: { value: 1, unit: "Count" } },
      dimensions: { Outcome: "accepted", Reason: "transcript" },
      dimensionSets: [["Outcome"], ["Outcome", "Reason"]],
      fields: {
        status_code: 200,
        latency_ms: 12,
        request_id: "r",
        source_ip: "1.2.3.4",
        kind: "transcript",
        transcript_id: "t-1",
        customer_id: "c",
        order_id: "o",
        message_id: "m",
      },
    });
  });

  it("uses the error code as the Reason of a rejected or failed delivery", () => {
    const rejected = deliveryLogEvent({
      statusCode: 401,
      requestId: "r",
      sourceIp: "",
      latencyMs: 1,
      error: "unauthorized",
    });
    const failed = deliveryLogEvent({
      statusCode: 503,
      requestId: "r",
      sourceIp: "",
      latencyMs: 1,
      error: "enqueue_failed",
    });

    expect(rejected).toMatchObject({
      level: "warn",
      message: "delivery rejected",
      dimensions: { Outcome: "rejected", Reason: "unauthorized" },
    });
    expect(failed).toMatchObject({
      level: "error",
      message: "delivery failed",
      dimensions: { Outcome: "failed", Reason: "enqueue_failed" },
    });
  });
});
