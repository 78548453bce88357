/**
 * The template with `retentionDays` and `deleteFromAssemblyAi`: the table's time to live and the bucket's
 * expiry rules only with a retention, the worker's send permission and the give-up alarm only with deletes.
 */
import { Match } from "aws-cdk-lib/assertions";
import { ENV } from "../../functions/shared/contract/environment";
import { EXPIRES_AT_ATTRIBUTE } from "../../functions/shared/contract/resources";
import { ASSEMBLYAI_DELETE_FAILED_METRIC } from "../../functions/worker/report";
import { TemplateIam, type TemplateJson } from "../support/iam";
import { type RawConfig, templateFor } from "./synth";

function workerEnvironment(raw: RawConfig): Record<string, unknown> {
  const functions = templateFor(raw).findResources("AWS::Lambda::Function", {
    Properties: { Description: Match.stringLikeRegexp("Fetches transcripts") },
  });
  const [worker] = Object.values(functions);
  return (worker?.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;
}

function bucketRules(raw: RawConfig): Record<string, unknown>[] {
  const [bucket] = Object.values(templateFor(raw).findResources("AWS::S3::Bucket"));
  return bucket?.Properties?.LifecycleConfiguration?.Rules ?? [];
}

const rule = (raw: RawConfig, id: string) => bucketRules(raw).find((entry) => entry.Id === id);

describe("retentionDays", () => {
  it("leaves records and their objects without expiry by default (the time to live is for erasure tombstones)", () => {
    templateFor().hasResourceProperties("AWS::DynamoDB::Table", {
      TimeToLiveSpecification: { AttributeName: EXPIRES_AT_ATTRIBUTE, Enabled: true },
    });
    expect(rule({}, "transcripts")).toBeUndefined();
    expect(rule({}, "redacted-audio")).toBeUndefined();
    expect(workerEnvironment({})[ENV.retentionDays]).toBeUndefined();
  });

  it("turns on the table's time to live on the attribute the worker sets, and tells the worker", () => {
    templateFor({ retentionDays: 30 }).hasResourceProperties("AWS::DynamoDB::Table", {
      TimeToLiveSpecification: { AttributeName: EXPIRES_AT_ATTRIBUTE, Enabled: true },
    });
    expect(workerEnvironment({ retentionDays: 30 })[ENV.retentionDays]).toBe("30");
  });

  it("expires transcripts and redacted audio after as many days, and their expired versions a day later", () => {
    for (const [id, prefix] of [
      ["transcripts", "transcripts/"],
      ["redacted-audio", "redacted-audio/"],
    ]) {
      expect(rule({ retentionDays: 30 }, id as string)).toEqual({
        Id: id,
        Prefix: prefix,
        ExpirationInDays: 30,
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
        Status: "Enabled",
      });
    }
  });

  it("lets transcriptsExpireDays and redactedAudioExpireDays delete sooner, with the transition kept", () => {
    const raw = {
      retentionDays: 365,
      transcriptsExpireDays: 90,
      redactedAudioExpireDays: 7,
      transcriptsInfrequentAccessDays: 30,
    };

    expect(rule(raw, "transcripts")).toMatchObject({
      ExpirationInDays: 90,
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      Transitions: [{ StorageClass: "STANDARD_IA", TransitionInDays: 30 }],
    });
    expect(rule(raw, "redacted-audio")).toMatchObject({ ExpirationInDays: 7 });
  });
});

describe("deleteFromAssemblyAi", () => {
  const iamOf = (raw: RawConfig) => {
    const template = templateFor(raw).toJSON() as TemplateJson;
    const iam = new TemplateIam(template);
    const id = (type: string, pattern: RegExp) =>
      Object.keys(template.Resources).find(
        (key) => template.Resources[key]?.Type === type && pattern.test(key),
      ) as string;
    return {
      iam,
      worker: iam.roleOf(id("AWS::Lambda::Function", /Worker/)),
      queue: iam.binding(id("AWS::SQS::Queue", /DeliveriesQueue/)).attributes.Arn as string,
      dlq: iam.binding(id("AWS::SQS::Queue", /DeadLetterQueue/)).attributes.Arn as string,
    };
  };

  it("lets the worker send its delete retries to the delivery queue only when on", async () => {
    const on = iamOf({ deleteFromAssemblyAi: true });
    const off = iamOf({});

    expect(await on.iam.decide(on.worker, { action: "sqs:SendMessage", resource: on.queue })).toBe("Allowed");
    expect(await on.iam.decide(on.worker, { action: "sqs:SendMessage", resource: on.dlq })).not.toBe(
      "Allowed",
    );
    expect(await off.iam.decide(off.worker, { action: "sqs:SendMessage", resource: off.queue })).not.toBe(
      "Allowed",
    );
  });

  it("tells the worker, and alarms on a delete it gave up on, only when on", () => {
    const alarms = (raw: RawConfig) =>
      Object.values(
        templateFor(raw).findResources("AWS::CloudWatch::Alarm", {
          Properties: { AlarmName: Match.stringLikeRegexp("-assemblyai-delete-failed$") },
        }),
      );
    const [alarm] = alarms({ deleteFromAssemblyAi: true });
    const [metric] = (alarm?.Properties?.Metrics ?? []) as { MetricStat?: { Metric?: unknown } }[];

    expect(alarm?.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: "GreaterThanThreshold" });
    expect(metric?.MetricStat?.Metric).toMatchObject({
      MetricName: ASSEMBLYAI_DELETE_FAILED_METRIC,
      Dimensions: [{ Name: "Stack", Value: "Webhooks" }],
    });
    expect(alarms({})).toEqual([]);
    expect(workerEnvironment({ deleteFromAssemblyAi: true })[ENV.deleteFromAssemblyAi]).toBe("true");
    expect(workerEnvironment({})[ENV.deleteFromAssemblyAi]).toBeUndefined();
  });
});
