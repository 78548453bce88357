import fc from "fast-check";
import {
  type AuthenticatedRequest,
  bodyBytes,
  buildDeliveryMessage,
  checkRoute,
  classifyPayload,
  decodeBody,
  type IntakeRules,
  intake,
  loggableIds,
  MAX_PAYLOAD_DEPTH,
  type MessageContext,
  parseMetadata,
  parsePayload,
  type Step,
} from "../../../functions/receiver/core";
import type { Check } from "../../../functions/receiver/outcome";
import { DEFAULT_REDACTED_AUDIO_HOSTS } from "../../../functions/shared/assemblyai";
import type { DeliveryMessage } from "../../../functions/shared/contract/delivery";
import { type HostRule, parseHostRules } from "../../../functions/shared/redacted-audio-hosts";

const HOSTS: readonly HostRule[] = parseHostRules(DEFAULT_REDACTED_AUDIO_HOSTS, "REDACTED_AUDIO_HOSTS");
const TRANSCRIPT_ID = "5552493-16d8-42d8-8feb-c2a16b56f6e8";
const AUDIO_URL = "https://bucket.s3.us-west-2.amazonaws.com/redacted/a.mp3?X-Amz-Signature=abc";
const SECRET = "core-test-secret-value-0d1e2f";

function errorOf<T>(check: Check<T>): string | undefined {
  return check.ok ? undefined : check.rejection.error;
}

/** Why a step could not route the delivery (its quarantine reason), or undefined when it produced a value. */
function reasonOf<T>(step: Step<T>): string | undefined {
  return step.ok ? undefined : step.reason;
}

function routedValue<T>(step: Step<T>): T {
  if (!step.ok) throw new Error(`expected a value, got ${step.reason}: ${step.message}`);
  return step.value;
}
const context: MessageContext = {
  metadata: { customer_id: "c", order_id: "o", params: { customer_id: "c", order_id: "o" } },
  payload: { transcript_id: TRANSCRIPT_ID, status: "completed" },
  receivedAt: new Date("2026-11-27T05:52:00.000Z"),
  sourceIp: "44.238.19.20",
  requestId: "req-1",
};

describe("checkRoute", () => {
  it.each(["/webhook", "/webhook/"])("accepts POST %s", (path) => {
    expect(checkRoute(path, "POST").ok).toBe(true);
  });

  it.each(["/", "/webhooks", "/WEBHOOK", "/webhook//", "/api/webhook", undefined])(
    "refuses path %s with not_found",
    (path) => {
      expect(errorOf(checkRoute(path, "POST"))).toBe("not_found");
    },
  );

  it("refuses another method with method_not_allowed and an allow header", () => {
    const check = checkRoute("/webhook", "GET");

    expect(check).toEqual({
      ok: false,
      rejection: expect.objectContaining({
        statusCode: 405,
        error: "method_not_allowed",
        headers: { allow: "POST" },
      }),
    });
  });
});

describe("decodeBody", () => {
  it("decodes base64 and measures the decoded bytes", () => {
    const bytes = bodyBytes(Buffer.from("{}").toString("base64"), true);

    expect(decodeBody(bytes, 2)).toEqual({ ok: true, value: "{}" });
  });

  it("counts UTF-8 bytes, not characters", () => {
    const step = decodeBody(bodyBytes("ééé", false), 5);

    expect(step).toEqual({
      ok: false,
      reason: "payload_too_large",
      message: "the body is 6 bytes; at most 5 are routed (it is kept, quarantined)",
    });
  });

  it("finds bytes that are not UTF-8 invalid_utf8", () => {
    const bytes = bodyBytes(Buffer.from([0x7b, 0xff, 0x7d]).toString("base64"), true);

    expect(reasonOf(decodeBody(bytes, 100))).toBe("invalid_utf8");
  });

  it("never throws and never returns more than the limit, for any input", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }),
        fc.boolean(),
        fc.integer({ min: 1, max: 64 }),
        (body, b64, max) => {
          const step = decodeBody(bodyBytes(body, b64), max);
          if (step.ok) expect(Buffer.byteLength(step.value)).toBeLessThanOrEqual(max);
        },
      ),
    );
  });
});

