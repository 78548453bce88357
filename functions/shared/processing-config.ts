/** The configuration the worker and the reconciler share: their stack, queue, store and AssemblyAI access. */
import {
  ASSEMBLYAI_BASE_URLS,
  ASSEMBLYAI_REGIONS,
  type AssemblyAiRegion,
  isAssemblyAiRegion,
} from "./assemblyai";
import { ENV } from "./contract/environment";
import {
  ConfigurationError,
  type Env,
  envVariable,
  optionalInteger,
  optionalString,
  parseHttpUrl,
  requireString,
  type WholeNumberSetting,
} from "./env";
import { isRecord } from "./values";

/** One configured AssemblyAI region: where its API answers and which secret holds its key. */
export interface RegionAccess {
  readonly region: AssemblyAiRegion;
  /** Without a trailing slash; `/v2/transcript…` is appended. */
  readonly baseUrl: string;
  readonly apiKeySecretArn: string;
}

export interface ProcessingConfig {
  /** The stack the function belongs to: the `Stack` dimension of every metric it emits. */
  readonly stackName: string;
  readonly tableName: string;
  readonly bucketName: string;
  readonly queueUrl: string;
  /** The first region's (see assemblyAiRegions). */
  readonly apiKeySecretArn: string;
  /** The first region's (see assemblyAiRegions). */
  readonly assemblyAiBaseUrl: string;
  /**
   * Every configured region, the first being the default (where a delivery that names no region is
   * fetched first). One entry unless ASSEMBLYAI_REGIONS lists more.
   */
  readonly assemblyAiRegions: readonly [RegionAccess, ...RegionAccess[]];
  /** Per AssemblyAI request, body included. */
  readonly assemblyAiTimeoutMs: number;
  readonly secretCacheTtlSeconds: number;
}

/** Each function bounds the two numbers by its own timeout. */
export function loadProcessingConfig(
  env: Env,
  numbers: {
    readonly assemblyAiTimeoutMs: WholeNumberSetting;
    readonly secretCacheTtlSeconds: WholeNumberSetting;
  },
): ProcessingConfig {
  const baseUrl = baseUrlOf(
    optionalString(env, ENV.assemblyAiBaseUrl, ASSEMBLYAI_BASE_URLS.us),
    envVariable(ENV.assemblyAiBaseUrl),
  );
  const apiKeySecretArn = requireString(env, ENV.apiKeySecretArn);
  const listed = env[ENV.assemblyAiRegions]?.trim();
  const regions: readonly [RegionAccess, ...RegionAccess[]] = listed
    ? parseAssemblyAiRegions(listed)
    : // A single-region stack's variables (and the local stack's of old): the region its URL is, else US.
      [{ region: regionOfBaseUrl(baseUrl) ?? "us", baseUrl, apiKeySecretArn }];
  return {
    stackName: requireString(env, ENV.stackName),
    tableName: requireString(env, ENV.tableName),
    bucketName: requireString(env, ENV.bucketName),
    queueUrl: requireString(env, ENV.queueUrl),
    apiKeySecretArn: regions[0].apiKeySecretArn,
    assemblyAiBaseUrl: regions[0].baseUrl,
    assemblyAiRegions: regions,
    assemblyAiTimeoutMs: optionalInteger(env, ENV.assemblyAiTimeoutMs, numbers.assemblyAiTimeoutMs),
    secretCacheTtlSeconds: optionalInteger(env, ENV.secretCacheTtlSeconds, numbers.secretCacheTtlSeconds),
  };
}

/** The AssemblyAI region whose public API `baseUrl` is, if it is one. */
export function regionOfBaseUrl(baseUrl: string): AssemblyAiRegion | undefined {
  return ASSEMBLYAI_REGIONS.find((region) => ASSEMBLYAI_BASE_URLS[region] === baseUrl);
}

function baseUrlOf(raw: string, subject: string): string {
  return parseHttpUrl(raw, subject).toString().replace(/\/+$/, "");
}

/**
 * ASSEMBLYAI_REGIONS (contract/environment.ts, serializeAssemblyAiRegions): a JSON array of
 * `{region, base_url, api_key_secret_arn}`, each region once, at least one.
 */
export function parseAssemblyAiRegions(raw: string): readonly [RegionAccess, ...RegionAccess[]] {
  const subject = envVariable(ENV.assemblyAiRegions);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigurationError(`${subject} must be a JSON array`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new ConfigurationError(`${subject} must be a non-empty JSON array`);
  }
  const regions = parsed.map((entry: unknown, index): RegionAccess => {
    const at = `${subject} entry ${index}`;
    if (!isRecord(entry)) throw new ConfigurationError(`${at} must be an object`);
    const { region, base_url: url, api_key_secret_arn: arn } = entry;
    if (typeof region !== "string" || !isAssemblyAiRegion(region)) {
      throw new ConfigurationError(`${at}: region must be one of ${ASSEMBLYAI_REGIONS.join(", ")}`);
    }
    if (typeof url !== "string") throw new ConfigurationError(`${at}: base_url must be a string`);
    if (typeof arn !== "string" || arn.trim() === "") {
      throw new ConfigurationError(`${at}: api_key_secret_arn is required`);
    }
    return { region, baseUrl: baseUrlOf(url, `${at}: base_url`), apiKeySecretArn: arn.trim() };
  });
  const seen = new Set<string>();
  for (const { region } of regions) {
    if (seen.has(region)) throw new ConfigurationError(`${subject} lists region ${region} more than once`);
    seen.add(region);
  }
  return regions as [RegionAccess, ...RegionAccess[]];
}
