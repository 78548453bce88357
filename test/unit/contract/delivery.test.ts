import fc from "fast-check";
import {
  buildDeliveryMessage,
  buildQuarantineMessage,
  claimCheckBody,
  type DeliveryMetadata,
  keptHeaders,
  METADATA_ID_MAX_BYTES,
  normalizeAssemblyAiTime,
  type ParamValue,
  parseMetadata,
  readClaimCheck,
  serializeDeliveryMessage,
} from "../../../functions/shared/contract/delivery";
import { parseDeliveryMessage } from "../../../functions/shared/contract/delivery-schema";
import {
  claimCheckKey,
  idSegment,
  MAX_ID_SEGMENT_LENGTH,
  quarantineKey,
  transcriptJsonKey,
} from "../../../functions/shared/contract/s3-keys";

const metadata = { customer_id: "c", order_id: "o", params: { customer_id: "c", order_id: "o" } };
const transcript = (extra: Record<string, unknown> = {}) =>
  buildDeliveryMessage({
    source: "replay",
    kind: "transcript",
    transcriptId: "t-1",
    status: "completed",
    metadata,
    receivedAt: new Date("2025-11-27T06:00:00.000Z"),
    sourceIp: "cli",
    requestId: "replay-1",
    payload: { transcript_id: "t-1", status: "completed" },
    ...extra,
  });

describe("AssemblyAI timestamps", () => {
  it.each([
    ["2023-11-02T21:49:25.586965", "2023-11-02T21:49:25.586965Z"],
    ["2023-11-02T21:49:25", "2023-11-02T21:49:25.000000Z"],
    ["2023-11-02 21:49:25.5", "2023-11-02T21:49:25.500000Z"],
    ["2023-11-02T21:49:25.586965Z", "2023-11-02T21:49:25.586965Z"],
    ["2023-11-02T23:49:25.586+02:00", "2023-11-02T21:49:25.586000Z"],
    [new Date("2023-11-02T21:49:25.586Z"), "2023-11-02T21:49:25.586000Z"],
    ["yesterday", undefined],
    ["2023-13-02T21:49:25", undefined],
    [null, undefined],
  ])("reads %p as %p, comparable as a string with microseconds kept", (value, expected) => {
    expect(normalizeAssemblyAiTime(value)).toBe(expected);
  });
});

