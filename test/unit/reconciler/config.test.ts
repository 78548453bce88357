import { loadConfig } from "../../../functions/reconciler/config";

const ENV = {
  TABLE_NAME: "transcripts",
  BUCKET_NAME: "transcripts-bucket",
  STACK_NAME: "test-stack",
  QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries",
  ASSEMBLYAI_API_KEY_SECRET_ARN:
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:assemblyai-api-key-AbCdEf",
  WEBHOOK_URL: "https://abc123.execute-api.us-east-1.amazonaws.com/webhook",
};

describe("reconciler configuration", () => {
  it("applies the defaults: 200 API calls, a 60-minute first lookback, 6 hours for transcripts in progress", () => {
    expect(loadConfig(ENV)).toEqual({
      stackName: "test-stack",
      tableName: "transcripts",
      bucketName: "transcripts-bucket",
      queueUrl: ENV.QUEUE_URL,
      apiKeySecretArn: ENV.ASSEMBLYAI_API_KEY_SECRET_ARN,
      assemblyAiBaseUrl: "https://api.assemblyai.com",
      assemblyAiRegions: [
        {
          region: "us",
          baseUrl: "https://api.assemblyai.com",
          apiKeySecretArn: ENV.ASSEMBLYAI_API_KEY_SECRET_ARN,
        },
      ],
      assemblyAiTimeoutMs: 10_000,
      secretCacheTtlSeconds: 300,
      webhookUrl: ENV.WEBHOOK_URL,
      maxApiCalls: 200,
      lookbackMs: 60 * 60_000,
      maxPendingLookbackMs: 360 * 60_000,
      checkpointKey: "reconciler/checkpoint.json",
    });
  });

  it("reads the budget, the windows and the EU base URL (trailing slash dropped)", () => {
    const config = loadConfig({
      ...ENV,
      ASSEMBLYAI_BASE_URL: "https://api.eu.assemblyai.com/",
      RECONCILE_MAX_API_CALLS: "50",
      RECONCILE_LOOKBACK_MINUTES: "1440",
      RECONCILE_MAX_PENDING_MINUTES: "0",
    });

    expect(config).toMatchObject({
      assemblyAiBaseUrl: "https://api.eu.assemblyai.com",
      maxApiCalls: 50,
      lookbackMs: 1440 * 60_000,
      maxPendingLookbackMs: 0,
    });
  });

  it.each([
    [{ WEBHOOK_URL: "" }, "environment variable WEBHOOK_URL is required"],
    [{ WEBHOOK_URL: "https://x.example/webhook?customer_id=c" }, "WEBHOOK_URL must not have a query"],
    [{ WEBHOOK_URL: "ftp://x.example/webhook" }, "WEBHOOK_URL must be an http(s) URL"],
    [{ RECONCILE_MAX_API_CALLS: "1" }, "RECONCILE_MAX_API_CALLS must be between 2 and 5000"],
    [{ RECONCILE_LOOKBACK_MINUTES: "0" }, "RECONCILE_LOOKBACK_MINUTES must be between 1"],
    [{ RECONCILE_MAX_PENDING_MINUTES: "10081" }, "RECONCILE_MAX_PENDING_MINUTES must be between 0 and 10080"],
    [{ ASSEMBLYAI_TIMEOUT_MS: "30001" }, "ASSEMBLYAI_TIMEOUT_MS must be between 100 and 30000"],
    [{ BUCKET_NAME: "" }, "environment variable BUCKET_NAME is required"],
    [{ ASSEMBLYAI_BASE_URL: "not a url" }, "ASSEMBLYAI_BASE_URL must be a URL"],
  ])("refuses %j, naming the variable", (overrides, message) => {
    expect(() => loadConfig({ ...ENV, ...overrides })).toThrow(message);
  });
});
