/**
 * Both AssemblyAI regions on the local stack (ASSEMBLYAI_REGION=both): the simulator serves EU under `/eu`
 * with its own transcripts and key, the worker fetches each delivery from the region its webhook URL names
 * (`aai_region`; locally every webhook comes from 127.0.0.1, so the source address cannot tell), and a
 * transcript that is only in the other region is found there after a 404.
 */
import { randomUUID } from "node:crypto";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { AssemblyAI } from "assemblyai";
import { localApiKeySecretName } from "../../local/resources";
import { runCli, secretsClient } from "./cli-support";
import { audioUrl, type LocalStack, uniqueId, useLocalStack } from "./support";

jest.setTimeout(60_000);

// The reconciler runs often: it lists each region (a webhook refused with 401 is found in the EU listing).
const stack = useLocalStack({ ASSEMBLYAI_REGION: "both", RECONCILE_EVERY_SECONDS: "2" });

function region(s: LocalStack, name: "us" | "eu") {
  const found = s.contract.assemblyAiRegions?.find((entry) => entry.region === name);
  if (found === undefined) throw new Error(`the local stack has no ${name} region`);
  return found;
}

/** The EU region through the official SDK, with the EU region's own key. */
function euClient(s: LocalStack): AssemblyAI {
  const eu = region(s, "eu");
  return new AssemblyAI({ apiKey: eu.apiKey, baseUrl: eu.baseUrl });
}

function submitToEu(s: LocalStack, webhookUrl: string, authHeaderValue = s.contract.authHeaderValue) {
  return euClient(s).transcripts.submit({
    audio: audioUrl(),
    webhook_url: webhookUrl,
    webhook_auth_header_name: s.contract.authHeaderName,
    webhook_auth_header_value: authHeaderValue,
  });
}

/** The worker's final log line about one order. */
function recordLine(s: LocalStack, orderId: string, outcome: string) {
  return s.waitForLog(
    (line) => line.order_id === orderId && line.outcome === outcome,
    15_000,
    `the worker's "${outcome}" line for ${orderId}`,
  );
}

describe("a stack configured for both AssemblyAI regions", () => {
  it("configures the simulator's US region first and its EU region under /eu", () => {
    const s = stack();

    expect(s.contract.assemblyAiRegions?.map((entry) => entry.region)).toEqual(["us", "eu"]);
    expect(region(s, "eu").baseUrl).toBe(`${s.contract.assemblyAiBaseUrl}/eu`);
    expect(region(s, "eu").apiKey).not.toBe(region(s, "us").apiKey);
  });

  it("fetches an EU job whose webhook URL says aai_region=eu from the EU region, and stores it", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("eu");

    const submitted = await submitToEu(s, `${s.webhookUrl(customer, order)}&aai_region=eu`);
    const record = await s.waitForRecord(customer, order, (r) => r.status === "completed");
    const line = await recordLine(s, order, "stored");

    expect(record).toMatchObject({
      transcript_id: submitted.id,
      metadata: { customer_id: customer, order_id: order, aai_region: "eu" },
    });
    expect(line).toMatchObject({ assemblyai_region: "eu", regions_tried: ["eu"] });
    const stored = await s.getTranscriptJson(record.transcript_s3_key ?? "");
    expect(stored).toMatchObject({ id: submitted.id, status: "completed" });
    expect(record.text).toBe(stored.text);
  });

  it("still fetches a US job from the US region", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("us");

    const submitted = await s.submit(customer, order);
    const record = await s.waitForRecord(customer, order, (r) => r.status === "completed");
    const line = await recordLine(s, order, "stored");

    expect(record.transcript_id).toBe(submitted.id);
    expect(line).toMatchObject({ assemblyai_region: "us", regions_tried: ["us"] });
  });

  it("finds a transcript that is only in the EU region after a 404 in the US region", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("eu-unmarked");

    // No aai_region, and the webhook comes from 127.0.0.1: the first region (US) is asked first.
    const submitted = await submitToEu(s, s.webhookUrl(customer, order));
    const record = await s.waitForRecord(customer, order, (r) => r.status === "completed");
    const line = await recordLine(s, order, "stored");

    expect(record.transcript_id).toBe(submitted.id);
    expect(line).toMatchObject({ assemblyai_region: "eu", regions_tried: ["us", "eu"] });
  });

  it("records fetch_failed for a transcript in neither region only after asking both", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("nowhere");
    const transcriptId = randomUUID();

    const answer = await s.postWebhook(`${s.webhookUrl(customer, order)}&aai_region=eu`, {
      transcript_id: transcriptId,
      status: "completed",
    });
    const record = await s.waitForRecord(customer, order, (r) => r.status === "fetch_failed");

    expect(answer.status).toBe(200);
    expect(record).toMatchObject({
      transcript_id: transcriptId,
      error: "AssemblyAI answered HTTP 404: Transcript not found (in eu and us)",
    });
  });

  it("has the reconciler recover an EU transcript whose webhook was refused, from the EU listing", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("eu-refused");

    // A wrong secret: the receiver answers 401, final for AssemblyAI; only the reconciler can find it.
    const submitted = await submitToEu(s, s.webhookUrl(customer, order), "not-the-secret");
    const record = await s.waitForRecord(customer, order, (r) => r.status === "completed", 30_000);

    expect(record).toMatchObject({ transcript_id: submitted.id, source: "reconciler" });
    expect(s.logs().some((line) => line.message === "reconcile run" && line.assemblyai_region === "eu")).toBe(
      true,
    );
    expect(await recordLine(s, order, "stored")).toMatchObject({ assemblyai_region: "eu" });
  });

  it("stores the EU key in the EU secret with set-api-key --assemblyai-region eu, checked against EU", async () => {
    const s = stack();
    const secrets = secretsClient(s);
    const read = async (secretId: string) =>
      (await secrets.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
    const euSecret = localApiKeySecretName("eu", false);
    const usSecret = localApiKeySecretName("us", true);
    try {
      const usKeyForEu = await runCli(s, ["--assemblyai-region", "eu", "set-api-key", "--force"], {
        stdin: `${region(s, "us").apiKey}\n`,
      });
      const euKey = await runCli(s, ["--assemblyai-region", "eu", "set-api-key", "--force"], {
        stdin: `${region(s, "eu").apiKey}\n`,
      });

      expect(usKeyForEu.code).toBe(1);
      expect(usKeyForEu.stderr).toMatch(/AssemblyAI at \S+\/eu rejected the key \(HTTP 401\)/);
      expect(euKey.code).toBe(0);
      expect(euKey.stdout).toContain(euSecret);
      expect(await read(euSecret)).toBe(region(s, "eu").apiKey);
      expect(await read(usSecret)).toBe(region(s, "us").apiKey);
    } finally {
      secrets.destroy();
    }
  });
});
