/**
 * The local stack under a burst of 200 jobs, on a stack of its own so that its backlog cannot starve other
 * tests: every job is stored, nothing is dead-lettered, and the receiver never answers 503 for a delivery
 * it had in fact queued (each such 503 makes AssemblyAI post again: a duplicate and more load).
 * Webhook retries come 10 s apart, as AssemblyAI's do. And a batch's webhooks all at once: the stage
 * throttle, modelled locally from the stack's default settings, lets every one through.
 */
import type { Transcript } from "assemblyai";
import { audioUrl, eventually, type TranscriptRecord, uniqueId, useLocalStack } from "./support";

const stack = useLocalStack({ SIMULATOR_WEBHOOK_RETRY_MS: "10000" });

test("200 concurrent jobs are all stored, none dead-lettered", async () => {
  const s = stack();
  const customer = uniqueId("load");
  const orders = Array.from({ length: 200 }, (_, index) => `order-${String(index).padStart(3, "0")}`);

  const submitted: Transcript[] = await Promise.all(orders.map((order) => s.submit(customer, order)));
  expect(new Set(submitted.map((transcript) => transcript.id)).size).toBe(200);

  let records: TranscriptRecord[] = [];
  await eventually(
    async () => {
      records = await s.recordsOf(customer);
      return records.length === 200 && records.every((r) => r.status !== undefined) ? true : undefined;
    },
    {
      timeoutMs: 120_000,
      intervalMs: 500,
      describe: () => `200 records for ${customer}; ${records.length} so far\n${s.outputTail().slice(-4000)}`,
    },
  );

  const byOrder = new Map(records.map((record) => [record.order_id, record]));
  orders.forEach((order, index) => {
    expect(byOrder.get(order)).toMatchObject({
      transcript_id: submitted[index]?.id,
      status: "completed",
      metadata: { customer_id: customer, order_id: order },
    });
  });

  await s.waitForQueueDrained(30_000);
  expect((await s.dlqDepth()).total).toBe(0);

  // Every webhook ended delivered (after retries on a 5xx, if the receiver was briefly overloaded).
  const ids = new Set(submitted.map((transcript) => transcript.id));
  const finals = (await s.deliveries()).filter(
    (attempt) => ids.has(attempt.transcriptId) && attempt.outcome !== "retrying",
  );
  expect(finals).toHaveLength(200);
  expect(finals.every((attempt) => attempt.outcome === "delivered" && attempt.statusCode === 200)).toBe(true);

  // A 503 is only right for a delivery that was not queued: no worker line may name a 503'd request.
  const refused = new Set(
    s
      .logs()
      .filter((line) => line.status_code === 503)
      .map((line) => line.request_id),
  );
  const processed = s
    .logs()
    .filter((line) => typeof line.message_id === "string" && refused.has(line.request_id));
  expect(processed).toEqual([]);
}, 150_000);

test("300 authenticated deliveries sent at once through the default stage throttle all get a 2xx and are stored", async () => {
  const s = stack();
  const customer = uniqueId("burst");
  // Jobs without a webhook, so that every delivery is the test's own, sent together once all are done.
  const submitted = await Promise.all(
    Array.from({ length: 300 }, () => s.assemblyAi.transcripts.submit({ audio: audioUrl() })),
  );
  let done = 0;
  await eventually(
    async () => {
      const statuses = await Promise.all(
        submitted.map(async (t) => (await s.assemblyAi.transcripts.get(t.id)).status),
      );
      done = statuses.filter((status) => status === "completed").length;
      return done === 300 ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, describe: () => `300 completed jobs; ${done} so far` },
  );

  const answers = await Promise.all(
    submitted.map((transcript, index) =>
      s.postWebhook(
        s.webhookUrl(customer, `order-${String(index).padStart(3, "0")}`),
        { transcript_id: transcript.id, status: "completed" },
        // Locally the receiver serves 4 at a time against moto, which slows under the worker's load too:
        // the last answers take longer than AssemblyAI's 10 s would allow, which says nothing about AWS.
        { timeoutMs: 120_000 },
      ),
    ),
  );

  expect(answers.filter((answer) => answer.status < 200 || answer.status > 299)).toEqual([]);
  let records: TranscriptRecord[] = [];
  await eventually(
    async () => {
      records = await s.recordsOf(customer);
      return records.filter((r) => r.status === "completed").length === 300 ? true : undefined;
    },
    {
      // A deadline, not an expectation of speed: on a busy 2-core machine moto works through the 300 (and
      // their stream records and events) in 60 to 120 s.
      timeoutMs: 180_000,
      intervalMs: 500,
      describe: () => `300 stored records for ${customer}; ${records.length} so far`,
    },
  );
  expect(new Set(records.map((r) => r.transcript_id))).toEqual(new Set(submitted.map((t) => t.id)));
}, 300_000);
