import fc from "fast-check";
import {
  buildDeliveryMessage,
  checkRoute,
  classifyPayload,
  decodeBody,
  loggableIds,
  MAX_PAYLOAD_DEPTH,
  type MessageContext,
  parseMetadata,
  parsePayload,
  serializeDeliveryMessage,
} from "../../../functions/receiver/core";
import type { Check } from "../../../functions/receiver/outcome";
import { DEFAULT_REDACTED_AUDIO_HOSTS } from "../../../functions/shared/assemblyai";
import { METADATA_ID_PATTERN } from "../../../functions/shared/contract/delivery";
import { type HostRule, parseHostRules } from "../../../functions/shared/redacted-audio-hosts";

const HOSTS: readonly HostRule[] = parseHostRules(DEFAULT_REDACTED_AUDIO_HOSTS, "REDACTED_AUDIO_HOSTS");
const TRANSCRIPT_ID = "5552493-16d8-42d8-8feb-c2a16b56f6e8";
const AUDIO_URL = "https://bucket.s3.us-west-2.amazonaws.com/redacted/a.mp3?X-Amz-Signature=abc";

function errorOf<T>(check: Check<T>): string | undefined {
  return check.ok ? undefined : check.rejection.error;
}

function acceptedValue<T>(check: Check<T>): T {
  if (!check.ok)
    throw new Error(`expected a value, got ${check.rejection.error}: ${check.rejection.message}`);
  return check.value;
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
    expect(decodeBody(Buffer.from("{}").toString("base64"), true, 2)).toEqual({ ok: true, value: "{}" });
  });

  it("counts UTF-8 bytes, not characters", () => {
    expect(errorOf(decodeBody("ééé", false, 5))).toBe("payload_too_large");
  });

  it("refuses bytes that are not UTF-8 as invalid_json", () => {
    expect(errorOf(decodeBody(Buffer.from([0x7b, 0xff, 0x7d]).toString("base64"), true, 100))).toBe(
      "invalid_json",
    );
  });

  it("never throws and never returns more than the limit, for any input", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }),
        fc.boolean(),
        fc.integer({ min: 1, max: 64 }),
        (body, b64, max) => {
          const check = decodeBody(body, b64, max);
          if (check.ok) expect(Buffer.byteLength(check.value)).toBeLessThanOrEqual(max);
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
  ])("refuses %j with %s", (text, error) => {
    expect(errorOf(parsePayload(text))).toBe(error);
  });

  it("refuses nesting deeper than the bound, which could not be re-serialised safely", () => {
    const deep = `{"a":${"[".repeat(MAX_PAYLOAD_DEPTH)}${"]".repeat(MAX_PAYLOAD_DEPTH)}}`;
    const tooDeepForStringify = `{"a":${"[".repeat(20_000)}${"]".repeat(20_000)}}`;

    expect(errorOf(parsePayload(deep))).toBe("invalid_payload");
    expect(errorOf(parsePayload(tooDeepForStringify))).toBe("invalid_payload");
  });

  it("keeps a __proto__ key as plain data", () => {
    const payload = acceptedValue(parsePayload('{"__proto__":{"polluted":true}}'));

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
  it("returns the ids and every parameter", () => {
    expect(parseMetadata("customer_id=c-1&order_id=o%3A2&note=hello+world")).toEqual({
      ok: true,
      value: {
        customer_id: "c-1",
        order_id: "o:2",
        params: { customer_id: "c-1", order_id: "o:2", note: "hello world" },
      },
    });
  });

  it.each([
    ["", "missing_parameter", "customer_id"],
    ["customer_id=c", "missing_parameter", "order_id"],
    ["customer_id=c%20d&order_id=o", "invalid_parameter", "customer_id"],
    [`customer_id=c&order_id=${"o".repeat(257)}`, "invalid_parameter", "order_id"],
    ["customer_id=c&order_id=o&order_id=o", "invalid_parameter", "order_id"],
    ["customer_id=c&order_id=o&tag=a&tag=b", "invalid_parameter", "tag"],
    ["customer_id=c&order_id=o&=x", "invalid_parameter", "empty name"],
    [`customer_id=c&order_id=o&${"k".repeat(65)}=v`, "invalid_parameter", "longer than 64"],
    [`customer_id=c&order_id=o&k=${"v".repeat(1025)}`, "invalid_parameter", "longer than 1024"],
    [Array.from({ length: 33 }, (_, i) => `p${i}=v`).join("&"), "too_many_parameters", "33"],
  ])("refuses %j with %s naming %s", (query, error, named) => {
    const check = parseMetadata(query);

    expect(check).toEqual({ ok: false, rejection: expect.objectContaining({ statusCode: 400, error }) });
    expect(check.ok ? "" : check.rejection.message).toContain(named);
  });

  it("accepts exactly 32 parameters with names of 64 and values of 1024 characters", () => {
    const extras = Array.from({ length: 30 }, (_, i) => `${String(i).padStart(64, "k")}=${"v".repeat(1024)}`);

    expect(parseMetadata(["customer_id=c", "order_id=o", ...extras].join("&")).ok).toBe(true);
  });

  it("keeps a __proto__ parameter as an own property", () => {
    const metadata = acceptedValue(parseMetadata("customer_id=c&order_id=o&__proto__=x"));

    expect(Object.hasOwn(metadata.params, "__proto__")).toBe(true);
    expect(Object.keys(JSON.parse(JSON.stringify(metadata.params)))).toEqual([
      "customer_id",
      "order_id",
      "__proto__",
    ]);
  });

  it("only ever accepts bounded metadata with well-formed ids, for any query string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (query) => {
        const check = parseMetadata(`customer_id=c&order_id=o&${query}`);
        if (!check.ok) return;
        const params = Object.entries(check.value.params);
        expect(params.length).toBeLessThanOrEqual(32);
        for (const [name, value] of params) {
          expect(name.length).toBeGreaterThan(0);
          expect(name.length).toBeLessThanOrEqual(64);
          expect(value.length).toBeLessThanOrEqual(1024);
        }
        expect(check.value.customer_id).toMatch(METADATA_ID_PATTERN);
        expect(check.value.order_id).toMatch(METADATA_ID_PATTERN);
      }),
    );
  });
});

