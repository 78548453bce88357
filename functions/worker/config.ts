/**
 * The worker's configuration, read from the environment and validated once, at cold start. The stack
 * validates its settings with the same parsers and ranges (lib/config.ts), so synth refuses what this would.
 */
import { DEFAULT_REDACTED_AUDIO_HOSTS } from "../shared/assemblyai";
import {
  DEFAULT_ASSEMBLYAI_TIMEOUT_MS,
  DEFAULT_SECRET_CACHE_TTL_SECONDS,
  ENV,
  type EnvName,
  MAX_SECRET_CACHE_TTL_SECONDS,
  MIN_ASSEMBLYAI_TIMEOUT_MS,
} from "../shared/contract/environment";
import {
  ConfigurationError,
  type Env,
  envVariable,
  optionalInteger,
  optionalList,
  optionalString,
  type WholeNumberSetting,
} from "../shared/env";
import { loadProcessingConfig, type ProcessingConfig } from "../shared/processing-config";
import { type HostRule, parseHostRules } from "../shared/redacted-audio-hosts";

export interface WorkerConfig extends ProcessingConfig {
  /** Transcript text up to this many UTF-8 bytes is stored inline on the item; longer text goes to S3. */
  readonly inlineTextMaxBytes: number;
  /** Where redacted audio may be downloaded from: checked again here, whatever the receiver queued. */
  readonly redactedAudioHosts: readonly HostRule[];
  /** First retry delay of the exponential backoff (doubled per attempt, capped at an hour). */
  readonly retryBaseSeconds: number;
  /** Largest redacted audio file downloaded; a larger one is a final failure. */
  readonly maxRedactedAudioBytes: number;
  /** DELETE each stored transcript at AssemblyAI once the record (and its redacted audio) is stored. */
  readonly deleteFromAssemblyAi: boolean;
  /** Days each record write keeps the record for (its `expires_at`); undefined: forever. */
  readonly retentionDays: number | undefined;
  /** The usage counters' table (USAGE_TABLE_NAME); unset, nothing is counted. */
  readonly usageTableName?: string | undefined;
}

export const DEFAULT_INLINE_TEXT_MAX_BYTES = 100_000;
/** DynamoDB items stop at 400 KB and the item carries more than the text: keep a wide margin. */
export const MAX_INLINE_TEXT_MAX_BYTES = 300_000;
export const DEFAULT_RETRY_BASE_SECONDS = 30;
export const MIN_RETRY_BASE_SECONDS = 1;
export const MAX_RETRY_BASE_SECONDS = 900;
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
export const DEFAULT_MAX_REDACTED_AUDIO_BYTES = 2 * GIB;
export const MIN_MAX_REDACTED_AUDIO_BYTES = MIB;
export const MAX_MAX_REDACTED_AUDIO_BYTES = 5 * GIB;

/** The worker's whole-number variables: what it assumes when one is unset, and what it accepts. */
export const WORKER_NUMBERS = {
  inlineTextMaxBytes: { fallback: DEFAULT_INLINE_TEXT_MAX_BYTES, min: 0, max: MAX_INLINE_TEXT_MAX_BYTES },
  assemblyAiTimeoutMs: {
    fallback: DEFAULT_ASSEMBLYAI_TIMEOUT_MS,
    min: MIN_ASSEMBLYAI_TIMEOUT_MS,
    max: 50_000,
  },
  secretCacheTtlSeconds: {
    fallback: DEFAULT_SECRET_CACHE_TTL_SECONDS,
    min: 0,
    max: MAX_SECRET_CACHE_TTL_SECONDS,
  },
  retryBaseSeconds: {
    fallback: DEFAULT_RETRY_BASE_SECONDS,
    min: MIN_RETRY_BASE_SECONDS,
    max: MAX_RETRY_BASE_SECONDS,
  },
  maxRedactedAudioBytes: {
    fallback: DEFAULT_MAX_REDACTED_AUDIO_BYTES,
    min: MIN_MAX_REDACTED_AUDIO_BYTES,
    max: MAX_MAX_REDACTED_AUDIO_BYTES,
  },
  /** Up to 100 years, as the bucket's other expiry settings; `fallback` is never used (unset: forever). */
  retentionDays: { fallback: 0, min: 1, max: 36_500 },
} as const satisfies Record<string, WholeNumberSetting>;

export function loadConfig(env: Env): WorkerConfig {
  return {
    ...loadProcessingConfig(env, WORKER_NUMBERS),
    inlineTextMaxBytes: optionalInteger(env, ENV.inlineTextMaxBytes, WORKER_NUMBERS.inlineTextMaxBytes),
    redactedAudioHosts: parseHostRules(
      optionalList(env, ENV.redactedAudioHosts, DEFAULT_REDACTED_AUDIO_HOSTS),
      envVariable(ENV.redactedAudioHosts),
    ),
    retryBaseSeconds: optionalInteger(env, ENV.retryBaseSeconds, WORKER_NUMBERS.retryBaseSeconds),
    maxRedactedAudioBytes: optionalInteger(
      env,
      ENV.maxRedactedAudioBytes,
      WORKER_NUMBERS.maxRedactedAudioBytes,
    ),
    deleteFromAssemblyAi: optionalFlag(env, ENV.deleteFromAssemblyAi),
    retentionDays: env[ENV.retentionDays]?.trim()
      ? optionalInteger(env, ENV.retentionDays, WORKER_NUMBERS.retentionDays)
      : undefined,
    usageTableName: optionalString(env, ENV.usageTableName, "") || undefined,
  };
}

/** `true` or `false` (unset or empty: false); anything else is refused, naming the variable. */
export function optionalFlag(env: Env, name: EnvName): boolean {
  const raw = env[name]?.trim();
  if (!raw || raw === "false") return false;
  if (raw === "true") return true;
  throw new ConfigurationError(`${envVariable(name)} must be true or false, got "${raw}"`);
}
