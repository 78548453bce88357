import fc from "fast-check";
import {
  buildDeliveryMessage,
  normalizeAssemblyAiTime,
  parseMetadata,
  serializeDeliveryMessage,
} from "../../../functions/shared/contract/delivery";
import { parseDeliveryMessage } from "../../../functions/shared/contract/delivery-schema";
import { idSegment, transcriptJsonKey } from "../../../functions/shared/contract/s3-keys";

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

    expect(read.ok && Object.entries(read.message.metadata.params)).toEqual([
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
    [{ metadata: { ...metadata, params: { a: 1 } } }, "metadata.params must be an object of strings"],
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

  it("reports a message over SQS's limit by its size instead of throwing", () => {
    const big = transcript({ payload: { text: "x".repeat(300_000) } });

    expect(serializeDeliveryMessage(big)).toEqual({ ok: false, bytes: expect.any(Number) });
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

  it("never let an id leave its prefix or share a key with another id", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", minLength: 1 }),
        fc.string({ unit: "grapheme", minLength: 1 }),
        (customer, order) => {
          const key = transcriptJsonKey(customer, order, "t-1");
          const segments = key.split("/");
          expect(segments).toHaveLength(4);
          expect(segments.some((segment) => segment === "." || segment === "..")).toBe(false);
          expect([
            decodeURIComponent(segments[1] as string),
            decodeURIComponent(segments[2] as string),
          ]).toEqual([customer, order]);
        },
      ),
    );
  });
});