describe("parsePayload", () => {
  it("accepts a JSON object", () => {
    expect(parsePayload('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
  });

  it.each([
    ["", "invalid_json"],
    ["   ", "invalid_json"],
    ["{", "invalid_json"],
    ["[]", "invalid_payload"],
    ['"x"', "invalid_payload"],
    ["null", "invalid_payload"],
    ["true", "invalid_payload"],
  ])("finds %j %s", (text, reason) => {
    expect(reasonOf(parsePayload(text))).toBe(reason);
  });

  it("finds nesting deeper than the bound invalid_payload, as it could not be re-serialised safely", () => {
    const deep = `{"a":${"[".repeat(MAX_PAYLOAD_DEPTH)}${"]".repeat(MAX_PAYLOAD_DEPTH)}}`;
    const tooDeepForStringify = `{"a":${"[".repeat(20_000)}${"]".repeat(20_000)}}`;

    expect(reasonOf(parsePayload(deep))).toBe("invalid_payload");
    expect(reasonOf(parsePayload(tooDeepForStringify))).toBe("invalid_payload");
  });

  it("keeps a __proto__ key as plain data", () => {
    const payload = routedValue(parsePayload('{"__proto__":{"polluted":true}}'));

    expect(Object.keys(payload)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("never throws, for any text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.json()), (text) => {
        parsePayload(text);
      }),
    );
  });
});

describe("parseMetadata", () => {
  it("returns the ids and every parameter, decoded once, + kept as a plus sign", () => {
    expect(parseMetadata("customer_id=jane+doe%40example.com&order_id=o%3A2&note=hello%20world")).toEqual({
      ok: true,
      value: {
        customer_id: "jane+doe@example.com",
        order_id: "o:2",
        params: { customer_id: "jane+doe@example.com", order_id: "o:2", note: "hello world" },
      },
    });
  });

  it.each([
    ["", "missing_parameter", "customer_id"],
    ["customer_id=c", "missing_parameter", "order_id"],
    ["customer_id=c&order_id=", "missing_parameter", "order_id"],
    ["customer_id=c&order_id=o&order_id=o", "invalid_parameter", "order_id"],
    [`customer_id=c&order_id=${"o".repeat(1025)}`, "invalid_parameter", "order_id"],
  ])("finds %j %s naming %s", (query, reason, named) => {
    const step = parseMetadata(query);

    expect(step).toEqual({ ok: false, reason, message: expect.stringContaining(named) });
  });

  it("accepts what the old rules refused: repeated and many parameters, long values, path characters", () => {
    const extras = Array.from({ length: 40 }, (_, i) => `${"k".repeat(100)}${i}=${"v".repeat(2000)}`);
    const query = ["customer_id=..", "order_id=a%2Fb", "tag=a", "tag=b", ...extras].join("&");

    const metadata = routedValue(parseMetadata(query));

    expect(metadata.customer_id).toBe("..");
    expect(metadata.order_id).toBe("a/b");
    expect(metadata.params.tag).toEqual(["a", "b"]);
    expect(Object.keys(metadata.params)).toHaveLength(43);
  });
});

describe("classifyPayload", () => {
  it.each(["completed", "error"] as const)("classifies a %s transcript", (status) => {
    expect(routedValue(classifyPayload({ transcript_id: TRANSCRIPT_ID, status }, HOSTS))).toEqual({
      kind: "transcript",
      transcript_id: TRANSCRIPT_ID,
      status,
    });
  });

  it("classifies a redacted audio notification on an allowed host", () => {
    expect(
      routedValue(classifyPayload({ status: "redacted_audio_ready", redacted_audio_url: AUDIO_URL }, HOSTS)),
    ).toEqual({
      kind: "redacted_audio",
      redacted_audio_url: AUDIO_URL,
    });
  });

  it.each([
    [{}],
    [{ status: "completed" }],
    [{ transcript_id: TRANSCRIPT_ID, status: "queued" }],
    [{ transcript_id: TRANSCRIPT_ID }],
    [{ status: "redacted_audio_ready" }],
    [{ status: "redacted_audio_ready", redacted_audio_url: 42 }],
    [{ redacted_audio_url: "https://evil.example/a.mp3", status: "something_else" }],
  ])("classifies %j as unknown", (payload) => {
    expect(routedValue(classifyPayload(payload, HOSTS)).kind).toBe("unknown");
  });

  it.each([[""], ["a/b"], ["a b"], ["x".repeat(129)], [42], [null], [["id"]]])(
    "finds transcript_id %j invalid_transcript_id",
    (transcriptId) => {
      expect(reasonOf(classifyPayload({ transcript_id: transcriptId, status: "completed" }, HOSTS))).toBe(
        "invalid_transcript_id",
      );
    },
  );

  it("classifies a redacted audio URL off the allowlist as unknown, with a note naming why", () => {
    const check = classifyPayload(
      { status: "redacted_audio_ready", redacted_audio_url: "https://a.example/x" },
      HOSTS,
    );

    expect(check).toEqual({
      ok: true,
      value: { kind: "unknown", note: "redacted_audio_url is not on an allowed host and port" },
    });
  });
});

describe("classifyPayload: streaming sessions", () => {
  const SESSION_ID = "273e79fd-1b4a-4e0e-9d7c-3f1c2b7a5d9e";
  const turn = {
    type: "Turn",
    turn_order: 0,
    turn_is_formatted: true,
    end_of_turn: true,
    transcript: "Smoke from hundreds of wildfires.",
    words: [{ start: 4880, end: 5040, text: "Smoke", confidence: 0.76, word_is_final: true }],
  };

  it.each([
    ["with turns", [turn]],
    ["with no messages", []],
    ["with messages of any shape (the worker reads them)", [42, null, "Turn", { type: "Termination" }]],
  ])("classifies a session_id with a messages array as a streaming session, %s", (_name, messages) => {
    expect(routedValue(classifyPayload({ session_id: SESSION_ID, messages }, HOSTS))).toEqual({
      kind: "streaming_session",
      session_id: SESSION_ID,
    });
  });

  it.each([[""], ["a/b"], ["../../x"], ["x".repeat(129)], [42], [null], [["id"]]])(
    "keeps a session body whose session_id is %j as unknown with a note, never a 4xx",
    (sessionId) => {
      expect(classifyPayload({ session_id: sessionId, messages: [turn] }, HOSTS)).toEqual({
        ok: true,
        value: { kind: "unknown", note: "session_id is not 1 to 128 letters, digits or dashes" },
      });
    },
  );

  it.each([
    [{ session_id: SESSION_ID }],
    [{ session_id: SESSION_ID, messages: { 0: turn } }],
    [{ session_id: SESSION_ID, messages: "[]" }],
    [{ messages: [turn] }],
  ])("classifies %j, which is not a session's shape, as unknown without a note", (payload) => {
    expect(routedValue(classifyPayload(payload, HOSTS))).toEqual({ kind: "unknown" });
  });

  it("builds a streaming session message carrying the session id and the whole body", () => {
    const payload = { session_id: SESSION_ID, messages: [turn] };
    const message = buildDeliveryMessage(
      { kind: "streaming_session", session_id: SESSION_ID },
      { ...context, payload },
    );

    expect(message).toEqual({
      version: 1,
      source: "webhook",
      kind: "streaming_session",
      session_id: SESSION_ID,
      metadata: context.metadata,
      received_at: "2026-11-27T05:52:00.000Z",
      source_ip: "44.238.19.20",
      request_id: "req-1",
      payload,
    });
  });
});

describe("buildDeliveryMessage", () => {
  it("builds a transcript message", () => {
    const message = buildDeliveryMessage(
      { kind: "transcript", transcript_id: TRANSCRIPT_ID, status: "error" },
      context,
    );

    expect(message).toEqual({
      version: 1,
      source: "webhook",
      kind: "transcript",
      transcript_id: TRANSCRIPT_ID,
      status: "error",
      metadata: context.metadata,
      received_at: "2026-11-27T05:52:00.000Z",
      source_ip: "44.238.19.20",
      request_id: "req-1",
      payload: context.payload,
    });
  });

  it("builds a redacted audio message with its URL and an unknown message with neither", () => {
    const audio = buildDeliveryMessage({ kind: "redacted_audio", redacted_audio_url: AUDIO_URL }, context);
    const unknown = buildDeliveryMessage({ kind: "unknown", transcript_id: TRANSCRIPT_ID }, context);

    expect(audio).toMatchObject({ kind: "redacted_audio", redacted_audio_url: AUDIO_URL });
    expect(unknown.kind).toBe("unknown");
    expect(unknown).not.toHaveProperty("transcript_id");
    expect(unknown).not.toHaveProperty("redacted_audio_url");
  });
});

describe("intake", () => {
  const rules: IntakeRules = {
    maxBodyBytes: 1_000,
    redactedAudioHosts: HOSTS,
    authHeaderName: "x-webhook-secret",
  };
  const HEADERS = {
    "content-type": "application/json",
    "X-Webhook-Secret": SECRET,
    authorization: `Bearer ${SECRET}`,
    cookie: `session=${SECRET}`,
    "user-agent": "python-httpx/0.27.0",
  };
  const request = (change: Partial<AuthenticatedRequest> = {}): AuthenticatedRequest => ({
    body: JSON.stringify({ transcript_id: TRANSCRIPT_ID, status: "completed" }),
    isBase64Encoded: false,
    rawQueryString: "customer_id=c&order_id=o",
    headers: HEADERS,
    receivedAt: new Date("2026-11-27T05:52:00.000Z"),
    sourceIp: "44.238.19.20",
    requestId: "req-1",
    ...change,
  });
  const quarantineOf = (message: DeliveryMessage) => {
    if (message.kind !== "quarantine") throw new Error(`expected a quarantine message, got ${message.kind}`);
    return message;
  };

  it("builds the delivery of a routable request", () => {
    expect(intake(request(), rules)).toEqual(
      buildDeliveryMessage(
        { kind: "transcript", transcript_id: TRANSCRIPT_ID, status: "completed" },
        context,
      ),
    );
  });

  it("quarantines a request it cannot route with everything that arrived but the secret", () => {
    const message = intake(request({ body: "{not json", rawQueryString: "order_id=o&x=%zz" }), rules);

    expect(message).toEqual({
      version: 1,
      kind: "quarantine",
      source: "webhook",
      received_at: "2026-11-27T05:52:00.000Z",
      source_ip: "44.238.19.20",
      request_id: "req-1",
      reason: "invalid_json",
      reason_message: "the body is not valid JSON",
      raw_query: "order_id=o&x=%zz",
      headers: { "content-type": "application/json", "user-agent": "python-httpx/0.27.0" },
      body: "{not json",
      body_encoding: "utf8",
    });
    expect(JSON.stringify(message)).not.toContain(SECRET);
  });

  it.each([
    ["payload_too_large", { body: JSON.stringify({ pad: "x".repeat(1_000) }) }],
    ["invalid_json", { body: "" }],
    ["invalid_json", { body: undefined }],
    ["invalid_payload", { body: "[1,2]" }],
    ["invalid_payload", { body: `{"a":${"[".repeat(MAX_PAYLOAD_DEPTH)}${"]".repeat(MAX_PAYLOAD_DEPTH)}}` }],
    ["missing_parameter", { rawQueryString: "order_id=o" }],
    ["missing_parameter", { rawQueryString: undefined }],
    ["missing_parameter", { rawQueryString: "customer_id=&order_id=o" }],
    ["invalid_parameter", { rawQueryString: "customer_id=a&customer_id=b&order_id=o" }],
    ["invalid_parameter", { rawQueryString: `customer_id=${"c".repeat(2049)}&order_id=o` }],
    ["invalid_transcript_id", { body: JSON.stringify({ transcript_id: "../x", status: "completed" }) }],
  ] as const)("quarantines %s (%j) with the body as text", (reason, change) => {
    const sent = request(change);

    const message = quarantineOf(intake(sent, rules));

    expect(message).toMatchObject({
      reason,
      body: sent.body ?? "",
      body_encoding: "utf8",
      raw_query: sent.rawQueryString ?? "",
      headers: { "content-type": "application/json", "user-agent": "python-httpx/0.27.0" },
    });
    expect(message.reason_message.length).toBeGreaterThan(0);
    expect(JSON.stringify(message)).not.toContain(SECRET);
  });

  it("keeps a byte order mark in a quarantined body, which routing ignores", () => {
    const body = "\uFEFF{}";

    const routed = intake(request({ body: `\uFEFF${request().body}` }), rules);
    const message = quarantineOf(intake(request({ body, rawQueryString: "order_id=o" }), rules));

    expect(routed.kind).toBe("transcript");
    expect(message).toMatchObject({ reason: "missing_parameter", body, body_encoding: "utf8" });
    expect(Buffer.from(message.body, "utf8")).toEqual(Buffer.from(body, "utf8"));
  });

  it("keeps a body that is not UTF-8 as base64, byte for byte", () => {
    const bytes = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);

    const message = quarantineOf(
      intake(request({ body: bytes.toString("base64"), isBase64Encoded: true }), rules),
    );

    expect(message).toMatchObject({ reason: "invalid_utf8", body_encoding: "base64" });
    expect(Buffer.from(message.body, "base64").equals(bytes)).toBe(true);
  });

  it("keeps an oversized body that is not UTF-8 as base64", () => {
    const bytes = Buffer.alloc(1_001, 0xff);

    const message = quarantineOf(
      intake(request({ body: bytes.toString("base64"), isBase64Encoded: true }), rules),
    );

    expect(message).toMatchObject({ reason: "payload_too_large", body_encoding: "base64" });
    expect(Buffer.from(message.body, "base64").equals(bytes)).toBe(true);
  });

  it("queues every request whole, for any body, query and headers: routed, or quarantined with its bytes", () => {
    const headerName = fc.oneof(
      fc.constantFrom("X-Webhook-Secret", "x-webhook-secret", "Authorization", "Cookie", "content-type"),
      fc.string({ minLength: 1, maxLength: 20 }),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary" }),
          fc.json(),
          fc.uint8Array().map((b) => Buffer.from(b).toString("base64")),
        ),
        fc.boolean(),
        fc.oneof(fc.string({ unit: "binary", maxLength: 80 }), fc.constant("customer_id=c&order_id=o")),
        fc.dictionary(headerName, fc.string({ maxLength: 30 }), { maxKeys: 5 }),
        (body, isBase64Encoded, rawQueryString, headers) => {
          const sent = request({
            body,
            isBase64Encoded,
            rawQueryString,
            headers: { ...headers, "x-webhook-secret": SECRET },
          });

          const message = intake(sent, rules);

          expect(JSON.stringify(message)).not.toContain(SECRET);
          if (message.kind !== "quarantine") return;
          const kept = Buffer.from(message.body, message.body_encoding === "base64" ? "base64" : "utf8");
          expect(kept.equals(bodyBytes(body, isBase64Encoded))).toBe(true);
          expect(message.raw_query).toBe(rawQueryString);
          for (const name of Object.keys(message.headers)) {
            expect(["x-webhook-secret", "authorization", "cookie"]).not.toContain(name.toLowerCase());
          }
        },
      ),
    );
  });
});

