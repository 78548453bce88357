/**
 * The whole loop on the local stack, through the AssemblyAI simulator and the official SDK: submit a job,
 * the simulator calls the webhook, the receiver queues it, the worker fetches and stores the transcript.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { audioUrl, type LocalStack, uniqueId, useLocalStack } from "./support";

jest.setTimeout(45_000);

const stack = useLocalStack();

afterEach(async () => {
  await stack().clearFaults();
});

/** Worker log lines about one customer's records. */
function workerLines(s: LocalStack, customerId: string) {
  return s
    .logs()
    .filter((line) => line.customer_id === customerId && String(line.message).startsWith("record "));
}

function isIsoInstant(value: unknown): boolean {
  return typeof value === "string" && new Date(value).toISOString() === value;
}

describe("a job through the simulator", () => {
  test("a completed transcript is stored: text inline, full JSON archived in S3, webhook answered 200", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("order");

    const submitted = await s.submit(customer, order);
    expect(submitted.status).toBe("queued");

    const record = await s.waitForRecord(customer, order, (r) => r.status === "completed");
    const attempts = await s.waitForSettledDelivery(submitted.id);
    const transcript = await s.assemblyAi.transcripts.get(submitted.id);

    expect(transcript.status).toBe("completed");
    expect(transcript.webhook_status_code).toBe(200);
    // Normally one attempt; a 5xx (a cold secret cache on a slow machine, say) may add retries before it.
    expect(attempts.at(-1)).toMatchObject({ statusCode: 200, outcome: "delivered" });
    for (const earlier of attempts.slice(0, -1)) expect(earlier.outcome).toBe("retrying");

    expect(typeof transcript.text).toBe("string");
    expect((transcript.text ?? "").length).toBeGreaterThan(0);
    expect(record).toMatchObject({
      customer_id: customer,
      order_id: order,
      transcript_id: submitted.id,
      status: "completed",
      text: transcript.text,
      audio_duration: transcript.audio_duration,
      language_code: transcript.language_code,
      confidence: transcript.confidence,
      metadata: { customer_id: customer, order_id: order },
      transcript_s3_key: `transcripts/${customer}/${order}/${submitted.id}.json.gz`,
    });
    expect(record.text_s3_key).toBeUndefined();
    expect(record.error).toBeUndefined();
    expect(isIsoInstant(record.received_at)).toBe(true);
    expect(isIsoInstant(record.stored_at)).toBe(true);
    expect(String(record.received_at) <= String(record.stored_at)).toBe(true);

    const archived = await s.getTranscriptJson(record.transcript_s3_key ?? "");
    expect(archived).toMatchObject({ id: submitted.id, status: "completed", text: transcript.text });
    expect(Array.isArray(archived.words)).toBe(true);
    expect((archived.words as unknown[]).length).toBeGreaterThan(0);
    expect(archived.words).toEqual(transcript.words);
    expect(archived.utterances).toEqual(transcript.utterances);
  });

  test("an error transcript is stored with status error and AssemblyAI's error message", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("order");

    const submitted = await s.submit(customer, order, { audioUrl: audioUrl({ simulate: "error" }) });
    const record = await s.waitForRecord(customer, order, (r) => r.status !== undefined);
    const transcript = await s.assemblyAi.transcripts.get(submitted.id);

    expect(transcript.status).toBe("error");
    expect(transcript.error).toMatch(/Download error/);
    expect(record).toMatchObject({ transcript_id: submitted.id, status: "error", error: transcript.error });
    expect(record.text).toBeUndefined();
    expect(record.text_s3_key).toBeUndefined();
    // The error transcript itself is archived too.
    expect(await s.objectExists(record.transcript_s3_key ?? "")).toBeDefined();
  });

  test("a wrong webhook secret gets one 401, final: nothing queued, nothing stored", async () => {
    const s = stack();
    await s.waitForQueueDrained();
    const customer = uniqueId("intruder");
    const order = uniqueId("order");

    const submitted = await s.submit(customer, order, { authHeaderValue: "not-the-webhook-secret" });
    const attempts = await s.waitForSettledDelivery(submitted.id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ statusCode: 401, outcome: "failed", attempt: 1 });

    // A 4xx is final: several retry intervals later there is still exactly one attempt.
    await sleep(1_500);
    expect(await s.deliveries(submitted.id)).toHaveLength(1);
    expect((await s.assemblyAi.transcripts.get(submitted.id)).webhook_status_code).toBe(401);

    expect(await s.getRecord(customer, order)).toBeUndefined();
    expect((await s.mainQueueDepth()).total).toBe(0);
    expect(workerLines(s, customer)).toEqual([]);
    expect(
      s
        .logs()
        .some(
          (line) =>
            line.message === "delivery rejected" &&
            line.customer_id === customer &&
            line.status_code === 401 &&
            line.error === "unauthorized",
        ),
    ).toBe(true);
  });

  test("repeated deliveries of a stored transcript leave one record and cause no further fetch", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("order");

    const submitted = await s.submit(customer, order);
    const stored = await s.waitForRecord(customer, order, (r) => r.status === "completed");
    await s.waitForSettledDelivery(submitted.id);

    const url = s.webhookUrl(customer, order);
    const messageIds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const reply = await s.postWebhook(url, { transcript_id: submitted.id, status: "completed" });
      expect(reply.status).toBe(200);
      expect(reply.json).toMatchObject({ status: "queued", kind: "transcript" });
      messageIds.push(String((reply.json as { message_id: unknown }).message_id));
    }
    for (const messageId of messageIds) {
      const line = await s.waitForLog((l) => l.message_id === messageId && l.message !== "delivery accepted");
      expect(line).toMatchObject({ message: "record duplicate", transcript_id: submitted.id });
    }

    const records = await s.recordsOf(customer);
    expect(records).toHaveLength(1);
    expect(records[0]).toEqual(stored);
    expect(await s.transcriptFetches(submitted.id)).toBe(1);
  });

  test("AssemblyAI answering 404 for good gives a fetch_failed record naming the 404", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("order");

    // The job takes 1.5 s, so the fault is in place well before the webhook lands.
    const submitted = await s.submit(customer, order, { audioUrl: audioUrl({ delay_ms: 1500 }) });
    await s.addFault({ status: 404, transcriptId: submitted.id });

    const record = await s.waitForRecord(customer, order, (r) => r.status !== undefined);
    expect(record).toMatchObject({ transcript_id: submitted.id, status: "fetch_failed" });
    expect(record.error).toMatch(/404/);
    expect(record.error).toBe("AssemblyAI answered HTTP 404: Transcript not found");
    expect(record.text).toBeUndefined();
    expect(record.transcript_s3_key).toBeUndefined();

    // A 404 is final: fetched once, not retried, not dead-lettered.
    await s.waitForQueueDrained();
    expect(await s.transcriptFetches(submitted.id)).toBe(1);
    expect((await s.dlqDepth()).total).toBe(0);
  });

  test("a 10-hour transcript is stored with its text in S3, not inline", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("order");

    const submitted = await s.submit(customer, order, { audioUrl: audioUrl({ words: 120_000 }) });
    const record = await s.waitForRecord(customer, order, (r) => r.status !== undefined, 30_000);

    expect(record).toMatchObject({ transcript_id: submitted.id, status: "completed" });
    expect(record.text).toBeUndefined();
    expect(record.text_s3_key).toBe(`transcripts/${customer}/${order}/${submitted.id}.txt`);
    expect(record.audio_duration).toBeGreaterThanOrEqual(10 * 60 * 60);

    const text = (await s.getObject(record.text_s3_key ?? "")).toString("utf8");
    expect(Buffer.byteLength(text)).toBeGreaterThan(100_000);
    expect(text.split(" ")).toHaveLength(120_000);
    const archived = await s.getTranscriptJson(record.transcript_s3_key ?? "");
    expect(archived.id).toBe(submitted.id);
    expect(archived.text).toBe(text);
    expect(archived.words).toHaveLength(120_000);
    expect(archived.audio_duration).toBe(record.audio_duration);
  });

  test("redacted audio is downloaded into S3 and recorded on the item", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("order");

    const submitted = await s.submit(customer, order, { redactPiiAudio: true });
    const record = await s.waitForRecord(
      customer,
      order,
      (r) => r.status === "completed" && r.redacted_audio_s3_key !== undefined,
    );
    expect(record.transcript_id).toBe(submitted.id);
    expect(record.redacted_audio_s3_key).toBe(`redacted-audio/${customer}/${order}/${submitted.id}.wav`);
    expect(record.redacted_audio_error).toBeUndefined();

    const attempts = await s.waitForSettledDelivery(submitted.id, "redacted_audio");
    expect(attempts.at(-1)).toMatchObject({ statusCode: 200, outcome: "delivered" });

    const stored = await s.getObject(record.redacted_audio_s3_key ?? "");
    const { redacted_audio_url: redactedAudioUrl } = await s.assemblyAi.transcripts.redactedAudio(
      submitted.id,
    );
    const original = Buffer.from(await (await fetch(redactedAudioUrl)).arrayBuffer());
    expect(stored.length).toBeGreaterThan(44);
    expect(stored.equals(original)).toBe(true);
    expect((await s.objectExists(record.redacted_audio_s3_key ?? ""))?.contentType).toBe("audio/wav");
  });
});

