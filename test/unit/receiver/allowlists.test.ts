import fc from "fast-check";
import { isSourceIpAllowed, parseSourceIpAllowlist } from "../../../functions/receiver/allowlists";
import { DEFAULT_REDACTED_AUDIO_HOSTS } from "../../../functions/shared/assemblyai";
import { ConfigurationError } from "../../../functions/shared/env";
import { parseHostRules, redactedAudioUrlProblem } from "../../../functions/shared/redacted-audio-hosts";

const IPS = "ALLOWED_SOURCE_IPS" as const;
const HOSTS = "REDACTED_AUDIO_HOSTS" as const;

describe("source address allowlist", () => {
  it("allows every address when the list is empty", () => {
    expect(isSourceIpAllowed(parseSourceIpAllowlist([], IPS), "203.0.113.9")).toBe(true);
  });

  it("matches addresses and CIDR ranges of both families", () => {
    const list = parseSourceIpAllowlist(["44.238.19.20", "10.0.0.0/8", "2001:db8::/32", "::1"], IPS);

    expect(isSourceIpAllowed(list, "44.238.19.20")).toBe(true);
    expect(isSourceIpAllowed(list, "10.255.0.1")).toBe(true);
    expect(isSourceIpAllowed(list, "2001:db8:ffff::1")).toBe(true);
    expect(isSourceIpAllowed(list, "::1")).toBe(true);
    expect(isSourceIpAllowed(list, "44.238.19.21")).toBe(false);
    expect(isSourceIpAllowed(list, "2001:db9::1")).toBe(false);
  });

  it("refuses a source address that is not an IP address", () => {
    const list = parseSourceIpAllowlist(["0.0.0.0/0"], IPS);

    expect(isSourceIpAllowed(list, "")).toBe(false);
    expect(isSourceIpAllowed(list, "not-an-ip")).toBe(false);
  });

  it.each([
    "44.238.19",
    "10.0.0.0/33",
    "2001:db8::/129",
    "10.0.0.0/8/8",
    "10.0.0.0/x",
    "example.com",
    "fe80::1%eth0",
  ])("refuses entry %s at cold start, naming the variable", (entry) => {
    expect(() => parseSourceIpAllowlist([entry], IPS)).toThrow(ConfigurationError);
    expect(() => parseSourceIpAllowlist([entry], IPS)).toThrow(/ALLOWED_SOURCE_IPS/);
  });

  it("never throws on any source address", () => {
    const list = parseSourceIpAllowlist(["44.238.19.20/32", "2001:db8::/32"], IPS);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.ipV4(), fc.ipV6()), (ip) => {
        isSourceIpAllowed(list, ip);
      }),
    );
  });
});

describe("redacted audio host rules", () => {
  const rules = parseHostRules([...DEFAULT_REDACTED_AUDIO_HOSTS, "http://127.0.0.1:4010"], HOSTS);

  it.each([
    "https://s3.us-west-2.amazonaws.com/bucket/a.mp3",
    "https://bucket.s3.us-west-2.amazonaws.com/a.mp3?X-Amz-Signature=abc",
    "https://BUCKET.S3.EU-WEST-1.AMAZONAWS.COM/a.mp3",
    "http://127.0.0.1:4010/redacted/a.mp3",
  ])("accepts %s", (url) => {
    expect(redactedAudioUrlProblem(url, rules)).toBeUndefined();
  });

  it.each([
    ["http://bucket.s3.us-west-2.amazonaws.com/a.mp3", "must use https"],
    ["https://s3.us-east-1.amazonaws.com/a.mp3", "is not on an allowed host and port"],
    ["https://s3.us-west-2.amazonaws.com.evil.example/a.mp3", "is not on an allowed host and port"],
    ["https://evils3.us-west-2.amazonaws.com/a.mp3", "is not on an allowed host and port"],
    ["https://bucket.s3.us-west-2.amazonaws.com:8443/a.mp3", "is not on an allowed host and port"],
    ["https://user:pass@bucket.s3.us-west-2.amazonaws.com/a.mp3", "must not contain credentials"],
    ["https://user@bucket.s3.us-west-2.amazonaws.com/a.mp3", "must not contain credentials"],
    ["http://127.0.0.1:4011/a.mp3", "must use https"],
    ["https://127.0.0.1:4010/a.mp3", "is not on an allowed host and port"],
    ["ftp://s3.us-west-2.amazonaws.com/a.mp3", "must use https"],
    ["/relative/a.mp3", "is not a valid URL"],
  ])("refuses %s: %s", (url, problem) => {
    expect(redactedAudioUrlProblem(url, rules)).toBe(problem);
  });

  it("allows plain http only through an explicit origin rule", () => {
    fc.assert(
      fc.property(fc.webUrl({ validSchemes: ["http"] }), (url) => {
        fc.pre(!url.startsWith("http://127.0.0.1:4010"));
        expect(redactedAudioUrlProblem(url, rules)).toBeDefined();
      }),
    );
  });

  it("matches a *.suffix rule below the suffix only", () => {
    const suffixOnly = parseHostRules(["*.example.com"], HOSTS);

    expect(redactedAudioUrlProblem("https://a.b.example.com/x", suffixOnly)).toBeUndefined();
    expect(redactedAudioUrlProblem("https://example.com/x", suffixOnly)).toBe(
      "is not on an allowed host and port",
    );
  });

  it("matches a host:port rule on that port only, over https", () => {
    const withPort = parseHostRules(["audio.example.com:8443", "*.cdn.example.com:443"], HOSTS);

    expect(redactedAudioUrlProblem("https://audio.example.com:8443/a.mp3", withPort)).toBeUndefined();
    expect(redactedAudioUrlProblem("https://x.cdn.example.com/a.mp3", withPort)).toBeUndefined();
    expect(redactedAudioUrlProblem("https://audio.example.com/a.mp3", withPort)).toBeDefined();
    expect(redactedAudioUrlProblem("http://audio.example.com:8443/a.mp3", withPort)).toBe("must use https");
  });

  it.each([
    "",
    "*",
    "*.",
    "bad host",
    "https://example.com/path",
    "https://u:p@example.com",
    "ftp://example.com",
    "http://",
    "host:99999",
    "host:0",
    "host:",
    "a:b:c",
    "[::1]",
  ])("refuses rule %j at cold start, naming the variable", (entry) => {
    expect(() => parseHostRules([entry], HOSTS)).toThrow(/REDACTED_AUDIO_HOSTS/);
  });

  it("refuses an empty rule list at cold start", () => {
    expect(() => parseHostRules([], HOSTS)).toThrow(ConfigurationError);
  });
});
