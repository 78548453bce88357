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
  assemblyAiRegions: "ASSEMBLYAI_REGIONS",
  inlineTextMaxBytes: "INLINE_TEXT_MAX_BYTES",
  assemblyAiTimeoutMs: "ASSEMBLYAI_TIMEOUT_MS",
  retryBaseSeconds: "RETRY_BASE_SECONDS",
  maxRedactedAudioBytes: "MAX_REDACTED_AUDIO_BYTES",
  webhookUrl: "WEBHOOK_URL",
  reconcileMaxApiCalls: "RECONCILE_MAX_API_CALLS",
  reconcileLookbackMinutes: "RECONCILE_LOOKBACK_MINUTES",
  reconcileMaxPendingMinutes: "RECONCILE_MAX_PENDING_MINUTES",
  deleteFromAssemblyAi: "DELETE_FROM_ASSEMBLYAI",
  retentionDays: "RETENTION_DAYS",
  usageTableName: "USAGE_TABLE_NAME",
  eventBusName: "EVENT_BUS_NAME",
  eventSource: "EVENT_SOURCE",
  eventsDeadLetterQueueUrl: "EVENTS_DLQ_URL",
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** How long a function keeps a secret before reading it again (SECRET_CACHE_TTL_SECONDS), and at most. */
export const DEFAULT_SECRET_CACHE_TTL_SECONDS = 300;
export const MAX_SECRET_CACHE_TTL_SECONDS = 86_400;

/**
 * How long the worker and the reconciler wait for one AssemblyAI request (ASSEMBLYAI_TIMEOUT_MS) by default,
 * and at least; each function sets its own maximum.
 */
export const DEFAULT_ASSEMBLYAI_TIMEOUT_MS = 10_000;
export const MIN_ASSEMBLYAI_TIMEOUT_MS = 100;

/** Value a placeholder API key secret holds until an operator runs `set-api-key`. */
export const API_KEY_PLACEHOLDER_PREFIX = "PLACEHOLDER";

/*
 * Each function's environment, defined once: which variables it gets and how each value derives from
 * references to its resources (CDK tokens at synth, the local stack's names and URLs) and from the resolved
 * settings. The CDK constructs (each reference passed by the construct that grants access to it), the local
 * stack (local/start.ts) and the benchmarks (bench/lib/local-stack.ts) all build environments with these.
 */

/** Every function carries its stack's name: the `Stack` dimension of its metrics (shared/telemetry.ts). */
export interface StackRef {
  readonly stackName: string;
}

export interface ReceiverRefs extends StackRef {
  readonly queueUrl: string;
  readonly webhookSecretArn: string;
  /** For claim checks only (inbox/): messages too large for SQS. */
  readonly bucketName: string;
}

export interface ReceiverSettings {
  readonly authHeaderName: string;
  /** Addresses and CIDR ranges; empty admits every source. */
  readonly allowedSourceIps: readonly string[];
  readonly redactedAudioHosts: readonly string[];
  readonly secretCacheTtlSeconds: number;
}

export function receiverEnvironment(refs: ReceiverRefs, settings: ReceiverSettings) {
  return {
    [ENV.stackName]: refs.stackName,
    [ENV.queueUrl]: refs.queueUrl,
    [ENV.webhookSecretArn]: refs.webhookSecretArn,
    [ENV.bucketName]: refs.bucketName,
    [ENV.authHeaderName]: settings.authHeaderName,
    [ENV.allowedSourceIps]: settings.allowedSourceIps.join(","),
    [ENV.redactedAudioHosts]: settings.redactedAudioHosts.join(","),
    [ENV.secretCacheTtlSeconds]: String(settings.secretCacheTtlSeconds),
  } as const satisfies Partial<Record<EnvName, string>>;
}

/** One AssemblyAI region a function reaches: where its API answers and the secret holding its key. */
export interface AssemblyAiRegionRef {
  /** `us` or `eu` (functions/shared/assemblyai.ts). */
  readonly region: string;
  /** The region's API when deployed, the simulator (or its `/eu` base path) locally. */
  readonly baseUrl: string;
  readonly apiKeySecretArn: string;
}

/** What the worker and the reconciler both reach: the queue, the store and AssemblyAI with its key. */
export interface ProcessingRefs extends StackRef {
  readonly queueUrl: string;
  readonly tableName: string;
  readonly bucketName: string;
  /**
   * The configured AssemblyAI regions, the first being where a delivery that names none is fetched from.
   * The first region's are also ASSEMBLYAI_BASE_URL and ASSEMBLYAI_API_KEY_SECRET_ARN, the variables of a
   * single-region stack (so its environment is what it always was); ASSEMBLYAI_REGIONS is set only for more.
   */
  readonly assemblyAiRegions: readonly [AssemblyAiRegionRef, ...AssemblyAiRegionRef[]];
}

