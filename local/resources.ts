/**
 * Creates the stack's stateful resources on the emulator from `lib/resource-spec.ts`, the same source the
 * CDK constructs build from: queue and DLQ with the same redrive and visibility, the table with the same
 * keys and index, the bucket, and the two secrets. Safe to run against resources that already exist.
 */
import { randomBytes } from "node:crypto";
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from "@aws-sdk/client-s3";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  DLQ_RETENTION_SECONDS,
  MAX_RECEIVE_COUNT,
  QUEUE_RETENTION_SECONDS,
  QUEUE_VISIBILITY_TIMEOUT_SECONDS,
  TABLE_PARTITION_KEY,
  TABLE_SORT_KEY,
  TRANSCRIPT_ID_ATTRIBUTE,
  TRANSCRIPT_ID_INDEX,
  TRANSCRIPT_ID_INDEX_ATTRIBUTES,
} from "../functions/shared/contract/resources";

export interface AwsTarget {
  readonly endpoint: string;
  readonly region: string;
}

export interface LocalResources {
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly tableName: string;
  readonly bucketName: string;
  readonly webhookSecretArn: string;
  readonly webhookSecretValue: string;
  readonly apiKeySecretArn: string;
}

export const LOCAL_NAMES = {
  queue: "assemblyai-webhooks-deliveries",
  dlq: "assemblyai-webhooks-deliveries-dlq",
  table: "assemblyai-webhooks-transcripts",
  bucket: "assemblyai-webhooks-local",
  webhookSecret: "assemblyai-webhooks/webhook-secret",
  apiKeySecret: "assemblyai-webhooks/assemblyai-api-key",
} as const;

/** The `Stack` dimension of the local functions' metrics. */
export const LOCAL_STACK_NAME = "local";
/** The account moto answers as. */
export const LOCAL_ACCOUNT_ID = "123456789012";

/** The access key a local function signs its AWS calls with: how the recorder tells them apart. */
export function localAccessKeyId(functionName: string): string {
  return `local-${functionName}`;
}

/** Emulators accept any credentials; the SDK only needs some to sign with. */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

export function clientConfig(target: AwsTarget) {
  return { endpoint: target.endpoint, region: target.region, credentials: LOCAL_CREDENTIALS };
}

export async function createResources(target: AwsTarget, apiKey: string): Promise<LocalResources> {
  const config = clientConfig(target);
  const sqs = new SQSClient(config);
  const dynamodb = new DynamoDBClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const secrets = new SecretsManagerClient(config);
  try {
    const dlq = await sqs.send(
      new CreateQueueCommand({
        QueueName: LOCAL_NAMES.dlq,
        Attributes: { MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS) },
      }),
    );
    const dlqUrl = required(dlq.QueueUrl, "dead-letter queue URL");
    const dlqAttributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }),
    );
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: LOCAL_NAMES.queue,
        Attributes: {
          VisibilityTimeout: String(QUEUE_VISIBILITY_TIMEOUT_SECONDS),
          MessageRetentionPeriod: String(QUEUE_RETENTION_SECONDS),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: required(dlqAttributes.Attributes?.QueueArn, "dead-letter queue ARN"),
            maxReceiveCount: MAX_RECEIVE_COUNT,
          }),
        },
      }),
    );

    await ignoring("ResourceInUseException", () =>
      dynamodb.send(
        new CreateTableCommand({
          TableName: LOCAL_NAMES.table,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [
            { AttributeName: TABLE_PARTITION_KEY, AttributeType: "S" },
            { AttributeName: TABLE_SORT_KEY, AttributeType: "S" },
            { AttributeName: TRANSCRIPT_ID_ATTRIBUTE, AttributeType: "S" },
          ],
          KeySchema: [
            { AttributeName: TABLE_PARTITION_KEY, KeyType: "HASH" },
            { AttributeName: TABLE_SORT_KEY, KeyType: "RANGE" },
          ],
          GlobalSecondaryIndexes: [
            {
              IndexName: TRANSCRIPT_ID_INDEX,
              KeySchema: [{ AttributeName: TRANSCRIPT_ID_ATTRIBUTE, KeyType: "HASH" }],
              Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: TRANSCRIPT_ID_INDEX_ATTRIBUTES },
            },
          ],
        }),
      ),
    );
    await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: LOCAL_NAMES.table });

    await ignoring(["BucketAlreadyOwnedByYou", "BucketAlreadyExists"], () =>
      s3.send(new CreateBucketCommand({ Bucket: LOCAL_NAMES.bucket })),
    );
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: LOCAL_NAMES.bucket,
        VersioningConfiguration: { Status: "Enabled" },
      }),
    );

    const webhookSecret = await ensureSecret(
      secrets,
      LOCAL_NAMES.webhookSecret,
      randomBytes(24).toString("hex"),
    );
    const apiKeySecret = await ensureSecret(secrets, LOCAL_NAMES.apiKeySecret, apiKey);

    return {
      queueUrl: required(queue.QueueUrl, "queue URL"),
      dlqUrl,
      tableName: LOCAL_NAMES.table,
      bucketName: LOCAL_NAMES.bucket,
      webhookSecretArn: webhookSecret.arn,
      webhookSecretValue: webhookSecret.value,
      apiKeySecretArn: apiKeySecret.arn,
    };
  } finally {
    for (const client of [sqs, dynamodb, s3, secrets]) client.destroy();
  }
}

async function ensureSecret(
  client: SecretsManagerClient,
  name: string,
  value: string,
): Promise<{ arn: string; value: string }> {
  try {
    const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    return { arn: required(created.ARN, `${name} ARN`), value };
  } catch (error) {
    if (!(error instanceof Error) || error.name !== "ResourceExistsException") throw error;
    // By stage: after UpdateSecretVersionStage moved AWSCURRENT, moto 5.2.1 still answers a read without
    // one with the version that held it before (its default version is not updated).
    const existing = await client.send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: "AWSCURRENT" }),
    );
    return { arn: required(existing.ARN, `${name} ARN`), value: required(existing.SecretString, name) };
  }
}

async function ignoring(names: string | string[], action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    const ignored = Array.isArray(names) ? names : [names];
    if (!(error instanceof Error) || !ignored.includes(error.name)) throw error;
  }
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the emulator returned no ${what}`);
  return value;
}
