/** The settings `retentionDays` and `deleteFromAssemblyAi`: what synth accepts, and what the worker reads. */
import {
  type AssemblyAiRegionRef,
  ENV,
  workerEnvironment,
} from "../../functions/shared/contract/environment";
import { ConfigurationError } from "../../functions/shared/env";
import { loadConfig } from "../../functions/worker/config";
import { ConfigError, configFromContext, resolveConfig } from "../../lib/config";

const REFS = {
  stackName: "test-stack",
  queueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries",
  tableName: "transcripts",
  bucketName: "transcripts-bucket",
  assemblyAiRegions: [
    {
      region: "us",
      baseUrl: "https://api.assemblyai.com",
      apiKeySecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-key-AbCdEf",
    },
  ] as [AssemblyAiRegionRef],
};

function workerConfigFor(settings: Record<string, unknown>) {
  const config = resolveConfig(settings);
  return loadConfig(workerEnvironment(REFS, { ...config, retryBaseSeconds: 30 }));
}

describe("retentionDays and deleteFromAssemblyAi", () => {
  it("keep everything and delete nothing by default", () => {
    const config = resolveConfig({});

    expect(config.retentionDays).toBeUndefined();
    expect(config.deleteFromAssemblyAi).toBe(false);
    expect(workerConfigFor({})).toMatchObject({ retentionDays: undefined, deleteFromAssemblyAi: false });
  });

  it("reach the worker as set, from cdk.json values or -c strings", () => {
    const fromStrings = configFromContext(
      (key) => ({ retentionDays: "90", deleteFromAssemblyAi: "true" })[key],
    );

    expect(fromStrings).toMatchObject({ retentionDays: 90, deleteFromAssemblyAi: true });
    expect(workerConfigFor({ retentionDays: 90, deleteFromAssemblyAi: true })).toMatchObject({
      retentionDays: 90,
      deleteFromAssemblyAi: true,
    });
  });

  it("add no variable to the worker's environment while off", () => {
    const environment = workerEnvironment(REFS, { ...resolveConfig({}), retryBaseSeconds: 30 });

    expect(Object.keys(environment)).not.toContain(ENV.retentionDays);
    expect(Object.keys(environment)).not.toContain(ENV.deleteFromAssemblyAi);
  });

  it.each([
    [{ retentionDays: "0" }, /retentionDays must be between 1 and 36500, got 0/],
    [{ retentionDays: "forever" }, /retentionDays must be a whole number, got "forever"/],
    [{ deleteFromAssemblyAi: "yes" }, /deleteFromAssemblyAi must be true or false, got "yes"/],
    [
      { retentionDays: 30, transcriptsExpireDays: 60 },
      /transcriptsExpireDays \(60\) is later than retentionDays \(30\)/,
    ],
    [
      { retentionDays: 30, redactedAudioExpireDays: 31 },
      /redactedAudioExpireDays \(31\) is later than retentionDays \(30\)/,
    ],
    [
      { retentionDays: 60, transcriptsInfrequentAccessDays: 60 },
      /transcriptsInfrequentAccessDays \(60\) must be before retentionDays \(60\)/,
    ],
  ])("refuse %j", (settings, message) => {
    expect(() => resolveConfig(settings)).toThrow(ConfigError);
    expect(() => resolveConfig(settings)).toThrow(message);
  });

  it.each([
    [{ retentionDays: 30, transcriptsExpireDays: 7, redactedAudioExpireDays: 1 }],
    [{ retentionDays: 30, transcriptsExpireDays: 30, redactedAudioExpireDays: 30 }],
    [{ retentionDays: 365, transcriptsInfrequentAccessDays: 30 }],
    [{ transcriptsExpireDays: 400 }],
  ])("accept objects that go no later than their records: %j", (settings) => {
    expect(() => resolveConfig(settings)).not.toThrow();
  });

  it.each([
    [{ [ENV.deleteFromAssemblyAi]: "maybe" }, /DELETE_FROM_ASSEMBLYAI must be true or false, got "maybe"/],
    [{ [ENV.retentionDays]: "0" }, /RETENTION_DAYS must be between 1 and 36500, got 0/],
  ])("the worker refuses %j at cold start, naming the variable", (variables, message) => {
    const environment = {
      ...workerEnvironment(REFS, { ...resolveConfig({}), retryBaseSeconds: 30 }),
      ...variables,
    };

    expect(() => loadConfig(environment)).toThrow(ConfigurationError);
    expect(() => loadConfig(environment)).toThrow(message);
  });
});
