/** The worker's configuration, read from the environment and validated once, at cold start. */
import { ASSEMBLYAI_BASE_URLS } from "../shared/assemblyai";
import { ConfigurationError, ENV, optionalInteger, optionalString, requireString } from "../shared/env";

export interface WorkerConfig {
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
}

export const DEFAULT_INLINE_TEXT_MAX_BYTES = 100_000;
/** DynamoDB items stop at 400 KB and the item carries more than the text: keep a wide margin. */
export const MAX_INLINE_TEXT_MAX_BYTES = 300_000;
export const DEFAULT_ASSEMBLYAI_TIMEOUT_MS = 10_000;
export const DEFAULT_SECRET_CACHE_TTL_SECONDS = 300;

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env): WorkerConfig {
  return {
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
