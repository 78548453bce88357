/** The reconciler's configuration, read from the environment and validated once, at cold start. */
import { ASSEMBLYAI_BASE_URLS } from "../shared/assemblyai";
import { DEFAULT_SECRET_CACHE_TTL_SECONDS, ENV, type EnvName } from "../shared/contract/environment";
import { CHECKPOINT_KEY } from "../shared/contract/resources";
import { ConfigurationError, type Env, optionalInteger, optionalString, requireString } from "../shared/env";
import {
  DEFAULT_LOOKBACK_MINUTES,
  DEFAULT_MAX_API_CALLS,
  DEFAULT_MAX_PENDING_MINUTES,
  MAX_LOOKBACK_MINUTES,
  MAX_MAX_API_CALLS,
  MAX_MAX_PENDING_MINUTES,
  MIN_MAX_API_CALLS,
  RECONCILER_ENV,
} from "./constants";

export interface ReconcilerConfig {
  /** The stack the function belongs to: the `Stack` dimension of every metric it emits. */
  readonly stackName: string;
  readonly tableName: string;
  readonly bucketName: string;
  readonly queueUrl: string;
  readonly apiKeySecretArn: string;
  /** Without a trailing slash. */
  readonly assemblyAiBaseUrl: string;
  /** Per AssemblyAI request, body included. */
  readonly assemblyAiTimeoutMs: number;
  readonly secretCacheTtlSeconds: number;
  /** Without a query string. */
  readonly webhookUrl: string;
  readonly maxApiCalls: number;
  /** How far back the first run (no checkpoint yet) looks. */
  readonly lookbackMs: number;
  readonly maxPendingLookbackMs: number;
  readonly checkpointKey: string;
}

export const DEFAULT_ASSEMBLYAI_TIMEOUT_MS = 10_000;
const MINUTE_MS = 60_000;

export function loadConfig(env: Env): ReconcilerConfig {
  return {
    stackName: requireString(env, ENV.stackName),
    tableName: requireString(env, ENV.tableName),
    bucketName: requireString(env, ENV.bucketName),
    queueUrl: requireString(env, ENV.queueUrl),
    apiKeySecretArn: requireString(env, ENV.apiKeySecretArn),
    assemblyAiBaseUrl: httpUrl(
      optionalString(env, ENV.assemblyAiBaseUrl, ASSEMBLYAI_BASE_URLS.us),
      ENV.assemblyAiBaseUrl,
    ).replace(/\/+$/, ""),
    assemblyAiTimeoutMs: optionalInteger(
      env,
      ENV.assemblyAiTimeoutMs,
      DEFAULT_ASSEMBLYAI_TIMEOUT_MS,
      100,
      30_000,
    ),
    secretCacheTtlSeconds: optionalInteger(
      env,
      ENV.secretCacheTtlSeconds,
      DEFAULT_SECRET_CACHE_TTL_SECONDS,
      0,
      86_400,
    ),
    webhookUrl: httpUrl(requireString(env, RECONCILER_ENV.webhookUrl), RECONCILER_ENV.webhookUrl),
    maxApiCalls: optionalInteger(
      env,
      RECONCILER_ENV.maxApiCalls,
      DEFAULT_MAX_API_CALLS,
      MIN_MAX_API_CALLS,
      MAX_MAX_API_CALLS,
    ),
    lookbackMs:
      optionalInteger(
        env,
        RECONCILER_ENV.lookbackMinutes,
        DEFAULT_LOOKBACK_MINUTES,
        1,
        MAX_LOOKBACK_MINUTES,
      ) * MINUTE_MS,
    maxPendingLookbackMs:
      optionalInteger(
        env,
        RECONCILER_ENV.maxPendingMinutes,
        DEFAULT_MAX_PENDING_MINUTES,
        0,
        MAX_MAX_PENDING_MINUTES,
      ) * MINUTE_MS,
    checkpointKey: CHECKPOINT_KEY,
  };
}

/** An http(s) URL with no query or fragment (http for the local stack and its simulator). */
function httpUrl(raw: string, variable: EnvName): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(`environment variable ${variable} must be a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigurationError(`environment variable ${variable} must be an http(s) URL`);
  }
  if (url.search || url.hash) {
    throw new ConfigurationError(`environment variable ${variable} must not have a query or fragment`);
  }
  return raw.trim();
}
