import { DEFAULT_REDACTED_AUDIO_HOSTS } from "../../../functions/shared/assemblyai";
import { ConfigurationError } from "../../../functions/shared/env";
import { parseHostRules } from "../../../functions/shared/redacted-audio-hosts";
import { loadConfig } from "../../../functions/worker/config";

const required = {
  TABLE_NAME: "transcripts",
  BUCKET_NAME: "transcripts-bucket",
  STACK_NAME: "test-stack",
  QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/assemblyai-transcripts",
  ASSEMBLYAI_API_KEY_SECRET_ARN:
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:assemblyai-api-key-AbCdEf",
};

describe("loadConfig", () => {
  it("applies the defaults", () => {
    expect(loadConfig(required)).toEqual({
      stackName: "test-stack",
      tableName: "transcripts",
      bucketName: "transcripts-bucket",
      queueUrl: required.QUEUE_URL,
      apiKeySecretArn: required.ASSEMBLYAI_API_KEY_SECRET_ARN,
      assemblyAiBaseUrl: "https://api.assemblyai.com",
      // One region: the one its URL is (a single-region stack's variables name no region).
      assemblyAiRegions: [
        {
          region: "us",
          baseUrl: "https://api.assemblyai.com",
          apiKeySecretArn: required.ASSEMBLYAI_API_KEY_SECRET_ARN,
        },
      ],
      inlineTextMaxBytes: 100_000,
      assemblyAiTimeoutMs: 10_000,
      secretCacheTtlSeconds: 300,
      redactedAudioHosts: parseHostRules(DEFAULT_REDACTED_AUDIO_HOSTS, "REDACTED_AUDIO_HOSTS"),
      retryBaseSeconds: 30,
      maxRedactedAudioBytes: 2_147_483_648,
      deleteFromAssemblyAi: false,
      retentionDays: undefined,
    });
  });

  it("reads the optional settings", () => {
    const config = loadConfig({
      ...required,
      ASSEMBLYAI_BASE_URL: "https://api.eu.assemblyai.com/",
      INLINE_TEXT_MAX_BYTES: "50000",
      ASSEMBLYAI_TIMEOUT_MS: "2500",
      SECRET_CACHE_TTL_SECONDS: "60",
      REDACTED_AUDIO_HOSTS: "audio.example.com, http://127.0.0.1:4010",
      RETRY_BASE_SECONDS: "5",
      MAX_REDACTED_AUDIO_BYTES: "1048576",
    });

    expect(config).toMatchObject({
      assemblyAiBaseUrl: "https://api.eu.assemblyai.com",
      inlineTextMaxBytes: 50_000,
      assemblyAiTimeoutMs: 2_500,
      secretCacheTtlSeconds: 60,
      redactedAudioHosts: [
        { type: "host", host: "audio.example.com", port: "" },
        { type: "origin", origin: "http://127.0.0.1:4010" },
      ],
      retryBaseSeconds: 5,
      maxRedactedAudioBytes: 1_048_576,
    });
  });

  it("reads a single-region EU stack's URL as the EU region", () => {
    const config = loadConfig({ ...required, ASSEMBLYAI_BASE_URL: "https://api.eu.assemblyai.com" });

    expect(config.assemblyAiRegions.map((entry) => entry.region)).toEqual(["eu"]);
  });

  it("reads every configured region from ASSEMBLYAI_REGIONS, in order, the first as the default", () => {
    const euKey = "arn:aws:secretsmanager:us-east-1:123456789012:secret:aai-eu-AbCdEf";
    const config = loadConfig({
      ...required,
      ASSEMBLYAI_REGIONS: JSON.stringify([
        { region: "eu", base_url: "http://127.0.0.1:4010/eu/", api_key_secret_arn: euKey },
        {
          region: "us",
          base_url: "http://127.0.0.1:4010",
          api_key_secret_arn: required.ASSEMBLYAI_API_KEY_SECRET_ARN,
        },
      ]),
    });

    expect(config.assemblyAiRegions).toEqual([
      { region: "eu", baseUrl: "http://127.0.0.1:4010/eu", apiKeySecretArn: euKey },
      {
        region: "us",
        baseUrl: "http://127.0.0.1:4010",
        apiKeySecretArn: required.ASSEMBLYAI_API_KEY_SECRET_ARN,
      },
    ]);
    expect(config).toMatchObject({ assemblyAiBaseUrl: "http://127.0.0.1:4010/eu", apiKeySecretArn: euKey });
  });

  it.each([
    ["not JSON", "us=https://api.assemblyai.com", /ASSEMBLYAI_REGIONS must be a JSON array/],
    ["an empty list", "[]", /ASSEMBLYAI_REGIONS must be a non-empty JSON array/],
    [
      "an unknown region",
      '[{"region":"ap","base_url":"https://x.example","api_key_secret_arn":"arn"}]',
      /ASSEMBLYAI_REGIONS entry 0: region must be one of us, eu/,
    ],
    [
      "a region twice",
      '[{"region":"us","base_url":"https://a.example","api_key_secret_arn":"a"},{"region":"us","base_url":"https://b.example","api_key_secret_arn":"b"}]',
      /ASSEMBLYAI_REGIONS lists region us more than once/,
    ],
    [
      "no key secret",
      '[{"region":"eu","base_url":"https://api.eu.assemblyai.com"}]',
      /ASSEMBLYAI_REGIONS entry 0: api_key_secret_arn is required/,
    ],
  ])("fails fast on ASSEMBLYAI_REGIONS with %s, naming it", (_case, value, message) => {
    expect(() => loadConfig({ ...required, ASSEMBLYAI_REGIONS: value })).toThrow(message);
  });

  it.each([
    ["RETRY_BASE_SECONDS", "1", 1],
    ["RETRY_BASE_SECONDS", "900", 900],
    ["MAX_REDACTED_AUDIO_BYTES", "1048576", 1_048_576],
    ["MAX_REDACTED_AUDIO_BYTES", "5368709120", 5_368_709_120],
  ])("accepts %s=%s at the edge of its range", (name, value, expected) => {
    const config = loadConfig({ ...required, [name]: value });

    expect(name === "RETRY_BASE_SECONDS" ? config.retryBaseSeconds : config.maxRedactedAudioBytes).toBe(
      expected,
    );
  });

  it.each(Object.keys(required))("fails fast, naming %s, when it is missing", (name) => {
    expect(() => loadConfig({ ...required, [name]: undefined })).toThrow(
      new ConfigurationError(`environment variable ${name} is required`),
    );
  });

  it.each([
    ["INLINE_TEXT_MAX_BYTES", "400000"],
    ["INLINE_TEXT_MAX_BYTES", "lots"],
    ["ASSEMBLYAI_TIMEOUT_MS", "0"],
    ["ASSEMBLYAI_BASE_URL", "api.assemblyai.com"],
    ["ASSEMBLYAI_BASE_URL", "ftp://api.assemblyai.com"],
    ["REDACTED_AUDIO_HOSTS", ""],
    ["REDACTED_AUDIO_HOSTS", "https://host/path"],
    ["REDACTED_AUDIO_HOSTS", "evil host"],
    ["RETRY_BASE_SECONDS", "0"],
    ["RETRY_BASE_SECONDS", "901"],
    ["RETRY_BASE_SECONDS", "1.5"],
    ["MAX_REDACTED_AUDIO_BYTES", "1048575"],
    ["MAX_REDACTED_AUDIO_BYTES", "5368709121"],
  ])("rejects %s=%s", (name, value) => {
    expect(() => loadConfig({ ...required, [name]: value })).toThrow(name);
  });
});