/** ASSEMBLYAI_REGIONS's value: a JSON array of `{region, base_url, api_key_secret_arn}`, in order. */
export function serializeAssemblyAiRegions(regions: readonly AssemblyAiRegionRef[]): string {
  return JSON.stringify(
    regions.map((ref) => ({
      region: ref.region,
      base_url: ref.baseUrl,
      api_key_secret_arn: ref.apiKeySecretArn,
    })),
  );
}

function processingVariables(refs: ProcessingRefs) {
  const [first] = refs.assemblyAiRegions;
  return {
    [ENV.stackName]: refs.stackName,
    [ENV.queueUrl]: refs.queueUrl,
    [ENV.tableName]: refs.tableName,
    [ENV.bucketName]: refs.bucketName,
    [ENV.apiKeySecretArn]: first.apiKeySecretArn,
    [ENV.assemblyAiBaseUrl]: first.baseUrl,
    ...(refs.assemblyAiRegions.length > 1
      ? { [ENV.assemblyAiRegions]: serializeAssemblyAiRegions(refs.assemblyAiRegions) }
      : {}),
  } as const;
}

export interface WorkerRefs extends ProcessingRefs {
  /** The usage counters (USAGE_TABLE); the benchmarks' no-op stack has none, and counts nothing. */
  readonly usageTableName?: string;
}

export interface WorkerSettings {
  readonly inlineTextMaxBytes: number;
  readonly redactedAudioHosts: readonly string[];
  readonly retryBaseSeconds: number;
  /** DELETE each stored transcript at AssemblyAI (the worker then also sends to its queue). @default false */
  readonly deleteFromAssemblyAi?: boolean;
  /** Days a record lives (its `expires_at`, DynamoDB's time to live); undefined: forever. */
  readonly retentionDays?: number | undefined;
}

export function workerEnvironment(refs: WorkerRefs, settings: WorkerSettings) {
  return {
    ...processingVariables(refs),
    ...(refs.usageTableName !== undefined ? { [ENV.usageTableName]: refs.usageTableName } : {}),
    [ENV.inlineTextMaxBytes]: String(settings.inlineTextMaxBytes),
    [ENV.redactedAudioHosts]: settings.redactedAudioHosts.join(","),
    [ENV.retryBaseSeconds]: String(settings.retryBaseSeconds),
    // Set only when turned on, so a stack without them has the environment it always had.
    ...(settings.deleteFromAssemblyAi ? { [ENV.deleteFromAssemblyAi]: "true" } : {}),
    ...(settings.retentionDays !== undefined ? { [ENV.retentionDays]: String(settings.retentionDays) } : {}),
  } as const satisfies Partial<Record<EnvName, string>>;
}

export interface ReconcilerRefs extends ProcessingRefs {
  /** The stack's webhook URL, no query: transcripts addressed to it are ours. */
  readonly webhookUrl: string;
}

export interface ReconcilerSettings {
  readonly reconcileMaxApiCalls: number;
  readonly reconcileLookbackMinutes: number;
  readonly reconcileMaxPendingMinutes: number;
}

export function reconcilerEnvironment(refs: ReconcilerRefs, settings: ReconcilerSettings) {
  return {
    ...processingVariables(refs),
    [ENV.webhookUrl]: refs.webhookUrl,
    [ENV.reconcileMaxApiCalls]: String(settings.reconcileMaxApiCalls),
    [ENV.reconcileLookbackMinutes]: String(settings.reconcileLookbackMinutes),
    [ENV.reconcileMaxPendingMinutes]: String(settings.reconcileMaxPendingMinutes),
  } as const satisfies Partial<Record<EnvName, string>>;
}

export interface PublisherRefs extends StackRef {
  /** The bus's name, or its ARN when it is another account's or was given by ARN. */
  readonly eventBusName: string;
  /** Named in each event's detail: where its S3 keys are. */
  readonly bucketName: string;
  readonly eventsDeadLetterQueueUrl: string;
}

export interface PublisherSettings {
  /** The events' `source`. */
  readonly eventSource: string;
}

export function publisherEnvironment(refs: PublisherRefs, settings: PublisherSettings) {
  return {
    [ENV.stackName]: refs.stackName,
    [ENV.eventBusName]: refs.eventBusName,
    [ENV.bucketName]: refs.bucketName,
    [ENV.eventsDeadLetterQueueUrl]: refs.eventsDeadLetterQueueUrl,
    [ENV.eventSource]: settings.eventSource,
  } as const satisfies Partial<Record<EnvName, string>>;
}

export type ReceiverEnvironment = ReturnType<typeof receiverEnvironment>;
export type WorkerEnvironment = ReturnType<typeof workerEnvironment>;
export type ReconcilerEnvironment = ReturnType<typeof reconcilerEnvironment>;
export type PublisherEnvironment = ReturnType<typeof publisherEnvironment>;
