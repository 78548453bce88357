import {
  CONTEXT_KEYS,
  ConfigError,
  configFromContext,
  DEFAULT_CONFIG,
  resolveConfig,
} from "../../lib/config";

describe("stack configuration", () => {
  it("applies documented defaults when nothing is set", () => {
    expect(resolveConfig({})).toEqual({
      ...DEFAULT_CONFIG,
      webhookSecretArn: undefined,
      apiKeySecret: undefined,
      secretsKmsKeyArn: undefined,
      transcriptsInfrequentAccessDays: undefined,
      transcriptsExpireDays: undefined,
      redactedAudioExpireDays: undefined,
      alarmEmail: undefined,
    });
  });

  it("leaves the customer-managed keys, which cost money, off unless asked for", () => {
    expect(resolveConfig({})).toMatchObject({ bucketKmsKey: false, logsKmsKey: false });
    expect(resolveConfig({ bucketKmsKey: "false", logsKmsKey: false })).toMatchObject({
      bucketKmsKey: false,
      logsKmsKey: false,
    });
  });

  it("reads every setting from context, strings from -c flags included", () => {
    const context: Record<string, unknown> = {
      authHeaderName: "X-Delivery-Token",
      assemblyAiRegion: "eu",
      allowedSourceIps: "assemblyai-eu, 10.0.0.0/8",
      throttleRateLimit: "20",
      throttleBurstLimit: 40,
      workerBatchSize: "5",
      workerMaxConcurrency: "2",
      removalPolicy: "destroy",
      logRetentionDays: "90",
      bucketKmsKey: "true",
      logsKmsKey: true,
      inlineTextMaxBytes: "5000",
      alarmEmail: "oncall@example.com",
      oldestMessageAlarmSeconds: "1800",
      authFailureAlarmThreshold: 50,
    };

    const config = configFromContext((key) => context[key]);

    expect(config).toMatchObject({
      authHeaderName: "X-Delivery-Token",
      assemblyAiRegion: "eu",
      allowedSourceIps: ["54.220.25.36/32", "10.0.0.0/8"],
      throttleRateLimit: 20,
      throttleBurstLimit: 40,
      workerBatchSize: 5,
      workerMaxConcurrency: 2,
      removalPolicy: "destroy",
      logRetentionDays: 90,
      bucketKmsKey: true,
      logsKmsKey: true,
      inlineTextMaxBytes: 5000,
      alarmEmail: "oncall@example.com",
      oldestMessageAlarmSeconds: 1800,
      authFailureAlarmThreshold: 50,
    });
  });

  it("accepts complete secret ARNs, a secret name and a KMS key ARN for imported secrets", () => {
    const raw = {
      webhookSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:team/webhook-AbCdEf",
      apiKeySecret: "team/aai-key",
      secretsKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0b5a3c1e-7d2f-4e8a-9c6b-1f2e3d4c5b6a",
    };

    expect(resolveConfig(raw)).toMatchObject(raw);
  });

  it("expands the assemblyai preset to both published addresses", () => {
    expect(resolveConfig({ allowedSourceIps: ["assemblyai"] }).allowedSourceIps).toEqual([
      "44.238.19.20/32",
      "54.220.25.36/32",
    ]);
  });

  it("treats empty context values as unset", () => {
    expect(
      configFromContext((key) => (key === "allowedSourceIps" ? "" : undefined)).allowedSourceIps,
    ).toEqual([]);
  });

  it("knows a context key for every setting", () => {
    expect([...CONTEXT_KEYS].sort()).toEqual(
      [
        ...Object.keys(DEFAULT_CONFIG),
        "webhookSecretArn",
        "apiKeySecret",
        "secretsKmsKeyArn",
        "transcriptsInfrequentAccessDays",
        "transcriptsExpireDays",
        "redactedAudioExpireDays",
        "alarmEmail",
      ].sort(),
    );
  });

  it.each([
    [{ assemblyAiRegion: "ap" }, /assemblyAiRegion must be "us" or "eu"/],
    [{ authHeaderName: "X Webhook" }, /authHeaderName "X Webhook" is not a valid HTTP header name/],
    [{ authHeaderName: "Authorization" }, /authHeaderName "Authorization" is a standard header/],
    [{ allowedSourceIps: "44.238.19.300" }, /allowedSourceIps entry "44.238.19.300"/],
    [{ allowedSourceIps: "10.0.0.0/33" }, /allowedSourceIps entry "10.0.0.0\/33"/],
    [{ allowedSourceIps: "fe80::1%eth0" }, /allowedSourceIps entry "fe80::1%eth0"/],
    [{ workerBatchSize: 11 }, /workerBatchSize must be between 1 and 10, got 11/],
    [{ workerMaxConcurrency: "1" }, /workerMaxConcurrency must be between 2 and 1000, got 1/],
    [{ throttleRateLimit: "fast" }, /throttleRateLimit must be a whole number, got "fast"/],
    [{ logRetentionDays: 31 }, /logRetentionDays must be one of CloudWatch's retention values/],
    [{ removalPolicy: "snapshot" }, /removalPolicy must be "retain" or "destroy"/],
    [{ bucketKmsKey: "yes" }, /bucketKmsKey must be true or false, got "yes"/],
    [{ logsKmsKey: 1 }, /logsKmsKey must be true or false, got "1"/],
    [{ webhookSecretArn: "my-secret" }, /webhookSecretArn must be a Secrets Manager secret ARN/],
    [
      { webhookSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook" },
      /webhookSecretArn ".*:secret:webhook" is a partial ARN \(no 6-character suffix after the name\): give the complete ARN/,
    ],
    [
      { apiKeySecret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:aai-key" },
      /apiKeySecret ".*:secret:aai-key" is a partial ARN .* or just the secret's name/,
    ],
    [
      { apiKeySecret: "arn:aws:s3:::bucket" },
      /apiKeySecret must be a Secrets Manager secret ARN or a secret name/,
    ],
    [
      { apiKeySecret: "aai-key", secretsKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:alias/secrets" },
      /secretsKmsKeyArn ".*alias\/secrets" is not a KMS key ARN .*an alias ARN cannot be granted/,
    ],
    [{ transcriptsInfrequentAccessDays: 10 }, /transcriptsInfrequentAccessDays must be between 30/],
    [{ redactedAudioHosts: "" }, /redactedAudioHosts must name at least one host/],
    [{ reconcileScheduleMinutes: -1 }, /reconcileScheduleMinutes must be between 0 and 1440, got -1/],
    [{ reconcileMaxApiCalls: 1 }, /reconcileMaxApiCalls must be between 2 and 5000, got 1/],
    [{ redactedAudioHosts: "evil host" }, /redactedAudioHosts entry "evil host" is not a host/],
    [{ alarmEmail: "oncall" }, /alarmEmail "oncall" is not a single e-mail address/],
    [{ alarmEmail: "a@example.com,b@example.com" }, /alarmEmail ".*" is not a single e-mail address/],
    [{ oldestMessageAlarmSeconds: 30 }, /oldestMessageAlarmSeconds must be between 60/],
    [{ authFailureAlarmThreshold: "0" }, /authFailureAlarmThreshold must be between 1/],
  ])("rejects %j with a message naming the setting", (raw, message) => {
    expect(() => resolveConfig(raw)).toThrow(ConfigError);
    expect(() => resolveConfig(raw)).toThrow(message);
  });

  it.each([
    [
      "an EU-only allowlist with the US region",
      { allowedSourceIps: "assemblyai-eu", assemblyAiRegion: "us" },
      /admits only AssemblyAI's EU address but assemblyAiRegion is "us"/,
    ],
    [
      "a US-only allowlist with the EU region",
      { allowedSourceIps: "assemblyai-us", assemblyAiRegion: "eu" },
      /admits only AssemblyAI's US address but assemblyAiRegion is "eu"/,
    ],
    [
      "expiry before the move to Infrequent Access",
      { transcriptsInfrequentAccessDays: 60, transcriptsExpireDays: 45 },
      /transcriptsExpireDays \(45\) must be later than transcriptsInfrequentAccessDays \(60\)/,
    ],
    [
      "a burst below the rate",
      { throttleRateLimit: 100, throttleBurstLimit: 10 },
      /throttleBurstLimit \(10\) must be at least throttleRateLimit \(100\)/,
    ],
    [
      "an oldest-delivery alarm later than the queue keeps deliveries",
      { oldestMessageAlarmSeconds: 345_600 },
      /oldestMessageAlarmSeconds \(345600\) must be below the delivery queue's retention/,
    ],
    [
      "an auth-failure threshold the throttled API can never exceed",
      { throttleRateLimit: 1, throttleBurstLimit: 10, authFailureAlarmThreshold: 310 },
      /authFailureAlarmThreshold \(310\) can never be exceeded: the API admits at most 310 requests/,
    ],
    [
      "a KMS key for imported secrets when none is imported",
      { secretsKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0b5a3c1e-7d2f-4e8a-9c6b-1f2e3d4c5b6a" },
      /secretsKmsKeyArn is set but no secret is imported \(webhookSecretArn, apiKeySecret\)/,
    ],
    [
      "a KMS key in another region than the imported secret",
      {
        webhookSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-AbCdEf",
        secretsKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0b5a3c1e-7d2f-4e8a-9c6b-1f2e3d4c5b6a",
      },
      /secretsKmsKeyArn is in us-east-1 but an imported secret is in eu-west-1/,
    ],
  ])("rejects contradictory settings: %s", (_name, raw, message) => {
    expect(() => resolveConfig(raw)).toThrow(message);
  });
});
