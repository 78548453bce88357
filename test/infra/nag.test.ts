import { Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, NagPack, ServerlessChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
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

const ACKNOWLEDGED = Validations.ACKNOWLEDGED_RULES_METADATA_KEY;
// aws-cdk-lib before 2.262.1 wrote "annotation::" before the id, later versions "Annotation::".
const ruleIdOf = (key: string) => key.replace(/^annotation::/i, "");
const NAG_PACKS = /^(AwsSolutions|Serverless)-/;

/** Every cdk-nag acknowledgement in `scope`, as "construct path  rule id". */
function nagAcknowledgements(scope: IConstruct): string[] {
  return scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === ACKNOWLEDGED)
      .flatMap((entry) => Object.keys(entry.data as Record<string, string>).map(ruleIdOf))
      .filter((id) => NAG_PACKS.test(id))
      .map((id) => `${construct.node.path}  ${id}`),
  );
}

/**
 * The acknowledgements cdk-nag relied on: NagPack asks isAcknowledged(resource, ruleId) for each finding,
 * walking up from the resource; this records which construct's acknowledgement answered. It is a private
 * method of cdk-nag's, so its presence is checked: a cdk-nag that renames it fails here, loudly.
 */
const used = new Set<string>();
const nagPackPrototype = NagPack.prototype as unknown as {
  isAcknowledged(resource: IConstruct, ruleId: string): boolean;
};
const isAcknowledged = nagPackPrototype.isAcknowledged;
nagPackPrototype.isAcknowledged = function (this: NagPack, resource, ruleId) {
  const answer = isAcknowledged.call(this, resource, ruleId);
  for (let current: IConstruct | undefined = resource; answer && current; current = current.node.scope) {
    const holds = current.node.metadata.some(
      (entry) =>
        entry.type === ACKNOWLEDGED &&
        Object.keys(entry.data as object)
          .map(ruleIdOf)
          .includes(ruleId),
    );
    if (holds) {
      used.add(`${current.node.path}  ${ruleId}`);
      break;
    }
  }
  return answer;
};

const runs = configurations.map(([name, raw]) => {
  const { app, stack } = buildStack(raw);
  // Registered exactly as bin/app.ts registers them.
  const packs = [new AwsSolutionsChecks(app), new ServerlessChecks(app)];
  Validations.of(app).addPlugins(...packs);
  return {
    name,
    reports: packs.map((pack) => [pack.readPackName, pack.validateScope(stack)] as const),
    acknowledgements: nagAcknowledgements(stack),
  };
});

describe.each(runs.map((run) => [run.name, run] as const))("cdk-nag with %s", (_name, run) => {
  it.each(run.reports)("%s reports no unacknowledged finding", (_pack, report) => {
    const findings = report.violations.map(
      (violation) =>
        `${violation.ruleName}: ${violation.violatingResources.map((r) => r.constructPath).join(", ")}`,
    );
    expect(findings).toEqual([]);
  });
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

  it("are each one a finding needs, in at least one of the configurations above", () => {
    expect(typeof isAcknowledged).toBe("function");
    expect(used.size).toBeGreaterThan(0);
    const declared = new Set(runs.flatMap((run) => run.acknowledgements));

    expect([...declared].filter((acknowledgement) => !used.has(acknowledgement)).sort()).toEqual([]);
  });
});
