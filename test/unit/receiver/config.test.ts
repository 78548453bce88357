import { isSourceIpAllowed } from "../../../functions/receiver/allowlists";
import {
  CLAIM_DEADLINE_MS,
  DEFAULT_MAX_BODY_BYTES,
  ENQUEUE_DEADLINE_MS,
  loadConfig,
  RESPONSE_BUDGET_MS,
  S3_ATTEMPTS,
  SECRET_DEADLINE_MS,
  SECRETS_MANAGER_ATTEMPTS,
  SQS_ATTEMPTS,
} from "../../../functions/receiver/config";
import { RECEIVER_TIMEOUT_SECONDS } from "../../../functions/shared/contract/resources";
import { ConfigurationError } from "../../../functions/shared/env";
import { TEST_ENV } from "./support";

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const config = loadConfig(TEST_ENV);

    expect(config).toMatchObject({
      queueUrl: TEST_ENV.QUEUE_URL,
      webhookSecretArn: TEST_ENV.WEBHOOK_SECRET_ARN,
      bucketName: TEST_ENV.BUCKET_NAME,
      authHeaderName: "x-webhook-secret",
      sourceIps: undefined,
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      secretCacheTtlMs: 300_000,
    });
    expect(config.redactedAudioHosts).toHaveLength(4);
  });

  it("answers inside AssemblyAI's 10 s and the function's timeout, even in the worst case", () => {
    const config = loadConfig(TEST_ENV);
    const worstCase = config.secretDeadlineMs + config.enqueueDeadlineMs;

    expect(worstCase).toBeLessThanOrEqual(8_000);
    expect(config.responseBudgetMs).toBe(RESPONSE_BUDGET_MS);
    // After a claim check SendMessage gets what is left: two full attempts with the secret cached, and
    // at least one after a cold secret read.
    expect(RESPONSE_BUDGET_MS - CLAIM_DEADLINE_MS).toBeGreaterThanOrEqual(
      2 * SQS_ATTEMPTS.requestTimeoutMs + 50,
    );
    expect(RESPONSE_BUDGET_MS - SECRET_DEADLINE_MS - CLAIM_DEADLINE_MS).toBeGreaterThanOrEqual(
      SQS_ATTEMPTS.requestTimeoutMs,
    );
    expect(worstCase).toBeLessThan(RECEIVER_TIMEOUT_SECONDS * 1000);
  });

  it.each([
    ["SendMessage", SQS_ATTEMPTS, ENQUEUE_DEADLINE_MS],
    ["Secrets Manager", SECRETS_MANAGER_ATTEMPTS, SECRET_DEADLINE_MS],
    ["claim check PutObject", S3_ATTEMPTS, CLAIM_DEADLINE_MS],
  ])("gives every %s attempt its full time before the deadline", (_name, attempts, deadlineMs) => {
    // The SDK's standard strategy waits at most 50 ms x 2^n before retry n (n from 0).
    const backoffMs = Array.from({ length: attempts.maxAttempts - 1 }, (_, n) => 50 * 2 ** n).reduce(
      (a, b) => a + b,
      0,
    );

    expect(attempts.connectionTimeoutMs).toBeLessThan(attempts.requestTimeoutMs);
    expect(attempts.maxAttempts * attempts.requestTimeoutMs + backoffMs).toBeLessThanOrEqual(deadlineMs);
  });

  it("reads every optional variable", () => {
    const config = loadConfig({
      ...TEST_ENV,
      ALLOWED_SOURCE_IPS: "44.238.19.20/32, 54.220.25.36",
      REDACTED_AUDIO_HOSTS: "http://127.0.0.1:4010",
      MAX_BODY_BYTES: "1024",
      SECRET_CACHE_TTL_SECONDS: "60",
    });

    expect(isSourceIpAllowed(config.sourceIps, "54.220.25.36")).toBe(true);
    expect(isSourceIpAllowed(config.sourceIps, "203.0.113.1")).toBe(false);
    expect(config.redactedAudioHosts).toEqual([{ type: "origin", origin: "http://127.0.0.1:4010" }]);
    expect(config.maxBodyBytes).toBe(1024);
    expect(config.secretCacheTtlMs).toBe(60_000);
  });

  it.each([
    [{ QUEUE_URL: "" }, "QUEUE_URL"],
    [{ WEBHOOK_SECRET_ARN: undefined }, "WEBHOOK_SECRET_ARN"],
    [{ AUTH_HEADER_NAME: undefined }, "AUTH_HEADER_NAME"],
    [{ AUTH_HEADER_NAME: "x webhook secret" }, "AUTH_HEADER_NAME"],
    [{ AUTH_HEADER_NAME: "Authorization" }, "AUTH_HEADER_NAME"],
    [{ AUTH_HEADER_NAME: "x".repeat(101) }, "AUTH_HEADER_NAME"],
    [{ ALLOWED_SOURCE_IPS: "44.238.19.20/40" }, "ALLOWED_SOURCE_IPS"],
    [{ REDACTED_AUDIO_HOSTS: "" }, "REDACTED_AUDIO_HOSTS"],
    [{ REDACTED_AUDIO_HOSTS: "https://host/path" }, "REDACTED_AUDIO_HOSTS"],
    [{ MAX_BODY_BYTES: "lots" }, "MAX_BODY_BYTES"],
    [{ MAX_BODY_BYTES: String(DEFAULT_MAX_BODY_BYTES + 1) }, "MAX_BODY_BYTES"],
    [{ BUCKET_NAME: "" }, "BUCKET_NAME"],
    [{ SECRET_CACHE_TTL_SECONDS: "0" }, "SECRET_CACHE_TTL_SECONDS"],
  ])("fails fast on %j, naming %s", (override, name) => {
    const load = () => loadConfig({ ...TEST_ENV, ...override });

    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow(name);
  });
});
