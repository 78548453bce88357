/**
 * The receiver as a construct in an app of one's own: in a fresh stack with no props it passes cdk-nag, with
 * or without a reader granted; its props are validated as the context is; one receiver per stack; and
 * `grantReadTranscripts` lets a reader read what was stored and nothing else (simulated over the template).
 */
import { App, type CfnElement, Stack, Validations } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { AssemblyAiWebhookReceiver, type AssemblyAiWebhookReceiverProps, ConfigError } from "../../lib";
import { type Call, type Decision, REGION, TemplateIam, type TemplateJson } from "../support/iam";

/** A consumer's app: its own stack, the receiver, and (optionally) a role of its own granted read. */
function consumerApp(props?: AssemblyAiWebhookReceiverProps, { withReader = true } = {}) {
  const app = new App();
  const stack = new Stack(app, "Consumer");
  const receiver = new AssemblyAiWebhookReceiver(stack, "Transcripts", props);
  let reader: iam.Role | undefined;
  if (withReader) {
    reader = new iam.Role(stack, "Reader", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
    receiver.grantReadTranscripts(reader);
  }
  return { app, stack, receiver, reader };
}

const logicalIdOf = (stack: Stack, construct: { node: { defaultChild?: unknown } }): string =>
  stack.getLogicalId(construct.node.defaultChild as CfnElement);

describe.each([
  ["no props and no reader", undefined, false],
  ["no props and a role granted read", undefined, true],
  ["bucketKmsKey and a role granted read", { bucketKmsKey: true }, true],
] as const)("cdk-nag on a fresh stack with %s", (_name, props, withReader) => {
  const { app, stack } = consumerApp(props, { withReader });
  const packs = [new AwsSolutionsChecks(app), new ServerlessChecks(app)];
  Validations.of(app).addPlugins(...packs);

  it.each(packs.map((pack) => [pack.readPackName, pack] as const))(
    "%s reports no unacknowledged finding",
    (_pack, pack) => {
      const report = pack.validateScope(stack);

      const findings = report.violations.map(
        (violation) =>
          `${violation.ruleName}: ${violation.violatingResources.map((r) => r.constructPath).join(", ")}`,
      );
      expect(findings).toEqual([]);
    },
  );
});

describe("AssemblyAiWebhookReceiver", () => {
  it("validates its props as synth validates the context, naming the prop", () => {
    const stack = new Stack(new App(), "Consumer");

    let error: unknown;
    try {
      new AssemblyAiWebhookReceiver(stack, "Transcripts", { workerBatchSize: 50 });
    } catch (thrown) {
      error = thrown;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe("workerBatchSize must be between 1 and 10, got 50");
  });

  it("refuses a second receiver in the same stack, whose alarms and dashboard would collide", () => {
    const app = new App();
    const stack = new Stack(app, "Consumer");
    new AssemblyAiWebhookReceiver(stack, "First");

    expect(() => new AssemblyAiWebhookReceiver(stack, "Second")).toThrow(
      "Consumer/Second: stack Consumer already holds an AssemblyAiWebhookReceiver (Consumer/First)",
    );
    expect(() => new AssemblyAiWebhookReceiver(new Stack(app, "Other"), "Second")).not.toThrow();
  });

  it("exposes the tables, bucket, dead-letter queue and alarm topic it defines, and the API's webhook URL", () => {
    const { stack, receiver } = consumerApp({}, { withReader: false });
    const template = Template.fromStack(stack);

    expect(Object.keys(template.findResources("AWS::DynamoDB::Table")).sort()).toEqual(
      [logicalIdOf(stack, receiver.table), logicalIdOf(stack, receiver.usageTable)].sort(),
    );
    expect(Object.keys(template.findResources("AWS::S3::Bucket"))).toEqual([
      logicalIdOf(stack, receiver.bucket),
    ]);
    expect(Object.keys(template.findResources("AWS::SNS::Topic"))).toEqual([
      logicalIdOf(stack, receiver.alarmTopic),
    ]);
    template.hasResourceProperties("AWS::SQS::Queue", {
      MessageRetentionPeriod: 14 * 24 * 60 * 60,
      RedriveAllowPolicy: { redrivePermission: "allowAll" },
    });
    expect(logicalIdOf(stack, receiver.deadLetterQueue)).toMatch(/^TranscriptsDeliveriesDeadLetterQueue/);
    expect(JSON.stringify(stack.resolve(receiver.webhookUrl))).toMatch(/execute-api.*\/webhook"/);
    expect(receiver.bucketKey).toBeUndefined();
  });
});

describe.each([
  ["S3-managed bucket encryption", {}],
  ["bucketKmsKey", { bucketKmsKey: true }],
] as const)("grantReadTranscripts, with %s, simulated", (_name, props) => {
  const { stack, receiver, reader } = consumerApp(props);
  const template = Template.fromStack(stack).toJSON() as TemplateJson;
  const iamOf = new TemplateIam(template);
  const role = logicalIdOf(stack, reader as iam.Role);
  const table = iamOf.binding(logicalIdOf(stack, receiver.table)).attributes.Arn as string;
  const bucket = iamOf.binding(logicalIdOf(stack, receiver.bucket)).attributes.Arn as string;
  const key =
    receiver.bucketKey && (iamOf.binding(logicalIdOf(stack, receiver.bucketKey)).attributes.Arn as string);
  const viaS3 = { "kms:ViaService": `s3.${REGION}.amazonaws.com` };
  const call = (action: string, resource: string, context?: Record<string, string>): Call => ({
    action,
    resource,
    ...(context ? { context } : {}),
  });

  it("gives the reader read actions only", () => {
    const actions = iamOf
      .policiesOf(role)
      .flatMap(({ policy }) => (policy as { Statement: Array<{ Action: string | string[] }> }).Statement)
      .flatMap((statement) => [statement.Action].flat());

    expect([...new Set(actions)].sort()).toEqual(
      [
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "s3:GetObject",
        ...(key ? ["kms:Decrypt"] : []),
      ].sort(),
    );
  });

  const allowed: Call[] = [
    call("dynamodb:GetItem", table),
    call("dynamodb:BatchGetItem", table),
    call("dynamodb:Query", table),
    call("dynamodb:Query", `${table}/index/by-transcript-id`),
    call("dynamodb:Query", `${table}/index/by-fetch-retry`),
    call("s3:GetObject", `${bucket}/transcripts/acme/o-1/t-1.json.gz`),
    call("s3:GetObject", `${bucket}/transcripts/acme/o-1/t-1.txt`),
    call("s3:GetObject", `${bucket}/redacted-audio/acme/o-1/t-1.wav`),
    ...(key ? [call("kms:Decrypt", key, viaS3)] : []),
  ];
  const denied: Array<[Call, string]> = [
    [call("dynamodb:PutItem", table), "no writes"],
    [call("dynamodb:UpdateItem", table), "no writes"],
    [call("dynamodb:DeleteItem", table), "no deletes"],
    [call("dynamodb:BatchWriteItem", table), "no writes"],
    [call("dynamodb:Scan", table), "no scans"],
    [call("dynamodb:Scan", `${table}/index/by-transcript-id`), "no scans of an index"],
    [call("dynamodb:Query", `${table}/index/other`), "no other index"],
    [call("s3:PutObject", `${bucket}/transcripts/acme/o-1/t-1.json.gz`), "no writes"],
    [call("s3:DeleteObject", `${bucket}/transcripts/acme/o-1/t-1.json.gz`), "no deletes"],
    [call("s3:ListBucket", bucket), "no listing of keys (they carry customer ids)"],
    [call("s3:GetObject", `${bucket}/inbox/2026-01-01/x.json`), "claim checks are the pipeline's"],
    [call("s3:GetObject", `${bucket}/quarantine/2026-01-01/x.json`), "quarantined requests are operators'"],
    [call("s3:GetObject", `${bucket}/unknown/acme/o-1/x.json`), "archived deliveries are operators'"],
    [call("s3:GetObject", `${bucket}/reconciler/checkpoint.json`), "the checkpoint is the reconciler's"],
    ...(key
      ? ([
          [call("kms:Decrypt", key), "the key is used through S3 only"],
          [call("kms:GenerateDataKey", key, viaS3), "no encryption: readers write nothing"],
        ] as Array<[Call, string]>)
      : []),
  ];

  it.each(allowed)("lets the reader make %o", async (request) => {
    expect(await iamOf.decide(role, request)).toBe<Decision>("Allowed");
  });

  it.each(denied)("denies the reader %o: %s", async (request) => {
    expect(await iamOf.decide(role, request)).not.toBe<Decision>("Allowed");
  });
});
