import { isSourceIpAllowed } from "../../../functions/receiver/allowlists";
import { DEFAULT_MAX_BODY_BYTES, loadConfig } from "../../../functions/receiver/config";
import { ConfigurationError } from "../../../functions/shared/env";
import { TEST_ENV } from "./support";

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const config = loadConfig(TEST_ENV);

    expect(config).toMatchObject({
      queueUrl: TEST_ENV.QUEUE_URL,
      webhookSecretArn: TEST_ENV.WEBHOOK_SECRET_ARN,
      authHeaderName: "x-webhook-secret",
      sourceIps: undefined,
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      secretCacheTtlMs: 300_000,
    });
    expect(config.redactedAudioHosts).toHaveLength(4);
  });

  it("keeps the whole worst case within about 3 seconds", () => {
    const config = loadConfig(TEST_ENV);

    expect(config.secretDeadlineMs + config.enqueueDeadlineMs).toBeLessThanOrEqual(3_000);
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
    [{ ALLOWED_SOURCE_IPS: "44.238.19.20/40" }, "ALLOWED_SOURCE_IPS"],
    [{ REDACTED_AUDIO_HOSTS: "" }, "REDACTED_AUDIO_HOSTS"],
    [{ REDACTED_AUDIO_HOSTS: "https://host/path" }, "REDACTED_AUDIO_HOSTS"],
    [{ MAX_BODY_BYTES: "lots" }, "MAX_BODY_BYTES"],
    [{ MAX_BODY_BYTES: "1000000" }, "MAX_BODY_BYTES"],
    [{ SECRET_CACHE_TTL_SECONDS: "0" }, "SECRET_CACHE_TTL_SECONDS"],
  ])("fails fast on %j, naming %s", (override, name) => {
    const load = () => loadConfig({ ...TEST_ENV, ...override });

    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow(name);
  });
});
