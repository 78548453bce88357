/**
 * Streaming session webhooks on the local stack: the simulator ends a session whose webhook is the stack's,
 * the receiver queues the whole body, the worker stores it as a record with nothing to fetch.
 */
import { type LocalStack, uniqueId, useLocalStack } from "./support";

jest.setTimeout(45_000);

const stack = useLocalStack();

/** The worker's log lines about one order. */
function workerLines(s: LocalStack, orderId: string) {
  return s.logs().filter((line) => line.order_id === orderId && String(line.message).startsWith("record "));
}

describe("a streaming session webhook", () => {
  test("becomes a completed record with the text of its formatted turns, the raw body in S3", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("call");

    const ended = await s.endStreamingSession(customer, order, {
      text: "Smoke from hundreds of wildfires in Canada. Is triggering air quality alerts! Across the US?",
      partials: true,
    });
    const record = await s.waitForRecord(customer, order, (r) => r.status === "completed");
    const attempts = await s.waitForSettledDelivery(ended.session_id, "streaming_session");

    expect(attempts.at(-1)).toMatchObject({ statusCode: 200, outcome: "delivered" });
    expect(ended.turns).toBe(3);
    expect(record).toMatchObject({
      transcript_id: ended.session_id,
      session_id: ended.session_id,
      kind: "streaming_session",
      status: "completed",
      text: "Smoke from hundreds of wildfires in Canada. Is triggering air quality alerts! Across the US?",
      word_count: 15,
      duration_ms: expect.any(Number),
      metadata: { customer_id: customer, order_id: order },
      transcript_s3_key: `transcripts/${customer}/${order}/${ended.session_id}.json.gz`,
    });
    expect(record.duration_ms).toBeGreaterThan(0);
    expect(record.audio_duration).toBeUndefined();

    // The body AssemblyAI sent is the only copy of the session: kept whole, partial turns and all.
    const sent = JSON.parse(attempts.at(-1)?.body ?? "") as { messages: unknown[] };
    expect(sent.messages.length).toBe(ended.messages);
    expect(await s.getTranscriptJson(record.transcript_s3_key ?? "")).toEqual(sent);
    expect(workerLines(s, order)).toEqual([
      expect.objectContaining({ message: "record stored", kind: "streaming_session" }),
    ]);
  });

  test("delivered twice leaves one record, unchanged by the duplicate", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("call");

    const ended = await s.endStreamingSession(customer, order, { turns: 4 });
    const stored = await s.waitForRecord(customer, order, (r) => r.status === "completed");
    const [attempt] = await s.waitForSettledDelivery(ended.session_id, "streaming_session");
    expect(stored.text).toBe(ended.text);

    // AssemblyAI retrying after a lost answer: the very same body again.
    const reply = await s.postWebhook(s.webhookUrl(customer, order), attempt?.body ?? "");
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ status: "queued", kind: "streaming_session" });
    const messageId = String((reply.json as { message_id: unknown }).message_id);
    const line = await s.waitForLog((l) => l.message_id === messageId && l.message !== "delivery accepted");

    expect(line).toMatchObject({ message: "record duplicate", transcript_id: ended.session_id });
    const records = await s.recordsOf(customer);
    expect(records).toHaveLength(1);
    expect(records[0]).toEqual(stored);
  });

  test("with a session_id that is not an id is kept (2xx, archived as unknown), never refused", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("call");

    const reply = await s.postWebhook(s.webhookUrl(customer, order), {
      session_id: "../../not-an-id",
      messages: [{ type: "Turn", turn_order: 0, end_of_turn: true, transcript: "Hi." }],
    });

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ status: "queued", kind: "unknown" });
    const messageId = String((reply.json as { message_id: unknown }).message_id);
    const line = await s.waitForLog((l) => l.message_id === messageId && l.message !== "delivery accepted");
    expect(line).toMatchObject({ message: "record unknown_archived" });
    expect(String(line.s3_key)).toMatch(new RegExp(`^unknown/${customer}/${order}/`));
    expect(await s.getRecord(customer, order)).toBeUndefined();
  });
});
