import fc from "fast-check";
import { loadConfig as loadReceiverConfig } from "../../functions/receiver/config";
import { loadConfig as loadReconcilerConfig, RECONCILER_NUMBERS } from "../../functions/reconciler/config";
import {
  type AssemblyAiRegionRef,
  DEFAULT_SECRET_CACHE_TTL_SECONDS,
  ENV,
  type EnvName,
  receiverEnvironment,
  reconcilerEnvironment,
  workerEnvironment,
} from "../../functions/shared/contract/environment";
import { ConfigurationError, parseList } from "../../functions/shared/env";
import { loadConfig as loadWorkerConfig, WORKER_NUMBERS } from "../../functions/worker/config";
import {
  apiKeySecretFor,
  CONTEXT_KEYS,
  ConfigError,
  configFromContext,
  DEFAULT_CONFIG,
  resolveConfig,
  type WebhookStackConfig,
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

  it("throttles the stage well above a batch finishing on an AssemblyAI account, within Lambda's default concurrency", () => {
    // AssemblyAI runs 200 jobs at once on a paid account by default, so about that many webhooks can arrive
    // together when a batch finishes; 130 a second were seen from a 400-job batch. Lambda's default account
    // concurrency is 1,000: a burst past it would make Lambda throttle the receiver instead (a 500).
    const { throttleRateLimit, throttleBurstLimit } = resolveConfig({});

    expect(throttleBurstLimit).toBeGreaterThanOrEqual(5 * 200);
    expect(throttleBurstLimit).toBeLessThanOrEqual(1_000);
    expect(throttleRateLimit).toBeGreaterThanOrEqual(2 * 200);
  });

  it("accepts the largest stage throttle API Gateway's quotas allow, a burst below a rate above its quota", () => {
    expect(resolveConfig({ throttleRateLimit: 10_000, throttleBurstLimit: 5_000 })).toMatchObject({
      throttleRateLimit: 10_000,
      throttleBurstLimit: 5_000,
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
      assemblyAiRegion: ["eu"],
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

  it.each([
    ["both", ["us", "eu"]],
    ["us,eu", ["us", "eu"]],
    [" EU , us ", ["eu", "us"]],
    [
      ["eu", "us"],
      ["eu", "us"],
    ],
    ["eu", ["eu"]],
  ])("reads assemblyAiRegion %j as the regions %j, the default first", (value, regions) => {
    expect(resolveConfig({ assemblyAiRegion: value }).assemblyAiRegion).toEqual(regions);
  });

  it("names an API key secret per region: apiKeySecret for the first, apiKeySecretUs/Eu for each", () => {
    const eu = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:aai-eu-AbCdEf";
    const both = resolveConfig({ assemblyAiRegion: "both", apiKeySecret: "aai-us", apiKeySecretEu: eu });
    const euFirst = resolveConfig({ assemblyAiRegion: "eu,us", apiKeySecret: "aai-eu" });

    expect([apiKeySecretFor(both, "us"), apiKeySecretFor(both, "eu")]).toEqual(["aai-us", eu]);
    expect([apiKeySecretFor(euFirst, "eu"), apiKeySecretFor(euFirst, "us")]).toEqual(["aai-eu", undefined]);
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
        "apiKeySecretUs",
        "apiKeySecretEu",
        "secretsKmsKeyArn",
        "transcriptsInfrequentAccessDays",
        "transcriptsExpireDays",
        "redactedAudioExpireDays",
        "retentionDays",
        "alarmEmail",
        "eventBusName",
      ].sort(),
    );
  });

  it.each([
    [{ assemblyAiRegion: "ap" }, /assemblyAiRegion must be "us", "eu", "both" or a list of them/],
    [{ assemblyAiRegion: "us,ap" }, /assemblyAiRegion must be "us", "eu", "both" .*got "us,ap"/],
    [{ assemblyAiRegion: "eu,eu" }, /assemblyAiRegion lists eu more than once/],
    [{ assemblyAiRegion: "both,us" }, /assemblyAiRegion must be "us", "eu", "both" or a list/],
    [
      { apiKeySecretEu: "aai-eu-key" },
      /apiKeySecretEu is set but assemblyAiRegion \("us"\) does not include eu/,
    ],
    [
      { assemblyAiRegion: "both", apiKeySecret: "aai-key", apiKeySecretUs: "aai-us-key" },
      /apiKeySecret and apiKeySecretUs both name the API key of us, the first region of assemblyAiRegion/,
    ],
    [
      { assemblyAiRegion: "both", apiKeySecretEu: "arn:aws:secretsmanager:us-east-1:123456789012:secret:eu" },
      /apiKeySecretEu ".*:secret:eu" is a partial ARN/,
    ],
    [{ authHeaderName: "X Webhook" }, /authHeaderName "X Webhook" is not a valid HTTP header name/],
    [{ authHeaderName: "Authorization" }, /authHeaderName "Authorization" is a standard header/],
    [{ allowedSourceIps: "44.238.19.300" }, /allowedSourceIps entry "44.238.19.300"/],
    [{ allowedSourceIps: "10.0.0.0/33" }, /allowedSourceIps entry "10.0.0.0\/33"/],
    [{ allowedSourceIps: "fe80::1%eth0" }, /allowedSourceIps entry "fe80::1%eth0"/],
    [{ workerBatchSize: 11 }, /workerBatchSize must be between 1 and 10, got 11/],
    [{ workerMaxConcurrency: "1" }, /workerMaxConcurrency must be between 2 and 1000, got 1/],
    [{ throttleRateLimit: "fast" }, /throttleRateLimit must be a whole number, got "fast"/],
    [
      { throttleRateLimit: 10_001 },
      /throttleRateLimit must be between 1 and 10000 \(API Gateway's account quotas per region: 10,000 requests per second, a burst of 5,000\), got 10001/,
    ],
    [
      { throttleBurstLimit: 5_001 },
      /throttleBurstLimit must be between 1 and 5000 \(API Gateway's account quotas/,
    ],
    [{ throttleBurstLimit: 0 }, /throttleBurstLimit must be between 1 and 5000/],
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
      "a US-only allowlist with both regions",
      { allowedSourceIps: "assemblyai-us", assemblyAiRegion: "both" },
      /admits AssemblyAI's US address but not its EU address, and assemblyAiRegion is "us,eu": every EU delivery would be rejected/,
    ],
    [
      "an EU-only allowlist with both regions",
      { allowedSourceIps: ["54.220.25.36", "10.0.0.0/8"], assemblyAiRegion: "eu,us" },
      /admits AssemblyAI's EU address but not its US address/,
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

type FunctionName = "receiver" | "worker" | "reconciler";

const REFS = {
  stackName: "test-stack",
  queueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries",
  tableName: "transcripts",
  bucketName: "transcripts-bucket",
  webhookSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf",
  assemblyAiRegions: [
    {
      region: "us",
      baseUrl: "https://api.assemblyai.com",
      apiKeySecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-key-AbCdEf",
    },
  ] as [AssemblyAiRegionRef],
  webhookUrl: "https://abc123.execute-api.us-east-1.amazonaws.com/webhook",
};

/** A function's environment as the stack writes it for these settings (the rest at their defaults). */
function environmentFor(fn: FunctionName, config: WebhookStackConfig): Record<string, string> {
  if (fn === "receiver") {
    return receiverEnvironment(REFS, { ...config, secretCacheTtlSeconds: DEFAULT_SECRET_CACHE_TTL_SECONDS });
  }
  if (fn === "worker") {
    return workerEnvironment(REFS, { ...config, retryBaseSeconds: WORKER_NUMBERS.retryBaseSeconds.fallback });
  }
  return reconcilerEnvironment(REFS, {
    ...config,
    reconcileMaxPendingMinutes: RECONCILER_NUMBERS.maxPendingMinutes.fallback,
  });
}

const COLD_STARTS: Record<FunctionName, (env: Record<string, string>) => unknown> = {
  receiver: loadReceiverConfig,
  worker: loadWorkerConfig,
  reconciler: loadReconcilerConfig,
};

function synthAccepts(setting: keyof WebhookStackConfig, value: string): boolean {
  try {
    resolveConfig({ [setting]: value });
    return true;
  } catch (error) {
    if (error instanceof ConfigError) return false;
    throw error;
  }
}

function coldStartAccepts(fn: FunctionName, variable: EnvName, value: string): boolean {
  try {
    COLD_STARTS[fn]({ ...environmentFor(fn, resolveConfig({})), [variable]: value });
    return true;
  } catch (error) {
    if (error instanceof ConfigurationError) return false;
    throw error;
  }
}

const SOURCE_IP_PRESETS = ["assemblyai", "assemblyai-us", "assemblyai-eu"];
const cidrs = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 40 })).map(([ip, bits]) => `${ip}/${bits}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 140 })).map(([ip, bits]) => `${ip}/${bits}`),
  fc.string(),
);
const hosts = fc.oneof(
  fc.domain(),
  fc.domain().map((domain) => `*.${domain}`),
  fc.tuple(fc.domain(), fc.integer({ min: 0, max: 70_000 })).map(([domain, port]) => `${domain}:${port}`),
  fc.webUrl(),
  fc.string(),
);
const numbers = fc.oneof(
  fc.nat({ max: 400_000 }).map(String),
  fc.integer().map(String),
  fc.double().map(String),
  fc.string(),
);

/**
 * Each shared parser, reached through a setting and the variable it becomes in one function's environment:
 * values both the stack and that function refuse, values both accept, and values of any kind.
 */
const PARSED_SETTINGS: ReadonlyArray<{
  readonly parser: string;
  readonly setting: keyof WebhookStackConfig;
  readonly fn: FunctionName;
  readonly variable: EnvName;
  readonly refused: readonly string[];
  readonly accepted: readonly string[];
  readonly values: fc.Arbitrary<string>;
}> = [
  {
    parser: "parseSourceIpAllowlist",
    setting: "allowedSourceIps",
    fn: "receiver",
    variable: ENV.allowedSourceIps,
    refused: [
      "10.0.0.0/33",
      "2001:db8::/129",
      "44.238.19.300",
      "fe80::1%eth0",
      "example.com",
      "10.0.0.0/8/8",
    ],
    accepted: ["0.0.0.0/0", "::1", "10.0.0.0/8, 2001:db8::/32", ","],
    // Presets are the stack's own shorthand, expanded before the function ever sees them.
    values: fc
      .array(cidrs, { minLength: 1, maxLength: 3 })
      .map((entries) => entries.join(","))
      .filter((value) => !parseList(value).some((entry) => SOURCE_IP_PRESETS.includes(entry.toLowerCase()))),
  },
  {
    parser: "parseAuthHeaderName",
    setting: "authHeaderName",
    fn: "receiver",
    variable: ENV.authHeaderName,
    refused: ["X Webhook", "X-Secret:", "Authorization", "content-type", "x".repeat(101), "Größe"],
    accepted: ["X-Delivery-Token", "x_token", "!#$%&'*+.^_`|~", "x".repeat(100)],
    values: fc.oneof(
      fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,110}$/),
      fc.constantFrom("Authorization", "Host", "User-Agent", "X-Forwarded-For"),
      fc.string(),
    ),
  },
  ...(["receiver", "worker"] as const).map((fn) => ({
    parser: "parseHostRules",
    setting: "redactedAudioHosts" as const,
    fn,
    variable: ENV.redactedAudioHosts,
    refused: ["evil host", "https://host/path", "ftp://host", "host:70000", "*.", ",", "https://user@host"],
    accepted: [
      "audio.example.com",
      "*.cdn.example.com:8443",
      "http://127.0.0.1:4010",
      "a.example, b.example",
    ],
    values: fc.array(hosts, { minLength: 1, maxLength: 3 }).map((entries) => entries.join(",")),
  })),
  {
    parser: "parseWholeNumber",
    setting: "inlineTextMaxBytes",
    fn: "worker",
    variable: ENV.inlineTextMaxBytes,
    refused: ["300001", "-1", "1.5", "1e3", "0x10", "lots"],
    accepted: ["0", "300000", "007"],
    values: numbers,
  },
  {
    parser: "parseWholeNumber",
    setting: "reconcileMaxApiCalls",
    fn: "reconciler",
    variable: ENV.reconcileMaxApiCalls,
    refused: ["1", "5001", "20.5"],
    accepted: ["2", "5000"],
    values: numbers,
  },
  {
    parser: "parseWholeNumber",
    setting: "reconcileLookbackMinutes",
    fn: "reconciler",
    variable: ENV.reconcileLookbackMinutes,
    refused: ["0", "43201", "+5"],
    accepted: ["1", "43200"],
    values: numbers,
  },
];

describe.each(PARSED_SETTINGS)(
  "synth and cold start, through $parser: $setting becomes the $fn's $variable",
  ({ setting, fn, variable, refused, accepted, values }) => {
    it.each(refused)("both refuse %j, each naming its own setting", (value) => {
      expect(() => resolveConfig({ [setting]: value })).toThrow(ConfigError);
      expect(() => resolveConfig({ [setting]: value })).toThrow(setting);
      const coldStart = () =>
        COLD_STARTS[fn]({ ...environmentFor(fn, resolveConfig({})), [variable]: value });
      expect(coldStart).toThrow(ConfigurationError);
      expect(coldStart).toThrow(`environment variable ${variable}`);
    });

    it.each(accepted)("both accept %j, and the function starts with what synth writes", (value) => {
      const config = resolveConfig({ [setting]: value });

      expect(coldStartAccepts(fn, variable, value)).toBe(true);
      expect(() => COLD_STARTS[fn](environmentFor(fn, config))).not.toThrow();
    });

    it("agree on every value that is not blank (blank means unset to both)", () => {
      fc.assert(
        fc.property(
          values.filter((value) => value.trim() !== ""),
          (value) => {
            expect(synthAccepts(setting, value)).toBe(coldStartAccepts(fn, variable, value));
          },
        ),
      );
    });
  },
);
