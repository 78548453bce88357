import { App, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import type { AssemblyAiRegion } from "../../functions/shared/assemblyai";
import { ConfigError } from "../../lib/config";
import { DeliveryQueue } from "../../lib/delivery-queue";
import { Reconciler, type ReconcilerProps } from "../../lib/reconciler";
import { TranscriptStore } from "../../lib/transcript-store";
import { WebhookSecrets } from "../../lib/webhook-secrets";

// Until lib/bundling.ts lists the reconciler (its construct asserts the name), register its entry here.

const WEBHOOK_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/webhook";

function build(
  overrides: Partial<ReconcilerProps> = {},
  regions: readonly [AssemblyAiRegion, ...AssemblyAiRegion[]] = ["eu"],
): { app: App; stack: Stack; reconciler: Reconciler } {
  const app = new App();
  const stack = new Stack(app, "ReconcilerTest", { env: { account: "123456789012", region: "us-east-1" } });
  const queue = new DeliveryQueue(stack, "Deliveries");
  const store = new TranscriptStore(stack, "Store", { removalPolicy: RemovalPolicy.RETAIN });
  const secrets = new WebhookSecrets(stack, "Secrets", { removalPolicy: RemovalPolicy.RETAIN, regions });
  const reconciler = new Reconciler(stack, "Reconciler", {
    queue,
    store,
    secrets,
    webhookUrl: WEBHOOK_URL,
    logRetentionDays: 30,
    logRemovalPolicy: RemovalPolicy.RETAIN,
    ...overrides,
  });
  return { app, stack, reconciler };
}

const built = build();
const template = Template.fromStack(built.stack);

function reconcilerPolicyStatements(
  from: { stack: Stack; reconciler: Reconciler } = built,
  within: Template = template,
): Record<string, unknown>[] {
  const policies = within.findResources("AWS::IAM::Policy");
  const roleId = from.stack.getLogicalId(from.reconciler.reconciler.role.node.defaultChild as never);
  return Object.values(policies)
    .filter((policy) =>
      JSON.stringify((policy as { Properties: { Roles: unknown } }).Properties.Roles).includes(roleId),
    )
    .flatMap(
      (policy) =>
        (policy as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties
          .PolicyDocument.Statement,
    );
}

describe("Reconciler", () => {
  it("runs every 15 minutes by default, on an enabled EventBridge schedule targeting the function", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(15 minutes)",
      State: "ENABLED",
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("^ReconcilerFunction"), "Arn"] },
          RetryPolicy: { MaximumRetryAttempts: 2 },
        }),
      ],
    });
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      Principal: "events.amazonaws.com",
    });
  });

  it("takes its interval from scheduleMinutes", () => {
    const custom = Template.fromStack(build({ scheduleMinutes: 1 }).stack);

    custom.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
    });
    // A run never outlasts the interval.
    custom.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("whose webhook was never stored"),
      Timeout: 60,
    });
  });

  it("refuses an interval below one minute, naming the setting", () => {
    expect(() => build({ scheduleMinutes: 0 })).toThrow("Reconciler scheduleMinutes must be a whole number");
  });

  it.each([
    [{ maxApiCalls: 1 }, "Reconciler maxApiCalls must be between 2 and 5000, got 1"],
    [{ lookbackMinutes: 0.5 }, 'Reconciler lookbackMinutes must be a whole number, got "0.5"'],
  ])("refuses %j as the function's own parser would, naming the prop", (overrides, message) => {
    expect(() => build(overrides)).toThrow(ConfigError);
    expect(() => build(overrides)).toThrow(message);
  });

  it("is one function with a 5-minute timeout, reserved concurrency 1 and no async retries", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("whose webhook was never stored"),
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      Timeout: 300,
      MemorySize: 512,
      ReservedConcurrentExecutions: 1,
      TracingConfig: { Mode: "Active" },
    });
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 900,
    });
  });

  it("can leave concurrency unreserved", () => {
    const custom = Template.fromStack(build({ preventOverlappingRuns: false }).stack);

    custom.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("whose webhook was never stored"),
      ReservedConcurrentExecutions: Match.absent(),
    });
  });

  it("sets every variable the handler reads", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("whose webhook was never stored"),
      Environment: {
        Variables: {
          ASSEMBLYAI_BASE_URL: "https://api.eu.assemblyai.com",
          WEBHOOK_URL,
          RECONCILE_MAX_API_CALLS: "200",
          RECONCILE_LOOKBACK_MINUTES: "60",
          RECONCILE_MAX_PENDING_MINUTES: "360",
          ASSEMBLYAI_API_KEY_SECRET_ARN: { Ref: Match.stringLikeRegexp("SecretsApiKeySecret") },
          QUEUE_URL: { Ref: Match.stringLikeRegexp("DeliveriesQueue") },
          TABLE_NAME: { Ref: Match.stringLikeRegexp("StoreTable") },
          BUCKET_NAME: { Ref: Match.stringLikeRegexp("StoreBucket") },
        },
      },
    });
  });

  it("may read records, the transcript_id index and the fetch-retry index, and nothing else in the table", () => {
    const statements = reconcilerPolicyStatements();
    const dynamo = statements.filter((s) => JSON.stringify(s.Action).includes("dynamodb:"));
    const index = (name: string) => ({
      "Fn::Join": ["", [{ "Fn::GetAtt": [expect.stringMatching(/^StoreTable/), "Arn"] }, `/index/${name}`]],
    });

    expect(dynamo).toEqual([
      expect.objectContaining({ Action: "dynamodb:GetItem", Effect: "Allow" }),
      expect.objectContaining({
        Action: "dynamodb:Query",
        Resource: [index("by-transcript-id"), index("by-fetch-retry")],
      }),
    ]);
  });

  it("may read and write exactly the checkpoint object, and list only that key", () => {
    const statements = reconcilerPolicyStatements();
    const s3 = statements.filter((s) => JSON.stringify(s.Action).includes("s3:"));

    expect(s3).toEqual([
      {
        Action: ["s3:GetObject", "s3:PutObject"],
        Effect: "Allow",
        Resource: {
          "Fn::Join": [
            "",
            [{ "Fn::GetAtt": [expect.stringMatching(/^StoreBucket/), "Arn"] }, "/reconciler/checkpoint.json"],
          ],
        },
      },
      {
        Action: "s3:ListBucket",
        Condition: { StringEquals: { "s3:prefix": "reconciler/checkpoint.json" } },
        Effect: "Allow",
        Resource: { "Fn::GetAtt": [expect.stringMatching(/^StoreBucket/), "Arn"] },
      },
    ]);
  });

  it("with both AssemblyAI regions, reads both regions' key secrets and keeps a checkpoint per region", () => {
    const both = build({}, ["us", "eu"]);
    const bothTemplate = Template.fromStack(both.stack);
    const statements = reconcilerPolicyStatements(both, bothTemplate);
    const s3 = statements.filter((s) => JSON.stringify(s.Action).includes("s3:"));
    const secretReads = statements.filter((s) => JSON.stringify(s.Action).includes("secretsmanager:"));
    const bucketArn = { "Fn::GetAtt": [expect.stringMatching(/^StoreBucket/), "Arn"] };

    expect(s3).toEqual([
      {
        Action: ["s3:GetObject", "s3:PutObject"],
        Effect: "Allow",
        Resource: [
          { "Fn::Join": ["", [bucketArn, "/reconciler/checkpoint.json"]] },
          { "Fn::Join": ["", [bucketArn, "/reconciler/checkpoint-eu.json"]] },
        ],
      },
      {
        Action: "s3:ListBucket",
        Condition: {
          StringEquals: { "s3:prefix": ["reconciler/checkpoint.json", "reconciler/checkpoint-eu.json"] },
        },
        Effect: "Allow",
        Resource: bucketArn,
      },
    ]);
    expect(secretReads.map((s) => s.Resource)).toEqual([
      { Ref: expect.stringMatching(/^SecretsApiKeySecret[A-F0-9]{8}$/) },
      { Ref: expect.stringMatching(/^SecretsApiKeySecretEu/) },
    ]);
    bothTemplate.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          ASSEMBLYAI_BASE_URL: "https://api.assemblyai.com",
          ASSEMBLYAI_REGIONS: {
            "Fn::Join": [
              "",
              [
                '[{"region":"us","base_url":"https://api.assemblyai.com","api_key_secret_arn":"',
                { Ref: Match.stringLikeRegexp("^SecretsApiKeySecret[A-F0-9]{8}$") },
                '"},{"region":"eu","base_url":"https://api.eu.assemblyai.com","api_key_secret_arn":"',
                { Ref: Match.stringLikeRegexp("^SecretsApiKeySecretEu") },
                '"}]',
              ],
            ],
          },
        }),
      },
    });
  });

  it("may send to the delivery queue and read the API key secret, not the webhook secret", () => {
    const statements = reconcilerPolicyStatements();
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

    expect(actions).toEqual(expect.arrayContaining(["sqs:SendMessage", "secretsmanager:GetSecretValue"]));
    expect(actions).not.toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^(sqs:ReceiveMessage|sqs:DeleteMessage|dynamodb:(Put|Update|Delete)|s3:Delete)/,
        ),
      ]),
    );
    const secretStatement = statements.find((s) => JSON.stringify(s.Action).includes("secretsmanager:"));
    expect(JSON.stringify(secretStatement?.Resource)).toMatch(/SecretsApiKeySecret/);
    expect(JSON.stringify(secretStatement?.Resource)).not.toMatch(/SecretsWebhookSecret/);
    const sqsStatement = statements.find((s) => JSON.stringify(s.Action).includes("sqs:"));
    expect(JSON.stringify(sqsStatement?.Resource)).toMatch(/DeliveriesQueue(?!.*DeadLetter)/);
  });
});

describe("Reconciler under cdk-nag", () => {
  const { app, stack } = build();
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
