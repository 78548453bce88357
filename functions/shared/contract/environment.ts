/**
 * Environment variable names shared by the stack (which sets them, next to the matching IAM grant) and
 * the functions (which read and validate them once, at cold start).
 */
export const ENV = {
  stackName: "STACK_NAME",
  queueUrl: "QUEUE_URL",
  webhookSecretArn: "WEBHOOK_SECRET_ARN",
  authHeaderName: "AUTH_HEADER_NAME",
  allowedSourceIps: "ALLOWED_SOURCE_IPS",
  redactedAudioHosts: "REDACTED_AUDIO_HOSTS",
  maxBodyBytes: "MAX_BODY_BYTES",
  secretCacheTtlSeconds: "SECRET_CACHE_TTL_SECONDS",
  tableName: "TABLE_NAME",
  bucketName: "BUCKET_NAME",
  apiKeySecretArn: "ASSEMBLYAI_API_KEY_SECRET_ARN",
  assemblyAiBaseUrl: "ASSEMBLYAI_BASE_URL",
  inlineTextMaxBytes: "INLINE_TEXT_MAX_BYTES",
  assemblyAiTimeoutMs: "ASSEMBLYAI_TIMEOUT_MS",
  retryBaseSeconds: "RETRY_BASE_SECONDS",
  maxRedactedAudioBytes: "MAX_REDACTED_AUDIO_BYTES",
  webhookUrl: "WEBHOOK_URL",
  reconcileMaxApiCalls: "RECONCILE_MAX_API_CALLS",
  reconcileLookbackMinutes: "RECONCILE_LOOKBACK_MINUTES",
  reconcileMaxPendingMinutes: "RECONCILE_MAX_PENDING_MINUTES",
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** How long a function keeps a secret before reading it again. */
export const DEFAULT_SECRET_CACHE_TTL_SECONDS = 300;

/** Value a placeholder API key secret holds until an operator runs `set-api-key`. */
export const API_KEY_PLACEHOLDER_PREFIX = "PLACEHOLDER";
