/**
 * The reconciler's configuration, read from the environment and validated once, at cold start. The stack
 * validates its settings with the same parsers and ranges (lib/config.ts, lib/reconciler.ts).
 */
import {
  DEFAULT_ASSEMBLYAI_TIMEOUT_MS,
  DEFAULT_SECRET_CACHE_TTL_SECONDS,
  type EnvName,
  MAX_SECRET_CACHE_TTL_SECONDS,
  MIN_ASSEMBLYAI_TIMEOUT_MS,
} from "../shared/contract/environment";
import { CHECKPOINT_KEY } from "../shared/contract/resources";
import {
  type Env,
  envVariable,
  optionalInteger,
  parseHttpUrl,
  requireString,
  type WholeNumberSetting,
} from "../shared/env";
import { loadProcessingConfig, type ProcessingConfig } from "../shared/processing-config";
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

export interface ReconcilerConfig extends ProcessingConfig {
  /** Without a query string. */
  readonly webhookUrl: string;
  readonly maxApiCalls: number;
  /** How far back the first run (no checkpoint yet) looks. */
  readonly lookbackMs: number;
  readonly maxPendingLookbackMs: number;
  readonly checkpointKey: string;
}

const MINUTE_MS = 60_000;

/** The reconciler's whole-number variables: what it assumes when one is unset, and what it accepts. */
export const RECONCILER_NUMBERS = {
  assemblyAiTimeoutMs: {
    fallback: DEFAULT_ASSEMBLYAI_TIMEOUT_MS,
    min: MIN_ASSEMBLYAI_TIMEOUT_MS,
    max: 30_000,
  },
  secretCacheTtlSeconds: {
    fallback: DEFAULT_SECRET_CACHE_TTL_SECONDS,
    min: 0,
    max: MAX_SECRET_CACHE_TTL_SECONDS,
  },
  maxApiCalls: { fallback: DEFAULT_MAX_API_CALLS, min: MIN_MAX_API_CALLS, max: MAX_MAX_API_CALLS },
  lookbackMinutes: { fallback: DEFAULT_LOOKBACK_MINUTES, min: 1, max: MAX_LOOKBACK_MINUTES },
  maxPendingMinutes: { fallback: DEFAULT_MAX_PENDING_MINUTES, min: 0, max: MAX_MAX_PENDING_MINUTES },
} as const satisfies Record<string, WholeNumberSetting>;

export function loadConfig(env: Env): ReconcilerConfig {
  return {
    ...loadProcessingConfig(env, RECONCILER_NUMBERS),
    webhookUrl: httpUrl(requireString(env, RECONCILER_ENV.webhookUrl), RECONCILER_ENV.webhookUrl),
    maxApiCalls: optionalInteger(env, RECONCILER_ENV.maxApiCalls, RECONCILER_NUMBERS.maxApiCalls),
    lookbackMs:
      optionalInteger(env, RECONCILER_ENV.lookbackMinutes, RECONCILER_NUMBERS.lookbackMinutes) * MINUTE_MS,
    maxPendingLookbackMs:
      optionalInteger(env, RECONCILER_ENV.maxPendingMinutes, RECONCILER_NUMBERS.maxPendingMinutes) *
      MINUTE_MS,
    checkpointKey: CHECKPOINT_KEY,
  };
}

/** Validated, but kept as written: the webhook URL is compared with the webhook_url AssemblyAI stored. */
function httpUrl(raw: string, name: EnvName): string {
  parseHttpUrl(raw, envVariable(name));
  return raw;
}
