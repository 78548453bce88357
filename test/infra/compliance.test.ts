/**
 * AWS Control Tower's proactive controls, run as CDK runs any policy plugin: `@cdklabs/cdk-validator-cfnguard`
 * (which ships the cfn-guard binary and the Control Tower rules) registered on the app, and CDK's validation
 * report read after synthesis. One synthesis covers three configurations; the same templates serve the
 * assertions on the KMS keys that the paid settings add.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CfnGuardValidator } from "@cdklabs/cdk-validator-cfnguard";
import { type App, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { VALIDATION_REPORT_FILE } from "aws-cdk-lib/cx-api";
import { CONTROL_TOWER_PLUGIN, UNMET_CONTROLS, type UnmetControlId } from "../../lib/compliance";
import { buildApp, type RawConfig } from "./synth";

const STACKS = {
  Webhooks: {},
  Encrypted: { bucketKmsKey: true, logsKmsKey: true, logRetentionDays: 365 },
  Disposable: {
    removalPolicy: "destroy",
    bucketKmsKey: true,
    logsKmsKey: true,
    alarmEmail: "oncall@example.com",
    allowedSourceIps: "assemblyai",
    webhookSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf",
    apiKeySecret: "assemblyai/api-key",
    transcriptsInfrequentAccessDays: 30,
    transcriptsExpireDays: 365,
    redactedAudioExpireDays: 7,
    retentionDays: 400,
    deleteFromAssemblyAi: true,
    reconcileScheduleMinutes: 5,
  },
} satisfies Record<string, RawConfig>;
type StackId = keyof typeof STACKS;
const STACK_IDS = Object.keys(STACKS) as StackId[];

interface ReportedViolation {
  readonly ruleName: string;
  readonly description: string;
  readonly violatingConstructs: readonly { readonly constructPath: string }[];
  /** Set on suppressed violations: the acknowledgement that suppressed them. */
  readonly acknowledgedId?: string;
  readonly acknowledgedAt?: string;
}
interface PluginReport {
  readonly pluginName: string;
  readonly violations: readonly ReportedViolation[];
  readonly suppressedViolations?: readonly ReportedViolation[];
}

/** Synthesizes with the plugin and returns its part of CDK's validation report. */
function synthesizeWithControls(app: App, outdir: string): PluginReport {
  const reportFile = path.join(outdir, VALIDATION_REPORT_FILE);
  const read = (): PluginReport | undefined =>
    existsSync(reportFile)
      ? (
          JSON.parse(readFileSync(reportFile, "utf8")) as { pluginReports: PluginReport[] }
        ).pluginReports.find((report) => report.pluginName === CONTROL_TOWER_PLUGIN)
      : undefined;
  try {
    app.synth();
  } catch (error) {
    // Synthesis throws on unacknowledged findings (the report on disk lists them); anything else is a failure.
    if (!read()?.violations.length) throw error;
  }
  const report = read();
  if (!report) throw new Error(`${CONTROL_TOWER_PLUGIN} did not report: is it registered?`);
  return report;
}

