/** Header-secret authentication of a webhook delivery, in constant time. */
import { createHash, timingSafeEqual } from "node:crypto";

/** A header's value, its name matched case-insensitively (API Gateway lower-cases names, but do not rely on it). */
export function findHeader(
  headers: Readonly<Record<string, string | undefined>> | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Whether the presented header value equals one of the accepted secrets (current, staged and previous).
 * Hashing first makes both sides the same length, so `timingSafeEqual` leaks neither the length nor a
 * matching prefix; every accepted secret is compared, so timing does not tell which one matched.
 */
export function authenticate(presented: string | undefined, accepted: readonly string[]): boolean {
  if (presented === undefined || presented.length === 0) return false;
  const presentedDigest = digest(presented);
  let matched = false;
  for (const secret of accepted) {
    if (secret.length === 0) continue;
    if (timingSafeEqual(presentedDigest, digest(secret))) matched = true;
  }
  return matched;
}
