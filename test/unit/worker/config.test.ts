import { ConfigurationError } from "../../../functions/shared/env";
import { loadConfig } from "../../../functions/worker/config";

const required = {
  TABLE_NAME: "transcripts",
  BUCKET_NAME: "transcripts-bucket",
  QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/assemblyai-transcripts",
  ASSEMBLYAI_API_KEY_SECRET_ARN:
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:assemblyai-api-key-AbCdEf",
};

describe("loadConfig", () => {
  it("applies the defaults", () => {
    expect(loadConfig(required)).toEqual({
      tableName: "transcripts",
      bucketName: "transcripts-bucket",
      queueUrl: required.QUEUE_URL,
      apiKeySecretArn: required.ASSEMBLYAI_API_KEY_SECRET_ARN,
      assemblyAiBaseUrl: "https://api.assemblyai.com",
      inlineTextMaxBytes: 100_000,
      assemblyAiTimeoutMs: 10_000,
      secretCacheTtlSeconds: 300,
    });
  });

  it("reads the optional settings", () => {
    const config = loadConfig({
      ...required,
      ASSEMBLYAI_BASE_URL: "https://api.eu.assemblyai.com/",
      INLINE_TEXT_MAX_BYTES: "50000",
      ASSEMBLYAI_TIMEOUT_MS: "2500",
      SECRET_CACHE_TTL_SECONDS: "60",
    });

    expect(config).toMatchObject({
      assemblyAiBaseUrl: "https://api.eu.assemblyai.com",
      inlineTextMaxBytes: 50_000,
      assemblyAiTimeoutMs: 2_500,
      secretCacheTtlSeconds: 60,
    });
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
  ])("rejects %s=%s", (name, value) => {
    expect(() => loadConfig({ ...required, [name]: value })).toThrow(name);
  });
});