const outdir = mkdtempSync(path.join(tmpdir(), "control-tower-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));
const app = buildApp(STACKS, outdir);
Validations.of(app).addPlugins(new CfnGuardValidator());
const report = synthesizeWithControls(app, outdir);
const templates = Object.fromEntries(
  STACK_IDS.map((id) => [
    id,
    Template.fromJSON(JSON.parse(readFileSync(path.join(outdir, `${id}.template.json`), "utf8"))),
  ]),
) as Record<StackId, Template>;

/** "CT.S3.PR.10" from "[CT.S3.PR.10]: Require …". */
function controlOf(violation: ReportedViolation): string {
  return /^\[([^\]]+)\]/.exec(violation.description)?.[1] ?? violation.ruleName;
}

function findings(violations: readonly ReportedViolation[] | undefined, stack: StackId): string[] {
  return (violations ?? []).flatMap((violation) =>
    violation.violatingConstructs
      .filter((construct) => construct.constructPath.startsWith(`${stack}/`))
      .map((construct) => `${controlOf(violation)} (${violation.ruleName}): ${construct.constructPath}`),
  );
}

/** Every acknowledgement of a Control Tower rule recorded on a construct of the app. */
const acknowledgements = app.node.findAll().flatMap((construct) =>
  construct.node.metadata
    .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
    .filter((id) => id.startsWith(`${CONTROL_TOWER_PLUGIN}::`))
    .map((id) => ({ path: construct.node.path, id })),
);

const ruleOf = (control: UnmetControlId) => UNMET_CONTROLS[control].rule;

describe("AWS Control Tower proactive controls", () => {
  it("ran every bundled rule on every stack", () => {
    expect(STACK_IDS.map((id) => existsSync(path.join(outdir, `${id}.template.json`)))).toEqual(
      STACK_IDS.map(() => true),
    );
    // The acknowledged findings prove cfn-guard ran and reported; an empty report would prove nothing.
    expect(report.suppressedViolations?.length ?? 0).toBeGreaterThan(0);
  });

  it.each(STACK_IDS)("find nothing in the %s stack that is neither fixed nor acknowledged", (stack) => {
    expect(findings(report.violations, stack)).toEqual([]);
  });

  it("are acknowledged only for controls of lib/compliance.ts, and each acknowledgement is needed", () => {
    const knownIds = Object.values(UNMET_CONTROLS).map(({ rule }) => `${CONTROL_TOWER_PLUGIN}::${rule}`);
    const unused = acknowledgements.filter(
      ({ path: at, id }) =>
        !(report.suppressedViolations ?? []).some((v) => v.acknowledgedAt === at && v.acknowledgedId === id),
    );

    expect(acknowledgements.map(({ id }) => id).filter((id) => !knownIds.includes(id))).toEqual([]);
    expect(unused).toEqual([]);
  });

  it("leave every unmet control listed, with its reason, in the README's Compliance checks", () => {
    const readme = readFileSync(path.resolve(__dirname, "../../README.md"), "utf8");
    const section = /^### Compliance checks\n([\s\S]*?)(?=^#{1,3} )/m.exec(readme)?.[1] ?? "";
    const acknowledgedRules = new Set(acknowledgements.map(({ id }) => id.split("::")[1]));

    for (const [control, { rule }] of Object.entries(UNMET_CONTROLS)) {
      expect(section).toMatch(new RegExp(`^\\| ${control.replaceAll(".", "\\.")} \\| .+ \\|$`, "m"));
      // A control listed as unmet that no construct acknowledges anymore is met: take it off the list.
      expect([control, acknowledgedRules.has(rule)]).toEqual([control, true]);
    }
  });

  it.each([
    ["bucketKmsKey", "CT.S3.PR.10", ["Store/Bucket/Resource"]],
    ["logsKmsKey", "CT.CLOUDWATCH.PR.3", ["Api/Receiver/Logs/Resource", "Api/AccessLogs/Resource"]],
    [
      "logRetentionDays",
      "CT.CLOUDWATCH.PR.2",
      ["Processing/Worker/Logs/Resource", "Reconciler/Reconciler/Logs/Resource"],
    ],
  ] as const)(
    "are met once %s is set: %s is acknowledged by default and gone when it is on",
    (_s, control, at) => {
      const ofRule = (stack: StackId) =>
        findings(
          (report.suppressedViolations ?? []).filter((v) => v.ruleName === ruleOf(control)),
          stack,
        ).map((finding) => finding.split(": ")[1]);
      const everything = (stack: StackId) =>
        [...findings(report.violations, stack), ...findings(report.suppressedViolations, stack)].filter((f) =>
          f.startsWith(`${control} `),
        );

      // Construct paths name the receiver construct ("Default", lib/webhook-stack.ts); logical ids do not.
      expect(ofRule("Webhooks")).toEqual(expect.arrayContaining(at.map((p) => `Webhooks/Default/${p}`)));
      expect(everything("Encrypted")).toEqual([]);
    },
  );
});

describe("KMS keys", () => {
  it.each(STACK_IDS)("in the %s stack rotate, and let only AWS services create grants", (stack) => {
    const keys = templates[stack].findResources("AWS::KMS::Key");
    expect(Object.keys(keys).length).toBeGreaterThan(0);
    templates[stack].allResourcesProperties("AWS::KMS::Key", {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action: "kms:CreateGrant",
            Resource: "*",
            Condition: {
              BoolIfExists: { "kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false" },
            },
          }),
        ]),
      },
    });
  });

  it("are only the alarm topic's by default", () => {
    expect(Object.keys(templates.Webhooks.findResources("AWS::KMS::Key"))).toEqual([
      expect.stringMatching(/^MonitoringAlarmTopicKey/),
    ]);
    templates.Webhooks.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
    });
    templates.Webhooks.allResourcesProperties("AWS::Logs::LogGroup", { KmsKeyId: Match.absent() });
  });
});

