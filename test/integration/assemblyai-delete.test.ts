/**
 * `deleteFromAssemblyAi` and `retentionDays` on the local stack: the worker deletes each stored transcript at
 * the simulator once its record (and its redacted audio) is stored, a failing delete leaves the record as it
 * was with the reason and is retried by a delayed message of its own, and every record carries its expiry.
 */
import { readFileSync } from "node:fs";
import { DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { DELETED_TRANSCRIPT_TEXT } from "../../functions/shared/assemblyai";
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
import { secretsClient } from "./cli-support";
import { type LocalStack, uniqueId, useLocalStack } from "./support";

jest.setTimeout(60_000);

const RETENTION_DAYS = 30;
const DELETE_ROUTE = "DELETE /v2/transcript/:id";
const stack = useLocalStack({
  DELETE_FROM_ASSEMBLYAI: "true",
  RETENTION_DAYS: String(RETENTION_DAYS),
  RECONCILE_EVERY_SECONDS: "0",
});

async function deletesOf(s: LocalStack, transcriptId: string): Promise<number> {
  const stats = await s.simulatorStats();
  return stats.byTranscript[transcriptId]?.[DELETE_ROUTE] ?? 0;
}

describe("with deleteFromAssemblyAi on", () => {
  afterEach(async () => {
    await stack().clearFaults();
  });

  it("deletes the transcript at AssemblyAI after its record landed, and the record keeps the transcript", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("delete");

    const submitted = await s.submit(customer, order);
    const record = await s.waitForRecord(customer, order, (r) => r.assemblyai_deleted === true);
    const atAssemblyAi = await s.assemblyAi.transcripts.get(submitted.id);

    expect(record).toMatchObject({ transcript_id: submitted.id, status: "completed" });
    expect(record.text).toEqual(expect.any(String));
    expect(record.text).not.toBe(DELETED_TRANSCRIPT_TEXT);
    expect(String(record.assemblyai_deleted_at) >= String(record.stored_at)).toBe(true);
    expect(record.assemblyai_delete_error).toBeUndefined();
    expect(atAssemblyAi.text).toBe(DELETED_TRANSCRIPT_TEXT);
    expect(await deletesOf(s, submitted.id)).toBe(1);
  });

  it("keeps the record intact with the reason while deletes fail, and deletes once AssemblyAI accepts", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("failing");
    await s.addFault({ status: 500, route: DELETE_ROUTE });

    const submitted = await s.submit(customer, order);
    const failing = await s.waitForRecord(customer, order, (r) =>
      String(r.assemblyai_delete_error ?? "").includes("HTTP 500"),
    );
    const stillThere = await s.assemblyAi.transcripts.get(submitted.id);

    expect(failing).toMatchObject({ transcript_id: submitted.id, status: "completed" });
    expect(failing.text).toBe(stillThere.text);
    expect(failing.assemblyai_deleted_at).toBeUndefined();
    expect(failing.assemblyai_deleted).toBeUndefined();
    expect(stillThere.text).not.toBe(DELETED_TRANSCRIPT_TEXT);

    await s.clearFaults();
    const deleted = await s.waitForRecord(customer, order, (r) => r.assemblyai_deleted === true, 30_000);
    const retried = await s.waitForLog(
      (line) => line.kind === "assemblyai_delete" && line.outcome === "assemblyai_deleted",
      5_000,
      "the worker's line for the queued delete",
    );

    expect(deleted).toMatchObject({
      transcript_id: submitted.id,
      status: "completed",
      text: failing.text,
      stored_at: failing.stored_at,
    });
    expect(deleted.assemblyai_delete_error).toBeUndefined();
    expect(retried.transcript_id).toBe(submitted.id);
    expect((await s.assemblyAi.transcripts.get(submitted.id)).text).toBe(DELETED_TRANSCRIPT_TEXT);
  });

  it("deletes a transcript with redact_pii_audio only after its redacted audio is stored", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("redacted");

    const submitted = await s.submit(customer, order, { redactPiiAudio: true });
    const record = await s.waitForRecord(
      customer,
      order,
      (r) => r.assemblyai_deleted === true && r.redacted_audio_s3_key !== undefined,
      30_000,
    );
    const audio = await s.objectExists(String(record.redacted_audio_s3_key));

    expect(record).toMatchObject({ transcript_id: submitted.id, status: "completed" });
    expect(audio?.size).toBeGreaterThan(0);
    expect(String(record.assemblyai_deleted_at) >= String(record.redacted_audio_stored_at)).toBe(true);
    // At least once: when the transcript's write and the audio's finish together, each may read both and
    // send the DELETE, which AssemblyAI answers the same way twice (README, "Deleting transcripts at
    // AssemblyAI"); the record says deleted either way.
    expect(await deletesOf(s, submitted.id)).toBeGreaterThanOrEqual(1);
  });

  it("never stores the tombstone over the record when the deleted transcript's webhook comes again", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("again");
    const submitted = await s.submit(customer, order);
    const stored = await s.waitForRecord(customer, order, (r) => r.assemblyai_deleted === true);

    // The same webhook once more (a replay, or AssemblyAI retrying): the transcript is now the tombstone.
    const answer = await s.postWebhook(s.webhookUrl(customer, order), {
      transcript_id: submitted.id,
      status: "completed",
    });
    await s.waitForLog(
      (line) => line.order_id === order && line.outcome === "duplicate",
      15_000,
      "the repeated delivery's line",
    );
    const after = await s.getRecord(customer, order);

    expect(answer.status).toBe(200);
    expect(after).toEqual(stored);
  });

  it("sets every record's expiry retentionDays after its write", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("expiry");

    await s.submit(customer, order);
    const record = await s.waitForRecord(customer, order, (r) => r.assemblyai_deleted === true);
    const storedSeconds = Math.floor(Date.parse(String(record.stored_at)) / 1000);

    expect(record.expires_at).toEqual(expect.any(Number));
    expect(Number(record.expires_at) - storedSeconds).toBeGreaterThanOrEqual(RETENTION_DAYS * 86_400);
    expect(Number(record.expires_at) - storedSeconds).toBeLessThan(RETENTION_DAYS * 86_400 + 120);
  });
});

describe("IAM with deleteFromAssemblyAi and retentionDays, simulated over what the worker really called", () => {
  const template = Template.fromStack(
    new WebhookStack(new App(), LOCAL_STACK_NAME, {
      config: resolveConfig({ deleteFromAssemblyAi: true, retentionDays: RETENTION_DAYS }),
    }),
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
      };
    } finally {
      secrets.destroy();
    }
  }

  it("allows every call the worker made, the delete retry it queued included", async () => {
    const s = stack();
    const iam = new TemplateIam(template, await bindings(s));
    const role = iam.roleOf(idOf("AWS::Lambda::Function", /Worker/));
    const calls = readFileSync(s.contract.awsCallsFile, "utf8")
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as RecordedCall)
      .filter((call) => call.accessKeyId.startsWith(localAccessKeyId("worker")));

    const refused: string[] = [];
    for (const call of calls) {
      for (const evaluation of evaluationsOf(call)) {
        const decision = await iam.decide(role, evaluation);
        if (decision !== "Allowed")
          refused.push(`${call.operation} -> ${JSON.stringify(evaluation)}: ${decision}`);
      }
    }

    expect(refused).toEqual([]);
    expect(calls.some((call) => call.operation === "SendMessage")).toBe(true);
  });
});