// Authenticated bodies the pipeline cannot route are quarantined with a 2xx instead: lossless.test.ts.
describe("unauthenticated and misrouted requests are refused with a JSON error and nothing queued", () => {
  const customer = uniqueId("bad");
  const order = uniqueId("order");
  const transcriptId = "6rlr37h0lu-0b9e-4d6c-9a5e-5b1c1f7b0d0e";

  const cases: ReadonlyArray<{
    name: string;
    status: number;
    error: string;
    send: (s: LocalStack) => ReturnType<LocalStack["postWebhook"]>;
  }> = [
    {
      name: "GET instead of POST",
      status: 405,
      error: "method_not_allowed",
      send: (s) => s.postWebhook(s.webhookUrl(customer, order), "", { method: "GET" }),
    },
    {
      name: "another path",
      status: 404,
      error: "not_found",
      send: (s) =>
        s.postWebhook(s.webhookUrl(customer, order).replace("/webhook", "/hooks"), {
          transcript_id: transcriptId,
          status: "completed",
        }),
    },
    {
      name: "no auth header",
      status: 401,
      error: "unauthorized",
      send: (s) =>
        s.postWebhook(
          s.webhookUrl(customer, order),
          { transcript_id: transcriptId, status: "completed" },
          { authHeaderValue: null },
        ),
    },
  ];

  beforeAll(async () => {
    await stack().waitForQueueDrained();
  });

  test.each(cases)("$name: HTTP $status $error", async ({ status, error, send }) => {
    const reply = await send(stack());
    expect(reply.status).toBe(status);
    expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
    expect(reply.json).toEqual({ error, message: expect.any(String) });
    expect((reply.json as { message: string }).message.length).toBeGreaterThan(0);
    if (status === 405) expect(reply.headers.get("allow")).toBe("POST");
  });

  test("none of them reached the queue or the table", async () => {
    const s = stack();
    await sleep(500);
    expect((await s.mainQueueDepth()).total).toBe(0);
    expect(await s.getRecord(customer, order)).toBeUndefined();
    expect(workerLines(s, customer)).toEqual([]);
    const rejected = s
      .logs()
      .filter((line) => line.message === "delivery rejected" && line.customer_id === customer);
    // Each names this customer in the receiver's log line (from the query: none was authenticated).
    expect(rejected.length).toBe(cases.length);
    expect(
      s.logs().some((line) => line.message === "delivery accepted" && line.customer_id === customer),
    ).toBe(false);
  });
});