describe("classifyPayload", () => {
  it.each(["completed", "error"] as const)("classifies a %s transcript", (status) => {
    expect(acceptedValue(classifyPayload({ transcript_id: TRANSCRIPT_ID, status }, HOSTS))).toEqual({
      kind: "transcript",
      transcript_id: TRANSCRIPT_ID,
      status,
    });
  });

  it("classifies a redacted audio notification on an allowed host", () => {
    expect(
      acceptedValue(
        classifyPayload({ status: "redacted_audio_ready", redacted_audio_url: AUDIO_URL }, HOSTS),
      ),
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
    expect(acceptedValue(classifyPayload(payload, HOSTS)).kind).toBe("unknown");
  });

  it.each([[""], ["a/b"], ["a b"], ["x".repeat(129)], [42], [null], [["id"]]])(
    "refuses transcript_id %j with invalid_transcript_id",
    (transcriptId) => {
      expect(errorOf(classifyPayload({ transcript_id: transcriptId, status: "completed" }, HOSTS))).toBe(
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
    expect(acceptedValue(classifyPayload({ session_id: SESSION_ID, messages }, HOSTS))).toEqual({
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
    expect(acceptedValue(classifyPayload(payload, HOSTS))).toEqual({ kind: "unknown" });
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

describe("serializeDeliveryMessage", () => {
  it("escapes the characters SQS refuses and round-trips to the same message", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ unit: "binary" }), fc.jsonValue()),
        fc.string({ unit: "binary" }),
        (payload, note) => {
          const message = buildDeliveryMessage(
            { kind: "unknown" },
            { ...context, payload: { ...payload, note } },
          );
          const body = acceptedValue(serializeDeliveryMessage(message));

          expect(body).not.toMatch(/[\uFFFE\uFFFF]/);
          expect(JSON.parse(body)).toEqual(JSON.parse(JSON.stringify(message)));
        },
      ),
    );
  });

  it("refuses a message over the SQS size limit with payload_too_large", () => {
    const message = buildDeliveryMessage(
      { kind: "unknown" },
      { ...context, payload: { pad: "x".repeat(262_144) } },
    );

    expect(errorOf(serializeDeliveryMessage(message))).toBe("payload_too_large");
  });
});

describe("loggableIds", () => {
  it("returns only ids that are valid and given once", () => {
    expect(loggableIds("customer_id=c-1&order_id=o%20x", { transcript_id: TRANSCRIPT_ID })).toEqual({
      customerId: "c-1",
      transcriptId: TRANSCRIPT_ID,
    });
    expect(loggableIds("customer_id=a&customer_id=b&order_id=o", { transcript_id: "bad/id" })).toEqual({
      orderId: "o",
    });
    expect(loggableIds(undefined, undefined)).toEqual({});
  });
});
