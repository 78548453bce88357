/** The receiver's configuration, read from the environment and validated once, at cold start. */
import { DEFAULT_REDACTED_AUDIO_HOSTS } from "../shared/assemblyai";
import {
  ConfigurationError,
  DEFAULT_SECRET_CACHE_TTL_SECONDS,
  ENV,
  optionalInteger,
  optionalList,
  requireString,
} from "../shared/env";
import { type HostRule, parseHostRules } from "../shared/redacted-audio-hosts";
import { parseSourceIpAllowlist, type SourceIpAllowlist } from "./allowlists";

export interface ReceiverConfig {
  readonly queueUrl: string;
  readonly webhookSecretArn: string;
  /** Lower-cased; matched case-insensitively. */
  readonly authHeaderName: string;
  readonly sourceIps: SourceIpAllowlist;
  readonly redactedAudioHosts: readonly HostRule[];
  readonly maxBodyBytes: number;
  readonly secretCacheTtlMs: number;
  /** Longest wait for Secrets Manager on a cold cache, SDK retries included. */
  readonly secretDeadlineMs: number;
  /** Longest wait for SQS SendMessage, SDK retries included. */
  readonly enqueueDeadlineMs: number;
  /** Least time between two re-reads of the secret forced by a presented value that matched nothing. */
  readonly secretRecheckMs: number;
}

export const DEFAULT_MAX_BODY_BYTES = 65_536;
/**
 * 192 KiB leaves room for metadata under SQS's 256 KiB message limit; a larger body could never be queued.
 */
export const MAX_MAX_BODY_BYTES = 196_608;

/**
 * The whole answer must come well inside AssemblyAI's 10 s and the function's 5 s timeout: at most 1.2 s
 * on a cold secret plus 1.5 s on the enqueue leaves about 3 s in the worst case.
 */
export const SECRET_DEADLINE_MS = 1_200;
export const ENQUEUE_DEADLINE_MS = 1_500;

/**
 * After a rotation, the new value is accepted within this time rather than after the cache's TTL: a wrong
 * value makes the receiver read the secret again, but at most once per this interval per instance, so
 * unauthenticated callers cannot drive Secrets Manager traffic.
 */
export const SECRET_RECHECK_MS = 30_000;

/** RFC 9110 token characters: anything else can never arrive as a header name. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function loadConfig(env: Readonly<Record<string, string | undefined>>): ReceiverConfig {
  const authHeaderName = requireString(env, ENV.authHeaderName);
  if (!HEADER_NAME.test(authHeaderName)) {
    throw new ConfigurationError(
      `environment variable ${ENV.authHeaderName} must be a valid HTTP header name`,
    );
  }
  return {
    queueUrl: requireString(env, ENV.queueUrl),
    webhookSecretArn: requireString(env, ENV.webhookSecretArn),
    authHeaderName: authHeaderName.toLowerCase(),
    sourceIps: parseSourceIpAllowlist(optionalList(env, ENV.allowedSourceIps, []), ENV.allowedSourceIps),
    redactedAudioHosts: parseHostRules(
      optionalList(env, ENV.redactedAudioHosts, DEFAULT_REDACTED_AUDIO_HOSTS),
      ENV.redactedAudioHosts,
    ),
    maxBodyBytes: optionalInteger(env, ENV.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, 1, MAX_MAX_BODY_BYTES),
    secretCacheTtlMs:
      optionalInteger(env, ENV.secretCacheTtlSeconds, DEFAULT_SECRET_CACHE_TTL_SECONDS, 1, 86_400) * 1000,
    secretDeadlineMs: SECRET_DEADLINE_MS,
    enqueueDeadlineMs: ENQUEUE_DEADLINE_MS,
    secretRecheckMs: SECRET_RECHECK_MS,
  };
}