describe("bucketKmsKey", () => {
  const template = templates.Encrypted;
  const keyId = Object.keys(template.findResources("AWS::KMS::Key")).find((id) => /^StoreBucketKey/.test(id));
  type Resource = { Type: string; Properties: Record<string, unknown> };
  const resources = template.toJSON().Resources as Record<string, Resource>;

  /** The KMS statements on the role of the one function whose logical id matches. */
  function kmsStatementsOf(functionPattern: RegExp): unknown[] {
    const functions = Object.entries(resources).filter(
      ([id, r]) => r.Type === "AWS::Lambda::Function" && functionPattern.test(id),
    );
    const [only, ...others] = functions;
    if (!only || others.length > 0) throw new Error(`expected one function matching ${functionPattern}`);
    const role = (only[1].Properties.Role as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0];
    return Object.values(resources)
      .filter((r) => r.Type === "AWS::IAM::Policy")
      .filter((r) => JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: role }]))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: { Action: unknown }[] }).Statement)
      .filter((statement) => JSON.stringify(statement.Action).includes("kms:"));
  }

  it("encrypts the bucket with its own key and an S3 Bucket Key", () => {
    expect(keyId).toBeDefined();
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: "aws:kms",
              KMSMasterKeyID: { "Fn::GetAtt": [keyId, "Arn"] },
            },
            BucketKeyEnabled: true,
          },
        ],
      },
    });
    template.hasOutput("BucketKeyArn", { Value: { "Fn::GetAtt": [keyId, "Arn"] } });
  });

  it("keeps the key as long as the bucket: retained by default, scheduled for deletion with a destroyed stack", () => {
    template.hasResource("AWS::KMS::Key", {
      Properties: Match.objectLike({ Description: Match.stringLikeRegexp("transcript bucket") }),
      DeletionPolicy: "Retain",
    });
    templates.Disposable.hasResource("AWS::KMS::Key", {
      Properties: Match.objectLike({
        Description: Match.stringLikeRegexp("transcript bucket"),
        PendingWindowInDays: 7,
      }),
      DeletionPolicy: "Delete",
    });
  });

  it.each([
    ["worker", /^ProcessingWorker/],
    ["reconciler", /^ReconcilerFunction/],
    // Claim checks: a message too large for SQS is written to the bucket's inbox.
    ["receiver", /^ApiReceiver/],
  ])("lets the %s use the key through S3 only, to write and read objects", (_name, pattern) => {
    expect(kmsStatementsOf(pattern)).toEqual([
      {
        Effect: "Allow",
        Action: ["kms:GenerateDataKey", "kms:Decrypt"],
        Resource: { "Fn::GetAtt": [keyId, "Arn"] },
        Condition: {
          StringEquals: {
            "kms:ViaService": { "Fn::Join": ["", ["s3.", { Ref: "AWS::Region" }, ".amazonaws.com"]] },
          },
        },
      },
    ]);
  });
});

describe("logsKmsKey", () => {
  const template = templates.Encrypted;
  const [keyId] = Object.keys(template.findResources("AWS::KMS::Key")).filter((id) => /^LogsKey/.test(id));

  it("encrypts every log group with the logs key", () => {
    expect(Object.keys(template.findResources("AWS::Logs::LogGroup"))).toHaveLength(5);
    template.allResourcesProperties("AWS::Logs::LogGroup", {
      KmsKeyId: { "Fn::GetAtt": [keyId, "Arn"] },
      RetentionInDays: 365,
    });
  });

  it("admits CloudWatch Logs of this region, for log groups of this account and region only", () => {
    template.hasResourceProperties("AWS::KMS::Key", {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: { "Fn::Join": ["", ["logs.", { Ref: "AWS::Region" }, ".amazonaws.com"]] } },
            Action: [
              "kms:Encrypt*",
              "kms:Decrypt*",
              "kms:ReEncrypt*",
              "kms:GenerateDataKey*",
              "kms:Describe*",
            ],
            Condition: {
              ArnLike: {
                "kms:EncryptionContext:aws:logs:arn": {
                  "Fn::Join": [
                    "",
                    [
                      "arn:",
                      { Ref: "AWS::Partition" },
                      ":logs:",
                      { Ref: "AWS::Region" },
                      ":",
                      { Ref: "AWS::AccountId" },
                      ":log-group:*",
                    ],
                  ],
                },
              },
            },
          }),
        ]),
      },
    });
    expect(keyId).toBeDefined();
  });
});
