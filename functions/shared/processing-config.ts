/** The configuration the worker and the reconciler share: their stack, queue, store and AssemblyAI access. */
import { ASSEMBLYAI_BASE_URLS } from "./assemblyai";
import { ENV } from "./contract/environment";
import {
  type Env,
  envVariable,
  optionalInteger,
  optionalString,
  parseHttpUrl,
  requireString,
  type WholeNumberSetting,
} from "./env";

export interface ProcessingConfig {
  /** The stack the function belongs to: the `Stack` dimension of every metric it emits. */
  readonly stackName: string;
  readonly tableName: string;
  readonly bucketName: string;
  readonly queueUrl: string;
  readonly apiKeySecretArn: string;
  /** Without a trailing slash; `/v2/transcript…` is appended. */
  readonly assemblyAiBaseUrl: string;
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
  const baseUrl = optionalString(env, ENV.assemblyAiBaseUrl, ASSEMBLYAI_BASE_URLS.us);
  return {
    stackName: requireString(env, ENV.stackName),
    tableName: requireString(env, ENV.tableName),
    bucketName: requireString(env, ENV.bucketName),
    queueUrl: requireString(env, ENV.queueUrl),
    apiKeySecretArn: requireString(env, ENV.apiKeySecretArn),
    assemblyAiBaseUrl: parseHttpUrl(baseUrl, envVariable(ENV.assemblyAiBaseUrl))
      .toString()
      .replace(/\/+$/, ""),
    assemblyAiTimeoutMs: optionalInteger(env, ENV.assemblyAiTimeoutMs, numbers.assemblyAiTimeoutMs),
    secretCacheTtlSeconds: optionalInteger(env, ENV.secretCacheTtlSeconds, numbers.secretCacheTtlSeconds),
  };
}
