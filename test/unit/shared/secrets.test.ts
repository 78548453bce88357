import { apiKeyFingerprint } from "../../../functions/shared/secrets";

describe("apiKeyFingerprint", () => {
  const key = "0123456789abcdef0123456789abcdef";

  it("is 16 hex digits, the same for the same key, whatever whitespace surrounds it", () => {
    expect(apiKeyFingerprint(key)).toMatch(/^[0-9a-f]{16}$/);
    expect(apiKeyFingerprint(` ${key}\n`)).toBe(apiKeyFingerprint(key));
  });

  it("tells keys apart that differ in one character", () => {
    const other = `${key.slice(0, -1)}0`;

    expect(apiKeyFingerprint(other)).not.toBe(apiKeyFingerprint(key));
  });
});
