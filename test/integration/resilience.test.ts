/**
 * The local stack through an AssemblyAI outage and an SQS outage: nothing is lost, nothing is dead-lettered.
 * Webhook retries come 10 s apart, as AssemblyAI's do, because the outage test counts attempts.
 */
import { audioUrl, eventually, uniqueId, useLocalStack } from "./support";

const stack = useLocalStack({ SIMULATOR_WEBHOOK_RETRY_MS: "10000" });

afterEach(async () => {
  await stack().clearFaults();
});

test("AssemblyAI answering 500 twice, then recovering: the record is stored after the worker's backoff", async () => {
  const s = stack();
  const customer = uniqueId("acme");
  const order = uniqueId("order");

  // The job takes 1.5 s, so the fault is in place well before the webhook lands.
  const submitted = await s.submit(customer, order, { audioUrl: audioUrl({ delay_ms: 1500 }) });
  await s.addFault({ status: 500, times: 2, transcriptId: submitted.id });

  // The worker backs off 5-10 s after the first failure and 10-20 s after the second (core.ts backoffSeconds).
  const record = await s.waitForRecord(customer, order, (r) => r.status !== undefined, 50_000);
  expect(record).toMatchObject({ transcript_id: submitted.id, status: "completed" });
  expect(typeof record.text).toBe("string");

  expect(await s.transcriptFetches(submitted.id)).toBe(3);
  const lines = s.logs().filter((line) => line.transcript_id === submitted.id && line.kind === "transcript");
  const outcomes = lines.filter((line) => String(line.message).startsWith("record ")).map((l) => l.outcome);
  expect(outcomes).toEqual(["transient_failure", "transient_failure", "stored"]);
  const failures = lines.filter((line) => line.outcome === "transient_failure");
  for (const failure of failures) expect(String(failure.reason)).toContain("HTTP 500");
  expect(failures.map((line) => line.attempt)).toEqual([1, 2]);

  await s.waitForQueueDrained();
  expect((await s.dlqDepth()).total).toBe(0);
}, 60_000);

test("SQS unreachable at the receiver: 503 while it lasts, then AssemblyAI's retry lands the delivery", async () => {
  const s = stack();
  const customer = uniqueId("outage");
  const order = uniqueId("order");
  const setSqsDown = (down: boolean) =>
    fetch(`${s.contract.controlUrl}/outages/sqs`, { method: "PUT", body: JSON.stringify({ down }) });

  await setSqsDown(true);
  try {
    const submitted = await s.submit(customer, order);
    await eventually(
      async () =>
        (await s.deliveries(submitted.id)).some((attempt) => attempt.statusCode === 503) ? true : undefined,
      { timeoutMs: 15_000, intervalMs: 100, describe: () => "a 503 from the receiver during the outage" },
    );
    expect(await s.recordsOf(customer)).toEqual([]);
    await setSqsDown(false);

    const record = await s.waitForRecord(customer, order, (r) => r.status !== undefined, 30_000);
    expect(record).toMatchObject({ transcript_id: submitted.id, status: "completed" });
    const attempts = await s.deliveries(submitted.id);
    expect(attempts.at(-1)?.statusCode).toBe(200);
    expect(attempts.slice(0, -1).every((attempt) => attempt.statusCode === 503)).toBe(true);
  } finally {
    await setSqsDown(false);
  }
}, 60_000);
