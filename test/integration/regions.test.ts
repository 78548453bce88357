/**
 * Both AssemblyAI regions on the local stack (ASSEMBLYAI_REGION=both): the simulator serves EU under `/eu`
 * with its own transcripts and key, the worker fetches each delivery from the region its webhook URL names
 * (`aai_region`; locally every webhook comes from 127.0.0.1, so the source address cannot tell), and a
 * transcript that is only in the other region is found there after a 404.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { DescribeSecretCommand, GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { AssemblyAI } from "assemblyai";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { resolveConfig } from "../../lib/config";
import { WebhookStack } from "../../lib/webhook-stack";
import type { RecordedCall } from "../../local/aws-recorder";
import {
  LOCAL_NAMES,
  LOCAL_STACK_NAME,
  localAccessKeyId,
  localApiKeySecretName,
} from "../../local/resources";
import { ACCOUNT_ID, type Binding, evaluationsOf, TemplateIam, type TemplateJson } from "../support/iam";
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

  it("orders a US and a later EU transcript for one order by AssemblyAI's times, each looked up in its region", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("moved");

    const first = await s.submit(customer, order);
    await s.waitForRecord(customer, order, (r) => r.transcript_id === first.id);
    // The EU list does not know the US id (400 for its cursor): its times are looked up in the US region.
    const second = await submitToEu(s, `${s.webhookUrl(customer, order)}&aai_region=eu`);
    const record = await s.waitForRecord(customer, order, (r) => r.transcript_id === second.id);

    expect(record.status).toBe("completed");
    expect(
      s.logs().filter((line) => line.order_id === order && line.outcome === "transient_failure"),
    ).toEqual([]);
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

describe("IAM with both regions, simulated over what the worker and the reconciler really called", () => {
  // The stack as deployed with both regions, under the local stack's name.
  const template = Template.fromStack(
    new WebhookStack(new App(), LOCAL_STACK_NAME, { config: resolveConfig({ assemblyAiRegion: "both" }) }),
  ).toJSON() as TemplateJson;
  const idOf = (type: string, pattern: RegExp): string => {
    const ids = Object.keys(template.Resources).filter(
      (id) => template.Resources[id]?.Type === type && pattern.test(id),
    );
    if (ids.length !== 1)
      throw new Error(`expected one ${type} matching ${pattern}, found ${ids.join(", ")}`);
    return ids[0] as string;
  };

  async function bindings(s: LocalStack): Promise<Record<string, Binding>> {
    const secrets = secretsClient(s);
    const arnOf = async (name: string) =>
      (await secrets.send(new DescribeSecretCommand({ SecretId: name }))).ARN ?? name;
    const queue = (name: string): Binding => ({
      ref: `https://sqs.${s.contract.region}.amazonaws.com/${ACCOUNT_ID}/${name}`,
      attributes: { Arn: `arn:aws:sqs:${s.contract.region}:${ACCOUNT_ID}:${name}`, QueueName: name },
    });
    try {
      return {
        [idOf("AWS::DynamoDB::Table", /^StoreTable/)]: {
          ref: s.contract.tableName,
          attributes: {
            Arn: `arn:aws:dynamodb:${s.contract.region}:${ACCOUNT_ID}:table/${s.contract.tableName}`,
          },
        },
        [idOf("AWS::DynamoDB::Table", /^StoreUsageTable/)]: {
          ref: LOCAL_NAMES.usageTable,
          attributes: {
            Arn: `arn:aws:dynamodb:${s.contract.region}:${ACCOUNT_ID}:table/${LOCAL_NAMES.usageTable}`,
          },
        },
        [idOf("AWS::SQS::Queue", /DeliveriesQueue/)]: queue(LOCAL_NAMES.queue),
        [idOf("AWS::SQS::Queue", /DeadLetterQueue/)]: queue(LOCAL_NAMES.dlq),
        [idOf("AWS::S3::Bucket", /StoreBucket/)]: {
          ref: s.contract.bucketName,
          attributes: { Arn: `arn:aws:s3:::${s.contract.bucketName}` },
        },
        [idOf("AWS::SecretsManager::Secret", /WebhookSecret/)]: {
          ref: await arnOf(LOCAL_NAMES.webhookSecret),
          attributes: {},
        },
        [idOf("AWS::SecretsManager::Secret", /ApiKeySecret[A-F0-9]{8}$/)]: {
          ref: await arnOf(localApiKeySecretName("us", true)),
          attributes: {},
        },
        [idOf("AWS::SecretsManager::Secret", /ApiKeySecretEu/)]: {
          ref: await arnOf(localApiKeySecretName("eu", false)),
          attributes: {},
        },
      };
    } finally {
      secrets.destroy();
    }
  }

  it.each([
    ["worker", /Worker/],
    ["reconciler", /^Reconciler/],
  ] as const)("allows every call the %s made, the EU key and checkpoint included", async (fn, pattern) => {
    const s = stack();
    const iam = new TemplateIam(template, await bindings(s));
    const role = iam.roleOf(idOf("AWS::Lambda::Function", pattern));
    const calls = readFileSync(s.contract.awsCallsFile, "utf8")
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as RecordedCall)
      .filter((call) => call.accessKeyId.startsWith(localAccessKeyId(fn)));
    const euKey = localApiKeySecretName("eu", false);

    const refused: string[] = [];
    for (const call of calls) {
      for (const evaluation of evaluationsOf(call)) {
        const decision = await iam.decide(role, evaluation);
        if (decision !== "Allowed")
          refused.push(`${call.operation} -> ${JSON.stringify(evaluation)}: ${decision}`);
      }
    }

    expect(refused).toEqual([]);
    expect(calls.some((call) => JSON.stringify(call).includes(euKey))).toBe(true);
    if (fn === "reconciler") {
      expect(calls.some((call) => JSON.stringify(call).includes("reconciler/checkpoint-eu.json"))).toBe(true);
    }
  });
});
