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