describe("the queue message", () => {
  it("round-trips through its serialisation and the one parser, times included", () => {
    const message = transcript({ created: "2025-11-27T05:00:00.123456", completed: "2025-11-27T05:01:00.5" });
    const body = serializeDeliveryMessage(message);
    if (!body.ok) throw new Error("too large");

    expect(parseDeliveryMessage(body.body)).toEqual({ ok: true, message });
    expect(message).toMatchObject({
      created: "2025-11-27T05:00:00.123456Z",
      completed: "2025-11-27T05:01:00.500000Z",
    });
  });

  it("keeps parameters named like Object.prototype members (valibot's record would drop them)", () => {
    const query = "customer_id=c&order_id=o&constructor=x&__proto__=y&prototype=z";
    const parsed = parseMetadata(query);
    if (!parsed.ok) throw new Error(parsed.problem.message);
    const message = buildDeliveryMessage({
      source: "webhook",
      kind: "unknown",
      metadata: parsed.value,
      receivedAt: new Date(),
      sourceIp: "1.2.3.4",
      requestId: "r",
      payload: {},
    });
    const body = serializeDeliveryMessage(message);
    if (!body.ok) throw new Error("too large");
    const read = parseDeliveryMessage(body.body);

    if (!read.ok || read.message.kind === "quarantine") throw new Error("not a routable delivery");
    expect(Object.entries(read.message.metadata.params)).toEqual([
      ["customer_id", "c"],
      ["order_id", "o"],
      ["constructor", "x"],
      ["__proto__", "y"],
      ["prototype", "z"],
    ]);
  });

  it.each([
    [{ version: 2 }, "version is not a supported message version"],
    [{ source: "email" }, "source is not one of webhook, replay, reconciler"],
    [{ transcript_id: "a/b" }, "transcript_id is not letters, digits and dashes"],
    [{ created: "soon" }, "created is not a timestamp"],
    [
      { metadata: { ...metadata, params: { a: 1 } } },
      "metadata.params must be an object of strings or lists of strings",
    ],
    [{ metadata: { ...metadata, customer_id: "" } }, "metadata.customer_id is empty or too long for a key"],
    [
      { metadata: { ...metadata, order_id: "o".repeat(1025) } },
      "metadata.order_id is empty or too long for a key",
    ],
  ])("names what is wrong with %p", (change, reason) => {
    expect(parseDeliveryMessage(JSON.stringify({ ...transcript(), ...change }))).toEqual({
      ok: false,
      reason,
    });
  });

  it("reads a kind it does not know as unknown, so a newer producer's message is archived, not dropped", () => {
    const result = parseDeliveryMessage(JSON.stringify({ ...transcript(), kind: "session_ended" }));

    expect(result.ok && result.message.kind).toBe("unknown");
  });

  it("reads a version 1 message written before streaming sessions existed exactly as it was", () => {
    // Adding a kind is additive: every message already sitting in a queue still parses to itself.
    const older = {
      version: 1,
      kind: "unknown",
      source: "webhook",
      metadata,
      received_at: "2025-11-27T06:00:00.000Z",
      source_ip: "44.238.19.20",
      request_id: "req-1",
      payload: { session_id: "s-1", messages: [] },
    };

    expect(parseDeliveryMessage(JSON.stringify(older))).toEqual({ ok: true, message: older });
    expect(parseDeliveryMessage(JSON.stringify(transcript()))).toEqual({ ok: true, message: transcript() });
  });

  it("escapes the characters SQS refuses and round-trips to the same message", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ unit: "binary" }), fc.jsonValue()),
        fc.string({ unit: "binary" }),
        (payload, note) => {
          const message = transcript({ payload: { ...payload, note } });
          const serialized = serializeDeliveryMessage(message);
          if (!serialized.ok) throw new Error("too large");

          expect(serialized.body).not.toMatch(/[\uFFFE\uFFFF]/);
          expect(JSON.parse(serialized.body)).toEqual(JSON.parse(JSON.stringify(message)));
        },
      ),
    );
  });

  it("reports a message over SQS's limit by its size instead of throwing", () => {
    const big = transcript({ payload: { text: "x".repeat(300_000) } });

    const serialized = serializeDeliveryMessage(big);

    expect(serialized).toEqual({ ok: false, bytes: expect.any(Number), body: expect.any(String) });
    // The body comes back whole, for the receiver's claim check.
    expect(!serialized.ok && Buffer.byteLength(serialized.body)).toBe(!serialized.ok && serialized.bytes);
    expect(!serialized.ok && JSON.parse(serialized.body)).toEqual(JSON.parse(JSON.stringify(big)));
  });
});

describe("a streaming session message", () => {
  const SESSION_ID = "273e79fd-1b4a-4e0e-9d7c-3f1c2b7a5d9e";
  const payload = {
    session_id: SESSION_ID,
    messages: [{ type: "Turn", turn_order: 0, end_of_turn: true, transcript: "Hi." }],
  };
  const session = (extra: Record<string, unknown> = {}) => ({
    ...buildDeliveryMessage({
      source: "webhook",
      kind: "streaming_session",
      sessionId: SESSION_ID,
      metadata,
      receivedAt: new Date("2025-11-27T06:00:00.000Z"),
      sourceIp: "44.238.19.20",
      requestId: "req-1",
      payload,
    }),
    ...extra,
  });

  it("is built with its session id and the whole body, and round-trips through the parser", () => {
    const message = session();
    const body = serializeDeliveryMessage(message as never);
    if (!body.ok) throw new Error("too large");

    expect(message).toMatchObject({ version: 1, kind: "streaming_session", session_id: SESSION_ID, payload });
    expect(parseDeliveryMessage(body.body)).toEqual({ ok: true, message });
  });

  it.each([
    [{ session_id: "a/b" }, "session_id is not letters, digits and dashes"],
    [{ session_id: "x".repeat(129) }, "session_id is not letters, digits and dashes"],
    [{ session_id: "" }, "session_id is not letters, digits and dashes"],
    [{ session_id: 42 }, "session_id Invalid type: Expected string but received 42"],
    [{ session_id: undefined }, 'session_id Invalid key: Expected "session_id" but received undefined'],
    [{ payload: [payload] }, "payload must be a JSON object"],
  ])("is refused with a reason when %p", (change, reason) => {
    expect(parseDeliveryMessage(JSON.stringify(session(change)))).toEqual({ ok: false, reason });
  });
});

