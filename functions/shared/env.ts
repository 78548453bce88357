/**
 * Reading and validating environment variables at cold start; the names are in contract/environment.ts.
 * The parsers also run at synth (lib/config.ts) on the settings that become these variables, so a value the
 * functions would refuse fails `cdk synth` instead; `subject` is how a message names the value.
 */
import type { EnvName } from "./contract/environment";

/** Thrown when configuration is missing or malformed; the message names the variable (or the setting). */
export class ConfigurationError extends Error {
  override readonly name = "ConfigurationError";
}

export type Env = Readonly<Record<string, string | undefined>>;

/** How a cold-start message names a variable. */
export function envVariable(name: EnvName): string {
  return `environment variable ${name}`;
}

export function requireString(env: Env, name: EnvName): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigurationError(`${envVariable(name)} is required`);
  return value;
}

export function optionalString(env: Env, name: EnvName, fallback: string): string {
  const value = env[name]?.trim();
  return value ? value : fallback;
}

/** A comma-separated list, as every list variable is written; entries trimmed, empty ones dropped. */
export function parseList(raw: string): string[] {
  return raw
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

export function optionalList(env: Env, name: EnvName, fallback: readonly string[]): string[] {
  const value = env[name];
  return value === undefined ? [...fallback] : parseList(value);
}

/** A whole-number variable: the value a function assumes when it is unset, and the range it accepts. */
export interface WholeNumberSetting {
  readonly fallback: number;
  readonly min: number;
  readonly max: number;
}

/** Digits only (no sign, exponent or fraction), within the setting's range. */
export function parseWholeNumber(raw: string, setting: WholeNumberSetting, subject: string): number {
  const text = raw.trim();
  if (!/^\d+$/.test(text)) throw new ConfigurationError(`${subject} must be a whole number, got "${text}"`);
  const value = Number(text);
  if (value < setting.min || value > setting.max) {
    throw new ConfigurationError(
      `${subject} must be between ${setting.min} and ${setting.max}, got ${value}`,
    );
  }
  return value;
}

export function optionalInteger(env: Env, name: EnvName, setting: WholeNumberSetting): number {
  const raw = env[name]?.trim();
  return raw ? parseWholeNumber(raw, setting, envVariable(name)) : setting.fallback;
}

/** An http(s) URL with no query or fragment (http for the local stack and its simulator). */
export function parseHttpUrl(raw: string, subject: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(`${subject} must be a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigurationError(`${subject} must be an http(s) URL`);
  }
  if (url.search || url.hash) throw new ConfigurationError(`${subject} must not have a query or fragment`);
  return url;
}
