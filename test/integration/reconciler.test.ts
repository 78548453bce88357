/**
 * The scheduled reconciler on the local stack: a transcript whose every webhook attempt failed (the receiver
 * could not queue it for longer than AssemblyAI retries) is found and stored without anyone doing anything.
 */
import { eventually, uniqueId, useLocalStack } from "./support";

const stack = useLocalStack({ RECONCILE_EVERY_SECONDS: "2" });

test("a transcript whose webhook was lost while the receiver was down is recovered by the scheduled reconciler", async () => {
  const s = stack();
  const customer = uniqueId("lost");
  const order = uniqueId("order");
  const setSqsDown = (down: boolean) =>
    fetch(`${s.contract.controlUrl}/outages/sqs`, { method: "PUT", body: JSON.stringify({ down }) });

  await setSqsDown(true);
  let transcriptId: string;
  try {
    transcriptId = (await s.submit(customer, order)).id;
    // AssemblyAI gives up after 10 attempts; the simulator retries every 300 ms here.
    await eventually(
      async () => {
        const attempts = await s.deliveries(transcriptId);
        return attempts.length === 10 && attempts.every((a) => a.statusCode === 503) ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, describe: () => "ten failed webhook attempts" },
    );
  } finally {
    await setSqsDown(false);
  }
  expect(await s.recordsOf(customer)).toEqual([]);

  const record = await s.waitForRecord(customer, order, (r) => r.status !== undefined, 30_000);

  expect(record).toMatchObject({ transcript_id: transcriptId, status: "completed", source: "reconciler" });
  expect(await s.deliveries(transcriptId)).toHaveLength(10);
}, 60_000);

test("a transcript AssemblyAI keeps answering 500 for does not hold back a later lost one, and is recovered once it answers", async () => {
  const s = stack();
  const customer = uniqueId("unreadable");
  const setSqsDown = (down: boolean) =>
    fetch(`${s.contract.controlUrl}/outages/sqs`, { method: "PUT", body: JSON.stringify({ down }) });
  const tenFailedAttempts = (id: string) =>
    eventually(
      async () => {
        const attempts = await s.deliveries(id);
        return attempts.length === 10 && attempts.every((a) => a.statusCode === 503) ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, describe: () => `ten failed webhook attempts for ${id}` },
    );

  await setSqsDown(true);
  let failing: string;
  let later: string;
  try {
    failing = (await s.submit(customer, "o-failing")).id;
    await s.addFault({ status: 500, transcriptId: failing });
    later = (await s.submit(customer, "o-later")).id;
    await tenFailedAttempts(failing);
    await tenFailedAttempts(later);
  } finally {
    await setSqsDown(false);
  }

  // One run both keeps the unreadable transcript to retry and queues the later one past it.
  const logged = (id: string, outcome: string) =>
    s.logs().some((line) => line.transcript_id === id && line.outcome === outcome);
  await eventually(async () => (logged(failing, "skipped") && logged(later, "queued") ? true : undefined), {
    timeoutMs: 20_000,
    intervalMs: 100,
    describe: () => "the reconciler skipping the unreadable transcript and queuing the later one",
  });
  expect(s.logs()).toContainEqual(
    expect.objectContaining({ transcript_id: failing, outcome: "skipped", unread: "retrying" }),
  );
  expect((await s.recordsOf(customer)).map((r) => r.order_id)).not.toContain("o-failing");

  await s.clearFaults();

  const recovered = await s.waitForRecord(customer, "o-later", (r) => r.status !== undefined, 30_000);
  expect(recovered).toMatchObject({ transcript_id: later, status: "completed", source: "reconciler" });
  const retried = await s.waitForRecord(customer, "o-failing", (r) => r.status !== undefined, 30_000);
  expect(retried).toMatchObject({ transcript_id: failing, status: "completed", source: "reconciler" });
}, 90_000);