describe("the bucket's keys", () => {
  it("keep ids of letters, digits, _ and - as they are", () => {
    expect(transcriptJsonKey("cust_1-a", "order-5678", "t-1")).toBe(
      "transcripts/cust_1-a/order-5678/t-1.json.gz",
    );
  });

  it.each([
    ["..", "%2E%2E"],
    [".", "%2E"],
    ["a/b", "a%2Fb"],
    ["a%2Fb", "a%252Fb"],
    ["jane+doe@example.com", "jane%2Bdoe%40example.com".replace(".", "%2E")],
  ])("encode %p as the segment %p", (id, segment) => {
    expect(idSegment(id)).toBe(segment);
  });

  it("keep claim checks under inbox/ and quarantined requests under quarantine/, by day, whatever the request id", () => {
    const at = "2026-11-27T05:52:00.250Z";

    expect(claimCheckKey(at, "T6XjYhVtPHcEJ8g=")).toBe(`inbox/2026-11-27/${at}-T6XjYhVtPHcEJ8g=.json`);
    expect(quarantineKey(at, "T6XjYhVtPHcEJ8g=")).toBe(`quarantine/2026-11-27/${at}-T6XjYhVtPHcEJ8g=.json`);
    expect(claimCheckKey(at, "../../x/y")).toBe(`inbox/2026-11-27/${at}-.._.._x_y.json`);
    expect(quarantineKey(at, "a/b").split("/")).toHaveLength(3);
  });

  it("fit ids of any length DynamoDB keys allow inside S3's 1,024-byte key limit, each id its own segment", () => {
    const longest = "ü".repeat(1024); // 2,048 bytes of UTF-8, 6,144 characters percent-encoded
    const key = transcriptJsonKey(longest, "ö".repeat(512), "t".repeat(128));

    expect(Buffer.byteLength(key)).toBeLessThanOrEqual(1024);
    expect(idSegment(longest)).toMatch(/^(%C3%BC)+~[0-9a-f]{64}$/);
    expect(idSegment(longest)).not.toBe(idSegment(`${longest.slice(1)}x`));
    expect(idSegment(`x${"y".repeat(MAX_ID_SEGMENT_LENGTH - 1)}`)).toHaveLength(MAX_ID_SEGMENT_LENGTH);
  });

  it("never let an id leave its prefix, share a key with another id, or pass S3's key limit", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 700 }), (id) => {
        const key = transcriptJsonKey(id, id, "t-1");
        expect(Buffer.byteLength(key)).toBeLessThanOrEqual(1024);
        const [, segment] = key.split("/") as [string, string];
        expect(segment === "." || segment === "..").toBe(false);
        // Short ids decode back; long ones carry their digest, and a short one never looks like that.
        if (segment.includes("~")) expect(segment).toMatch(/~[0-9a-f]{64}$/);
        else expect(decodeURIComponent(segment)).toBe(id);
      }),
    );
  });

  it("never let a short id leave its prefix or share a key with another id", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", minLength: 1 }),
        fc.string({ unit: "grapheme", minLength: 1 }),
        (customer, order) => {
          const key = transcriptJsonKey(customer, order, "t-1");
          const segments = key.split("/");
          expect(segments).toHaveLength(4);
          expect(segments.some((segment) => segment === "." || segment === "..")).toBe(false);
          const pairs: Array<[string, string]> = [
            [segments[1] as string, customer],
            [segments[2] as string, order],
          ];
          for (const [segment, id] of pairs) {
            if (segment.includes("~")) expect(segment).toMatch(/~[0-9a-f]{64}$/);
            else expect(decodeURIComponent(segment)).toBe(id);
          }
        },
      ),
    );
  });
});

