/**
 * The scheduled reconciler on the local stack: a transcript whose every webhook attempt failed (the receiver
 * could not queue it for longer than AssemblyAI retries) is found and stored without anyone doing anything.
 */
import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { LOCAL_NAMES } from "../../local/resources";
import { eventually, LOCAL_CREDENTIALS, uniqueId, useLocalStack } from "./support";

// A short secret cache, so that a changed API key is read at once by the worker and the reconciler.
const stack = useLocalStack({ RECONCILE_EVERY_SECONDS: "2", SECRET_CACHE_TTL_SECONDS: "1" });

async function setApiKey(value: string): Promise<void> {
  const { contract } = stack();
  const secrets = new SecretsManagerClient({
    endpoint: contract.awsEndpoint,
    region: contract.region,
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    await secrets.send(
      new PutSecretValueCommand({ SecretId: LOCAL_NAMES.apiKeySecret, SecretString: value }),
    );
  } finally {
    secrets.destroy();
  }
}

// First in the file: the worker has read no key yet, so its first fetch uses the wrong one set here.
test("a fetch_failed record from a wrong API key waits, and is recovered by the reconciler once the key is set", async () => {
  const s = stack();
  const customer = uniqueId("wrong-key");
  const order = uniqueId("order");

  await setApiKey("not-an-assemblyai-key");
  let transcriptId: string;
  try {
    transcriptId = (await s.submit(customer, order)).id;
    const failed = await s.waitForRecord(customer, order, (r) => r.status === "fetch_failed", 30_000);
    expect(failed).toMatchObject({
      transcript_id: transcriptId,
      error: expect.stringContaining("401"),
      fetch_retry_state: "waiting",
      fetch_retry_status: 401,
    });
    expect(JSON.stringify(failed)).not.toContain("not-an-assemblyai-key");
    // A run with the same wrong key sees it waiting and leaves it (a new key is what it waits for).
    await s.waitForLog(
      (line) =>
        typeof line.message === "string" &&
        line.message.startsWith("reconcile run") &&
        Number(line.fetchRetryWaiting) >= 1 &&
        line.fetchRetried === 0,
      30_000,
      "a reconciler run that sees the record waiting",
    );
    expect(await s.getRecord(customer, order)).toMatchObject({ status: "fetch_failed" });
  } finally {
    await setApiKey(s.contract.assemblyAiApiKey);
  }

  const recovered = await s.waitForRecord(customer, order, (r) => r.status === "completed", 30_000);

  expect(recovered).toMatchObject({ transcript_id: transcriptId, source: "reconciler" });
  expect(Object.keys(recovered).filter((name) => name.startsWith("fetch_retry"))).toEqual([]);
  expect(s.logs()).toContainEqual(
    expect.objectContaining({ transcript_id: transcriptId, outcome: "queued", fetch_retry: 1 }),
  );
}, 90_000);

test("a transcript whose webhook got a 401 (submitted with a stale secret) is recovered by the reconciler", async () => {
  const s = stack();
  const customer = uniqueId("stale-secret");
  const order = uniqueId("order");

  const transcriptId = (await s.submit(customer, order, { authHeaderValue: "a-secret-rotated-away" })).id;
  const attempts = await s.waitForSettledDelivery(transcriptId, "transcript", 20_000);
  // AssemblyAI treats a 4xx as final: one attempt, no retry.
  expect(attempts.map((a) => a.statusCode)).toEqual([401]);

  const record = await s.waitForRecord(customer, order, (r) => r.status !== undefined, 30_000);

  expect(record).toMatchObject({ transcript_id: transcriptId, status: "completed", source: "reconciler" });
}, 60_000);

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
