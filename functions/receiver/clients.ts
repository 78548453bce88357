/**
 * The receiver's AWS clients, created once per execution environment. Their per-attempt limits come from the
 * receiver's time budget (config.ts), which says why they add up to an answer inside AssemblyAI's 10 s.
 */

import type { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { S3_ATTEMPTS, SECRETS_MANAGER_ATTEMPTS, SQS_ATTEMPTS } from "./config";
import { PerRequestRetryStrategy } from "./retry";

/**
 * `requestTimeout` alone only logs a warning in @smithy/node-http-handler 4.x; `throwOnRequestTimeout` makes
 * it fail the attempt so the SDK retries. The request timer starts when the request is made, so time spent
 * waiting for a free socket counts: on Lambda an instance serves one request at a time and never waits.
 */
function client(attempts: { maxAttempts: number; connectionTimeoutMs: number; requestTimeoutMs: number }) {
  return {
    maxAttempts: attempts.maxAttempts,
    retryStrategy: new PerRequestRetryStrategy(attempts.maxAttempts),
    requestHandler: new NodeHttpHandler({
      connectionTimeout: attempts.connectionTimeoutMs,
      requestTimeout: attempts.requestTimeoutMs,
      throwOnRequestTimeout: true,
    }),
  };
}

export const sqsClient = new SQSClient(client(SQS_ATTEMPTS));

/** Read on a cold cache only (then every SECRET_CACHE_TTL_SECONDS). */
export const secretsManagerClient = new SecretsManagerClient(client(SECRETS_MANAGER_ATTEMPTS));

export interface ObjectWrite {
  readonly bucket: string;
  readonly key: string;
  readonly body: string;
  readonly signal: AbortSignal;
}

let s3: Promise<{ client: S3Client; PutObjectCommand: typeof PutObjectCommand }> | undefined;

/**
 * PutObject, for claim checks only (a message over SQS's limit). The S3 client is imported on first use, a
 * separate chunk of the bundle, so the usual path's cold start loads and initialises none of it.
 */
export async function putObject(write: ObjectWrite): Promise<void> {
  s3 ??= import("@aws-sdk/client-s3").then((sdk) => ({
    client: new sdk.S3Client(client(S3_ATTEMPTS)),
    PutObjectCommand: sdk.PutObjectCommand,
  }));
  const { client: s3Client, PutObjectCommand: Put } = await s3;
  await s3Client.send(
    new Put({ Bucket: write.bucket, Key: write.key, Body: write.body, ContentType: "application/json" }),
    { abortSignal: write.signal },
  );
}
