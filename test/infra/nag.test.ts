import { Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { buildStack, type RawConfig } from "./synth";

const configurations: [string, RawConfig][] = [
  ["the defaults", {}],
  [
    "existing secrets with their KMS key, an IP allowlist, lifecycle rules, customer-managed keys and removalPolicy destroy",
    {
      bucketKmsKey: true,
      logsKmsKey: true,
      webhookSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf",
      apiKeySecret: "assemblyai/api-key",
      secretsKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0b5a3c1e-7d2f-4e8a-9c6b-1f2e3d4c5b6a",
      allowedSourceIps: "assemblyai",
      transcriptsInfrequentAccessDays: 30,
      transcriptsExpireDays: 365,
      redactedAudioExpireDays: 7,
      removalPolicy: "destroy",
    },
  ],
  [
    "both AssemblyAI regions, the EU key an existing secret",
    {
      assemblyAiRegion: "both",
      apiKeySecretEu: "arn:aws:secretsmanager:us-east-1:123456789012:secret:aai-eu-AbCdEf",
      allowedSourceIps: "assemblyai",
    },
  ],
  ["a retention, and deletes at AssemblyAI", { retentionDays: 90, deleteFromAssemblyAi: true }],
];

describe.each(configurations)("cdk-nag with %s", (_name, raw) => {
  const { app, stack } = buildStack(raw);
  // Registered exactly as bin/app.ts registers them.
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

describe("cdk-nag acknowledgements", () => {
  it("each give a specific reason and sit on one construct", () => {
    const { stack } = buildStack();
    const acknowledgements = stack.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
            path: construct.node.path,
            id,
            reason,
          })),
        ),
    );

    expect(acknowledgements.length).toBeGreaterThan(0);
    expect(acknowledgements.map((a) => a.path)).not.toContain(stack.node.path);
    for (const { reason } of acknowledgements) expect(reason.length).toBeGreaterThan(60);
  });
});
