/**
 * `aai-webhooks --local rotate-secret` while deliveries flow: jobs keep being submitted (with the old value
 * until the command returns, then with the new one), wrong values keep probing the receiver, and no
 * delivery the simulator makes for any of those jobs is refused.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import type { LocalStackContract } from "../../local/start";
import { runCli, secretsClient } from "./cli-support";
import { type DeliveryAttempt, eventually, uniqueId, useLocalStack } from "./support";

/** Short, so the command's wait (TTL + 2 s + one retry of min(TTL, 10 s)) takes seconds. */
const TTL_SECONDS = 3;
const stack = useLocalStack({ SECRET_CACHE_TTL_SECONDS: String(TTL_SECONDS) });

interface Job {
  readonly transcriptId: string;
  readonly orderId: string;
  readonly value: "old" | "new";
}

it("rotates the webhook secret while deliveries flow, and no delivery gets a 401", async () => {
  const local = stack();
  const secrets = secretsClient(local);
  const customerId = uniqueId("rotation");
  const oldValue = local.contract.authHeaderValue;
  let value: { readonly name: "old" | "new"; readonly secret: string } = { name: "old", secret: oldValue };
  const jobs: Job[] = [];
  const probeAnswers: number[] = [];
  let flowing = true;

  // Pacing only: the assertions below wait for conditions.
  const submitting = (async () => {
    for (let n = 0; flowing; n += 1) {
      const orderId = `order-${n}`;
      const current = value;
      const transcript = await local.submit(customerId, orderId, { authHeaderValue: current.secret });
      jobs.push({ transcriptId: transcript.id, orderId, value: current.name });
      await sleep(150);
    }
  })();
  const probing = (async () => {
    for (let n = 0; flowing; n += 1) {
      const probe = await local.postWebhook(
        local.webhookUrl(customerId, `probe-${n}`),
        { transcript_id: `probe-${n}`, status: "completed" },
        { authHeaderValue: `not-the-secret-${n}` },
      );
      probeAnswers.push(probe.status);
      await sleep(100);
    }
  })();

  try {
    await eventually(async () => (jobs.length >= 3 ? true : undefined), {
      timeoutMs: 15_000,
      describe: () => `jobs submitted before the rotation: ${jobs.length}`,
    });
    const rotationStartedAt = new Date().toISOString();
    const rotation = await runCli(local, ["--json", "rotate-secret"]);
    const rotationEndedAt = new Date().toISOString();
    expect({ code: rotation.code, stderr: rotation.stderr }).toEqual({ code: 0, stderr: "" });

    const contract = JSON.parse(readFileSync(local.contractPath, "utf8")) as LocalStackContract;
    const newValue = contract.authHeaderValue;
    const stored = await secrets.send(
      new GetSecretValueCommand({ SecretId: webhookSecretArn(contract), VersionStage: "AWSCURRENT" }),
    );
    expect(stored.SecretString).toBe(newValue);
    expect(newValue).not.toBe(oldValue);
    expect(rotation.stdout).not.toContain(newValue);
    expect(rotation.stdout).not.toContain(oldValue);
    expect(JSON.parse(rotation.stdout)).toMatchObject({ cache_ttl_seconds: TTL_SECONDS, waited_seconds: 8 });

    // The first delivery with the new value, the moment the command has returned.
    const first = jobs[0] as Job;
    const immediate = await local.postWebhook(
      local.webhookUrl(customerId, first.orderId),
      { transcript_id: first.transcriptId, status: "completed" },
      { authHeaderValue: newValue },
    );
    expect(immediate.status).toBe(200);

    value = { name: "new", secret: newValue };
    await eventually(async () => (jobs.filter((job) => job.value === "new").length >= 5 ? true : undefined), {
      timeoutMs: 15_000,
      describe: () =>
        `jobs submitted with the new value: ${jobs.filter((job) => job.value === "new").length}`,
    });
    // Submitted with the old value after the rotation: it keeps working until the next one.
    const late = await local.submit(customerId, "late-old-value", { authHeaderValue: oldValue });
    jobs.push({ transcriptId: late.id, orderId: "late-old-value", value: "old" });
    flowing = false;
    await Promise.all([submitting, probing]);

    const attempts: DeliveryAttempt[] = [];
    for (const job of jobs) attempts.push(...(await local.waitForSettledDelivery(job.transcriptId)));
    const refused = attempts.filter((attempt) => attempt.statusCode !== 200);
    expect(refused).toEqual([]);
    const duringWait = attempts.filter(
      (attempt) => attempt.at > rotationStartedAt && attempt.at < rotationEndedAt,
    );
    expect(duringWait.length).toBeGreaterThan(0);
    for (const job of jobs) await local.waitForRecord(customerId, job.orderId);
    expect(new Set(probeAnswers)).toEqual(new Set([401]));
  } finally {
    flowing = false;
    await Promise.allSettled([submitting, probing]);
    secrets.destroy();
  }
}, 90_000);

function webhookSecretArn(contract: LocalStackContract): string {
  if (contract.webhookSecretArn === undefined) throw new Error("stack.json has no webhookSecretArn");
  return contract.webhookSecretArn;
}