/** The metadata of a query string that must parse. */
function metadataOf(query: string): DeliveryMetadata {
  const parsed = parseMetadata(query);
  if (!parsed.ok) throw new Error(`expected metadata, got ${parsed.problem.code}: ${parsed.problem.message}`);
  return parsed.value;
}

const IDS = "customer_id=c&order_id=o";

describe("parseMetadata: any metadata a URL can carry", () => {
  it.each([
    ["jane+doe@example.com", "jane+doe@example.com"],
    ["jane%2Bdoe%40example.com", "jane+doe@example.com"],
    ["a+b+c", "a+b+c"],
  ])("reads customer_id=%s as %j: + is a plus sign, not a space", (written, id) => {
    const metadata = metadataOf(`customer_id=${written}&order_id=o`);

    expect(metadata.customer_id).toBe(id);
    expect(metadata.params.customer_id).toBe(id);
  });

  it("percent-decodes exactly once", () => {
    const metadata = metadataOf("customer_id=a%252Fb&order_id=%20x%20&note=hello%20world");

    expect(metadata).toEqual({
      customer_id: "a%2Fb",
      order_id: " x ",
      params: { customer_id: "a%2Fb", order_id: " x ", note: "hello world" },
    });
  });

  it("keeps a malformed escape as written rather than refusing the URL", () => {
    const metadata = metadataOf("customer_id=100%&order_id=%E9&bad%zz=%");

    expect(metadata.customer_id).toBe("100%");
    expect(metadata.order_id).toBe("%E9");
    expect(metadata.params).toEqual({ customer_id: "100%", order_id: "%E9", "bad%zz": "%" });
  });

  it.each([
    ["..", ".."],
    [".", "."],
    ["a/b", "a/b"],
    ["%2F", "/"],
    ["..%2F..%2Fetc", "../../etc"],
    ["a%23b", "a#b"],
  ])("accepts the id %s as %j (the bucket's keys encode it)", (written, id) => {
    expect(metadataOf(`customer_id=${written}&order_id=${written}`)).toMatchObject({
      customer_id: id,
      order_id: id,
    });
  });

  it("keeps a repeated parameter as the list of its values, in order", () => {
    const metadata = metadataOf(`${IDS}&tag=b&other=x&tag=a&tag=b`);

    expect(metadata.params).toEqual({ customer_id: "c", order_id: "o", tag: ["b", "a", "b"], other: "x" });
  });

  it("keeps 33 parameters", () => {
    const extras = Array.from({ length: 31 }, (_, i) => `p${i}=v${i}`);

    const metadata = metadataOf([IDS, ...extras].join("&"));

    expect(Object.keys(metadata.params)).toHaveLength(33);
    expect(metadata.params.p30).toBe("v30");
  });

  it("keeps a parameter value of 2 KB, and a long name", () => {
    const value = "v".repeat(2048);
    const name = "n".repeat(300);

    const metadata = metadataOf(`${IDS}&note=${value}&${name}=x`);

    expect(metadata.params.note).toBe(value);
    expect(metadata.params[name]).toBe("x");
  });

  it("keeps a parameter without a value as the empty string, and skips one without a name", () => {
    expect(metadataOf(`${IDS}&flag&=x&&empty=`).params).toEqual({
      customer_id: "c",
      order_id: "o",
      flag: "",
      empty: "",
    });
  });

  it.each(["__proto__", "constructor", "toString", "hasOwnProperty", "prototype", "valueOf"])(
    "keeps a parameter named %s as an own data property",
    (name) => {
      const { params } = metadataOf(`${IDS}&${name}=kept&${name}=twice`);

      expect(Object.hasOwn(params, name)).toBe(true);
      expect(Object.getOwnPropertyDescriptor(params, name)).toMatchObject({
        value: ["kept", "twice"],
        writable: true,
        enumerable: true,
      });
      expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).kept).toBeUndefined();
      expect(JSON.parse(JSON.stringify(params))).toEqual(
        Object.fromEntries([
          ["customer_id", "c"],
          ["order_id", "o"],
          [name, ["kept", "twice"]],
        ]),
      );
    },
  );

  it.each([
    ["customer_id", METADATA_ID_MAX_BYTES.customer_id, "order_id=o"],
    ["order_id", METADATA_ID_MAX_BYTES.order_id, "customer_id=c"],
  ] as const)("accepts a %s of exactly its key limit (%i bytes of UTF-8)", (name, limit, other) => {
    // Two-byte characters: the limit is in bytes, not characters.
    const id = "é".repeat(limit / 2);

    expect(metadataOf(`${other}&${name}=${encodeURIComponent(id)}`)[name]).toBe(id);
  });

  it.each([
    ["customer_id", METADATA_ID_MAX_BYTES.customer_id, "order_id=o"],
    ["order_id", METADATA_ID_MAX_BYTES.order_id, "customer_id=c"],
  ] as const)("refuses a %s one byte over its key limit of %i bytes", (name, limit, other) => {
    const id = `${"é".repeat(limit / 2)}x`;

    expect(parseMetadata(`${other}&${name}=${encodeURIComponent(id)}`)).toEqual({
      ok: false,
      problem: {
        code: "invalid_parameter",
        message: `query parameter ${name} is ${limit + 1} bytes of UTF-8; a DynamoDB key holds at most ${limit}`,
      },
    });
  });

  it.each([
    ["", "missing_parameter", "query parameter customer_id is required"],
    ["customer_id=c", "missing_parameter", "query parameter order_id is required"],
    ["customer_id=&order_id=o", "missing_parameter", "query parameter customer_id is empty"],
    ["customer_id=c&order_id", "missing_parameter", "query parameter order_id is empty"],
    [
      "customer_id=a&customer_id=b&order_id=o",
      "invalid_parameter",
      "query parameter customer_id is given more than once",
    ],
    [
      "customer_id=c&order_id=o&order_id=o",
      "invalid_parameter",
      "query parameter order_id is given more than once",
    ],
  ])("refuses %j with %s: %s", (query, code, message) => {
    expect(parseMetadata(query)).toEqual({ ok: false, problem: { code, message } });
  });

  it("gives back exactly the parameters a URL builder encoded, for any names and values", () => {
    const text = fc.oneof(fc.string({ unit: "grapheme" }), fc.string({ unit: "binary-ascii" }));
    const name = fc
      .oneof(
        text,
        fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "tag", "1", "+", "%2B"),
      )
      .filter((candidate) => candidate.length > 0 && candidate !== "customer_id" && candidate !== "order_id");
    const id = text.filter((candidate) => candidate.length > 0 && Buffer.byteLength(candidate) <= 1024);
    fc.assert(
      fc.property(
        id,
        id,
        fc.array(fc.tuple(name, text), { maxLength: 40 }),
        fc.nat(40),
        (customerId, orderId, extras, at) => {
          const pairs: Array<[string, string]> = [...extras];
          // The ids anywhere among the other parameters.
          pairs.splice(Math.min(at, pairs.length), 0, ["customer_id", customerId], ["order_id", orderId]);
          const query = pairs
            .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
            .join("&");
          const grouped = new Map<string, string[]>();
          for (const [key, value] of pairs) grouped.set(key, [...(grouped.get(key) ?? []), value]);

          const metadata = metadataOf(query);

          expect(metadata.customer_id).toBe(customerId);
          expect(metadata.order_id).toBe(orderId);
          expect(Object.keys(metadata.params).sort()).toEqual([...grouped.keys()].sort());
          for (const [key, values] of grouped) {
            expect(Object.hasOwn(metadata.params, key)).toBe(true);
            const expected: ParamValue = values.length === 1 ? (values[0] as string) : values;
            expect(Object.getOwnPropertyDescriptor(metadata.params, key)?.value).toEqual(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("never throws, and every id it accepts is a valid key, for any query string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (query) => {
        const parsed = parseMetadata(query);
        if (!parsed.ok) return;
        for (const name of ["customer_id", "order_id"] as const) {
          expect(parsed.value[name].length).toBeGreaterThan(0);
          expect(Buffer.byteLength(parsed.value[name])).toBeLessThanOrEqual(METADATA_ID_MAX_BYTES[name]);
          expect(parsed.value.params[name]).toBe(parsed.value[name]);
        }
      }),
    );
  });
});

