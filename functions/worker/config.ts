/** The worker's configuration, read from the environment and validated once, at cold start. */
import { ASSEMBLYAI_BASE_URLS, DEFAULT_REDACTED_AUDIO_HOSTS } from "../shared/assemblyai";
import { DEFAULT_SECRET_CACHE_TTL_SECONDS, ENV } from "../shared/contract/environment";
import {
  ConfigurationError,
  type Env,
  optionalInteger,
  optionalList,
  optionalString,
  requireString,
} from "../shared/env";
import { type HostRule, parseHostRules } from "../shared/redacted-audio-hosts";

export interface WorkerConfig {
  /** The stack the function belongs to: the `Stack` dimension of every metric it emits. */
  readonly stackName: string;
  readonly tableName: string;
  readonly bucketName: string;
  readonly queueUrl: string;
  readonly apiKeySecretArn: string;
  /** Without a trailing slash; `/v2/transcript/{id}` is appended. */
  readonly assemblyAiBaseUrl: string;
  /** Transcript text up to this many UTF-8 bytes is stored inline on the item; longer text goes to S3. */
  readonly inlineTextMaxBytes: number;
  readonly assemblyAiTimeoutMs: number;
  readonly secretCacheTtlSeconds: number;
  /** Where redacted audio may be downloaded from: checked again here, whatever the receiver queued. */
  readonly redactedAudioHosts: readonly HostRule[];
  /** First retry delay of the exponential backoff (doubled per attempt, capped at an hour). */
  readonly retryBaseSeconds: number;
  /** Largest redacted audio file downloaded; a larger one is a final failure. */
  readonly maxRedactedAudioBytes: number;
}

export const DEFAULT_INLINE_TEXT_MAX_BYTES = 100_000;
/** DynamoDB items stop at 400 KB and the item carries more than the text: keep a wide margin. */
export const MAX_INLINE_TEXT_MAX_BYTES = 300_000;
export const DEFAULT_ASSEMBLYAI_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRY_BASE_SECONDS = 30;
export const MIN_RETRY_BASE_SECONDS = 1;
export const MAX_RETRY_BASE_SECONDS = 900;
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
export const DEFAULT_MAX_REDACTED_AUDIO_BYTES = 2 * GIB;
export const MIN_MAX_REDACTED_AUDIO_BYTES = MIB;
export const MAX_MAX_REDACTED_AUDIO_BYTES = 5 * GIB;

export function loadConfig(env: Env): WorkerConfig {
  return {
    stackName: requireString(env, ENV.stackName),
    tableName: requireString(env, ENV.tableName),
    bucketName: requireString(env, ENV.bucketName),
    queueUrl: requireString(env, ENV.queueUrl),
    apiKeySecretArn: requireString(env, ENV.apiKeySecretArn),
    assemblyAiBaseUrl: baseUrl(optionalString(env, ENV.assemblyAiBaseUrl, ASSEMBLYAI_BASE_URLS.us)),
    inlineTextMaxBytes: optionalInteger(
      env,
      ENV.inlineTextMaxBytes,
      DEFAULT_INLINE_TEXT_MAX_BYTES,
      0,
      MAX_INLINE_TEXT_MAX_BYTES,
    ),
    assemblyAiTimeoutMs: optionalInteger(
      env,
      ENV.assemblyAiTimeoutMs,
      DEFAULT_ASSEMBLYAI_TIMEOUT_MS,
      100,
      50_000,
    ),
    secretCacheTtlSeconds: optionalInteger(
      env,
      ENV.secretCacheTtlSeconds,
      DEFAULT_SECRET_CACHE_TTL_SECONDS,
      0,
      86_400,
    ),
    redactedAudioHosts: parseHostRules(
      optionalList(env, ENV.redactedAudioHosts, DEFAULT_REDACTED_AUDIO_HOSTS),
      ENV.redactedAudioHosts,
    ),
    retryBaseSeconds: optionalInteger(
      env,
      ENV.retryBaseSeconds,
      DEFAULT_RETRY_BASE_SECONDS,
      MIN_RETRY_BASE_SECONDS,
      MAX_RETRY_BASE_SECONDS,
    ),
    maxRedactedAudioBytes: optionalInteger(
      env,
      ENV.maxRedactedAudioBytes,
      DEFAULT_MAX_REDACTED_AUDIO_BYTES,
      MIN_MAX_REDACTED_AUDIO_BYTES,
      MAX_MAX_REDACTED_AUDIO_BYTES,
    ),
  };
}

function baseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(`environment variable ${ENV.assemblyAiBaseUrl} must be a URL`);
  }
  // http is allowed for the local stack's AssemblyAI simulator.
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigurationError(`environment variable ${ENV.assemblyAiBaseUrl} must be an http(s) URL`);
  }
  if (url.search || url.hash) {
    throw new ConfigurationError(
      `environment variable ${ENV.assemblyAiBaseUrl} must not have a query or fragment`,
    );
  }
  return url.toString().replace(/\/+$/, "");
}
