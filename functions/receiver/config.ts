/**
 * The receiver's configuration, read from the environment and validated once, at cold start. The stack
 * validates its settings with the same parsers (lib/config.ts), so synth refuses what this would.
 */
import { DEFAULT_REDACTED_AUDIO_HOSTS } from "../shared/assemblyai";
import {
  DEFAULT_SECRET_CACHE_TTL_SECONDS,
  ENV,
  MAX_SECRET_CACHE_TTL_SECONDS,
} from "../shared/contract/environment";
import {
  ConfigurationError,
  envVariable,
  optionalInteger,
  optionalList,
  requireString,
  type WholeNumberSetting,
} from "../shared/env";
import { type HostRule, parseHostRules } from "../shared/redacted-audio-hosts";
import { defaultRetryAfterFailureMs } from "../shared/secret-cache";
import { parseSourceIpAllowlist, type SourceIpAllowlist } from "./allowlists";

export interface ReceiverConfig {
  /** The stack the function belongs to: the `Stack` dimension of every metric it emits. */
  readonly stackName: string;
  readonly queueUrl: string;
  readonly webhookSecretArn: string;
  /** Where a message too large for SQS waits (under INBOX_PREFIX); the queue carries its key. */
  readonly bucketName: string;
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
  /** Longest wait for the claim check's PutObject, SDK retries included. */
  readonly claimDeadlineMs: number;
  /** Everything after the request arrived, from the secret read to the enqueue, fits in this. */
  readonly responseBudgetMs: number;
}

/**
 * Lambda's synchronous invocation payload limit (6 MB, the event with its headers): no larger body can reach
 * the receiver. Bodies over SQS's message limit travel by claim check. A lower MAX_BODY_BYTES quarantines
 * larger bodies (kept whole) instead of routing them.
 */
export const DEFAULT_MAX_BODY_BYTES = 6_291_456;
export const MAX_MAX_BODY_BYTES = DEFAULT_MAX_BODY_BYTES;

/** The receiver's whole-number variables: what it assumes when one is unset, and what it accepts. */
export const RECEIVER_NUMBERS = {
  maxBodyBytes: { fallback: DEFAULT_MAX_BODY_BYTES, min: 1, max: MAX_MAX_BODY_BYTES },
  secretCacheTtlSeconds: {
    fallback: DEFAULT_SECRET_CACHE_TTL_SECONDS,
    min: 1,
    max: MAX_SECRET_CACHE_TTL_SECONDS,
  },
} as const satisfies Record<string, WholeNumberSetting>;

/**
 * The time budget. AssemblyAI waits 10 s for a 2xx and, failing that, posts again on its own schedule (10 s
 * later), so a fast 503 buys nothing: it only adds a duplicate delivery when SendMessage had in fact
 * succeeded (measured under load: 97-99% of the 503s from 500 ms attempts). So use the time there is:
 *
 * - SendMessage: 3 attempts of at most 1.9 s each (1 s of it to connect), plus the backoff between them
 *   (at most 50 ms, then 100 ms): 3 x 1.9 + 0.15 < 6.0 s, the enqueue deadline, so the third attempt
 *   really runs.
 * - Secrets Manager, on a cold cache only: 2 attempts of at most 0.9 s, plus at most 50 ms: under 2.0 s.
 * - Worst case 2.0 + 6.0 = 8.0 s, inside AssemblyAI's 10 s with room for a cold start and the network,
 *   and inside the function's timeout (RECEIVER_TIMEOUT_SECONDS) so the answer is always ours.
 * - A claim check (a message over SQS's limit, rare) first writes to S3: 2 attempts of at most 1.4 s, under
 *   3.0 s; SendMessage then gets what is left of the same 8 s budget (RESPONSE_BUDGET_MS): two full
 *   attempts with the secret cached, one and most of a second after a cold secret read.
 * Every request gets its attempts: the SDK's per-client retry quota is not used (see retry.ts).
 */
export const SQS_ATTEMPTS = { maxAttempts: 3, connectionTimeoutMs: 1_000, requestTimeoutMs: 1_900 } as const;
export const SECRETS_MANAGER_ATTEMPTS = {
  maxAttempts: 2,
  connectionTimeoutMs: 500,
  requestTimeoutMs: 900,
} as const;
export const S3_ATTEMPTS = { maxAttempts: 2, connectionTimeoutMs: 500, requestTimeoutMs: 1_400 } as const;
export const SECRET_DEADLINE_MS = 2_000;
export const ENQUEUE_DEADLINE_MS = 6_000;
export const CLAIM_DEADLINE_MS = 3_000;
export const RESPONSE_BUDGET_MS = 8_000;

/**
 * The longest a receiver instance can go on accepting only what it read before a change to the secret's
 * stages: a read that began just before the change ends within SECRET_DEADLINE_MS and is kept for the
 * TTL, and a re-read that fails then keeps it one retry interval more. `rotate-secret` waits this long
 * between staging a value and promoting it.
 */
export function secretStagesSettleMs(secretCacheTtlMs: number): number {
  return SECRET_DEADLINE_MS + secretCacheTtlMs + defaultRetryAfterFailureMs(secretCacheTtlMs);
}

/** RFC 9110 token characters, at most 100 of them: anything else can never arrive as a header name. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
/** Headers AssemblyAI or API Gateway set themselves, which cannot carry our secret. */
const RESERVED_HEADERS = new Set([
  "authorization",
  "content-type",
  "content-length",
  "host",
  "user-agent",
  "x-forwarded-for",
  "x-amzn-trace-id",
]);

/** The name of the header the secret arrives in, as given (the receiver matches it case-insensitively). */
export function parseAuthHeaderName(value: string, subject: string): string {
  if (!HEADER_NAME.test(value)) {
    throw new ConfigurationError(`${subject} "${value}" is not a valid HTTP header name`);
  }
  if (RESERVED_HEADERS.has(value.toLowerCase())) {
    throw new ConfigurationError(`${subject} "${value}" is a standard header; choose a custom one`);
  }
  return value;
}

export function loadConfig(env: Readonly<Record<string, string | undefined>>): ReceiverConfig {
  const authHeaderName = parseAuthHeaderName(
    requireString(env, ENV.authHeaderName),
    envVariable(ENV.authHeaderName),
  );
  return {
    stackName: requireString(env, ENV.stackName),
    queueUrl: requireString(env, ENV.queueUrl),
    webhookSecretArn: requireString(env, ENV.webhookSecretArn),
    bucketName: requireString(env, ENV.bucketName),
    authHeaderName: authHeaderName.toLowerCase(),
    sourceIps: parseSourceIpAllowlist(
      optionalList(env, ENV.allowedSourceIps, []),
      envVariable(ENV.allowedSourceIps),
    ),
    redactedAudioHosts: parseHostRules(
      optionalList(env, ENV.redactedAudioHosts, DEFAULT_REDACTED_AUDIO_HOSTS),
      envVariable(ENV.redactedAudioHosts),
    ),
    maxBodyBytes: optionalInteger(env, ENV.maxBodyBytes, RECEIVER_NUMBERS.maxBodyBytes),
    secretCacheTtlMs:
      optionalInteger(env, ENV.secretCacheTtlSeconds, RECEIVER_NUMBERS.secretCacheTtlSeconds) * 1000,
    secretDeadlineMs: SECRET_DEADLINE_MS,
    enqueueDeadlineMs: ENQUEUE_DEADLINE_MS,
    claimDeadlineMs: CLAIM_DEADLINE_MS,
    responseBudgetMs: RESPONSE_BUDGET_MS,
  };
}