describe("the quarantine message", () => {
  const quarantined = () =>
    buildQuarantineMessage({
      receivedAt: new Date("2026-11-27T05:52:00.250Z"),
      sourceIp: "44.238.19.20",
      requestId: "req-1",
      reason: "invalid_json",
      reasonMessage: "the body is not valid JSON",
      rawQuery: "customer_id=c&order_id=o",
      headers: { "content-type": "application/json", constructor: "kept" },
      body: "{not json",
      bodyEncoding: "utf8",
    });

  it("round-trips through its serialisation and the one parser, every header kept", () => {
    const message = quarantined();
    const body = serializeDeliveryMessage(message);
    if (!body.ok) throw new Error("too large");

    expect(message).toEqual({
      version: 1,
      kind: "quarantine",
      source: "webhook",
      received_at: "2026-11-27T05:52:00.250Z",
      source_ip: "44.238.19.20",
      request_id: "req-1",
      reason: "invalid_json",
      reason_message: "the body is not valid JSON",
      raw_query: "customer_id=c&order_id=o",
      headers: { "content-type": "application/json", constructor: "kept" },
      body: "{not json",
      body_encoding: "utf8",
    });
    expect(parseDeliveryMessage(body.body)).toEqual({ ok: true, message });
  });

  it.each([
    [{ reason: "because" }, "reason is not a quarantine reason"],
    [{ body_encoding: "hex" }, "body_encoding is not utf8 or base64"],
    [{ headers: { a: 1 } }, "headers must be an object of strings"],
  ])("names what is wrong with %p", (change, reason) => {
    expect(parseDeliveryMessage(JSON.stringify({ ...quarantined(), ...change }))).toEqual({
      ok: false,
      reason,
    });
  });

  it("keeps every header but the secret's (in any case) and those that carry credentials", () => {
    const kept = keptHeaders(
      {
        "X-Webhook-Secret": "s3cret",
        authorization: "Bearer t",
        "Proxy-Authorization": "Basic x",
        Cookie: "a=b",
        "x-api-key": "k",
        "content-type": "application/json",
        "user-agent": "AssemblyAI",
        missing: undefined,
      },
      "x-webhook-secret",
    );

    expect(kept).toEqual({ "content-type": "application/json", "user-agent": "AssemblyAI" });
  });
});

describe("the claim check", () => {
  it("reads back the key and size it carries", () => {
    const body = claimCheckBody({ key: "inbox/2026-11-27/x.json", bytes: 300_000 });

    expect(JSON.parse(body)).toEqual({
      version: 1,
      kind: "claim_check",
      key: "inbox/2026-11-27/x.json",
      bytes: 300_000,
    });
    expect(readClaimCheck(body, "inbox/")).toEqual({ key: "inbox/2026-11-27/x.json", bytes: 300_000 });
  });

  it.each([
    ["a key outside the inbox", claimCheckBody({ key: "transcripts/c/o/t.json.gz", bytes: 1 })],
    [
      "a delivery that mentions claim_check in its payload",
      JSON.stringify(transcript({ payload: { note: "claim_check" } })),
    ],
    ["text that is not JSON", '"claim_check" {'],
    ["a JSON string", '"claim_check"'],
  ])("is not read from %s", (_name, body) => {
    expect(readClaimCheck(body, "inbox/")).toBeUndefined();
  });
});
