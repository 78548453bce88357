/** Reading and validating environment variables at cold start; the names are in contract/environment.ts. */
import type { EnvName } from "./contract/environment";

/** Thrown at cold start when configuration is missing or malformed; the message names the variable. */
export class ConfigurationError extends Error {
  override readonly name = "ConfigurationError";
}

export type Env = Readonly<Record<string, string | undefined>>;

export function requireString(env: Env, name: EnvName): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigurationError(`environment variable ${name} is required`);
  return value;
}

export function optionalString(env: Env, name: EnvName, fallback: string): string {
  const value = env[name]?.trim();
  return value ? value : fallback;
}

/** A comma-separated list; empty entries dropped. */
export function optionalList(env: Env, name: EnvName, fallback: readonly string[]): string[] {
  const value = env[name];
  if (value === undefined) return [...fallback];
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

export function optionalInteger(env: Env, name: EnvName, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigurationError(`environment variable ${name} must be a whole number`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigurationError(
      `environment variable ${name} must be between ${min} and ${max}, got ${value}`,
    );
  }
  return value;
}