describe("loggableIds", () => {
  const delivery = (change: Partial<MessageContext> = {}) =>
    buildDeliveryMessage({ kind: "unknown" }, { ...context, ...change });

  it("returns the ids of a routable message", () => {
    const message = buildDeliveryMessage(
      { kind: "transcript", transcript_id: TRANSCRIPT_ID, status: "completed" },
      context,
    );

    expect(loggableIds(message)).toEqual({ customerId: "c", orderId: "o", transcriptId: TRANSCRIPT_ID });
  });

  it("logs a payload's transcript id only when it is well formed", () => {
    expect(loggableIds(delivery({ payload: { transcript_id: "a/b" } }))).toEqual({
      customerId: "c",
      orderId: "o",
    });
  });

  it("cuts an id to 256 characters (a key may be 2 KB)", () => {
    const long = "é".repeat(1024);
    const ids = loggableIds(delivery({ metadata: { customer_id: long, order_id: long, params: {} } }));

    expect(ids.customerId).toBe(long.slice(0, 256));
    expect(ids.orderId).toBe(long.slice(0, 256));
  });

  it("returns nothing for a quarantined request or before any message was built", () => {
    const quarantined = intake(
      {
        ...context,
        body: "{",
        isBase64Encoded: false,
        rawQueryString: "customer_id=c&order_id=o",
        headers: {},
      },
      { maxBodyBytes: 100, redactedAudioHosts: HOSTS, authHeaderName: "x-webhook-secret" },
    );

    expect(quarantined.kind).toBe("quarantine");
    expect(loggableIds(quarantined, "customer_id=c&order_id=o")).toEqual({});
    expect(loggableIds(undefined)).toEqual({});
  });

  it("names a refused request's customer and order from its query, so a wrong secret can be traced to its job", () => {
    expect(loggableIds(undefined, "customer_id=ops%2Bx%40example.com&order_id=o-1")).toEqual({
      customerId: "ops+x@example.com",
      orderId: "o-1",
    });
    expect(loggableIds(undefined, "order_id=o-1")).toEqual({});
  });
});
