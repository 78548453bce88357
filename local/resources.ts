/**
 * Creates the stack's stateful resources on the emulator from `functions/shared/contract/resources.ts`, the
 * same shapes the CDK constructs build from: queue and DLQ with the same redrive, visibility and retention,
 * the table with the same keys, billing, indexes and stream, the bucket, the two secrets, and the events'
 * bus, dead-letter queue and the queue every event is delivered to. Safe to run against resources that
 * already exist.
 */
import { randomBytes } from "node:crypto";
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  type KeySchemaElement,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { CreateEventBusCommand, EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from "@aws-sdk/client-s3";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { AssemblyAiRegion } from "../functions/shared/assemblyai";
import {
  DEAD_LETTER_QUEUE,
  DELIVERY_QUEUE,
  EVENTS_DEAD_LETTER_QUEUE,
  EXPIRES_AT_ATTRIBUTE,
  type KeyAttribute,
  type TableShape,
  TRANSCRIPT_TABLE,
  USAGE_TABLE,
  type UsageTableShape,
} from "../functions/shared/contract/resources";

export interface AwsTarget {
  readonly endpoint: string;
  readonly region: string;
}

export interface LocalResources {
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly tableName: string;
  readonly usageTableName: string;
  readonly bucketName: string;
  readonly webhookSecretArn: string;
  readonly webhookSecretValue: string;
  /** The first region's API key secret. */
  readonly apiKeySecretArn: string;
  /** Every region's, the first region's first (the same secret as apiKeySecretArn). */
  readonly apiKeySecrets: readonly [LocalApiKeySecret, ...LocalApiKeySecret[]];
  /** The record table's stream: the publisher's event source (local/stream-poller.ts). */
  readonly tableStreamArn: string;
  readonly eventBusName: string;
  /** Events refused after the publisher's retries, and the stream poller's pointers to failed batches. */
  readonly eventsDlqUrl: string;
  /** Every event on the bus with the stack's source, as EventBridge delivers to an SQS target. */
  readonly eventsQueueUrl: string;
}

export interface LocalApiKeySecret {
  readonly region: AssemblyAiRegion;
  readonly arn: string;
}

/**
 * The local name of a region's API key secret: the first region's is the one a single-region stack always
 * had, a further region's gets the region as a suffix (`…/assemblyai-api-key-eu`).
 */
export function localApiKeySecretName(region: AssemblyAiRegion, first: boolean): string {
  return first ? LOCAL_NAMES.apiKeySecret : `${LOCAL_NAMES.apiKeySecret}-${region}`;
}

export const LOCAL_NAMES = {
  queue: "assemblyai-webhooks-deliveries",
  dlq: "assemblyai-webhooks-deliveries-dlq",
  table: "assemblyai-webhooks-transcripts",
  usageTable: "assemblyai-webhooks-usage",
  bucket: "assemblyai-webhooks-local",
  webhookSecret: "assemblyai-webhooks/webhook-secret",
  apiKeySecret: "assemblyai-webhooks/assemblyai-api-key",
  eventBus: "assemblyai-webhooks-events",
  eventsDlq: "assemblyai-webhooks-events-dlq",
  eventsQueue: "assemblyai-webhooks-events",
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

/**
 * Creates the queue, table, bucket and secrets; `apiKeys` is each configured region's AssemblyAI key, the
 * first region's first.
 */
export async function createResources(
  target: AwsTarget,
  apiKeys: readonly [
    { readonly region: AssemblyAiRegion; readonly apiKey: string },
    ...{ readonly region: AssemblyAiRegion; readonly apiKey: string }[],
  ],
): Promise<LocalResources> {
  const config = clientConfig(target);
  const eventBridge = new EventBridgeClient(config);
  const sqs = new SQSClient(config);
  const dynamodb = new DynamoDBClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const secrets = new SecretsManagerClient(config);
  try {
    const dlq = await sqs.send(
      new CreateQueueCommand({ QueueName: LOCAL_NAMES.dlq, Attributes: deadLetterQueueAttributes() }),
    );
    const dlqUrl = required(dlq.QueueUrl, "dead-letter queue URL");
    const dlqAttributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }),
    );
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: LOCAL_NAMES.queue,
        Attributes: deliveryQueueAttributes(
          required(dlqAttributes.Attributes?.QueueArn, "dead-letter queue ARN"),
        ),
      }),
    );

    await ignoring("ResourceInUseException", () =>
      dynamodb.send(new CreateTableCommand(createTableInput(LOCAL_NAMES.table, TRANSCRIPT_TABLE))),
    );
    await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: LOCAL_NAMES.table });
    const described = await dynamodb.send(new DescribeTableCommand({ TableName: LOCAL_NAMES.table }));
    const tableStreamArn = required(described.Table?.LatestStreamArn, "table stream ARN");
    // Always on, as on AWS (lib/transcript-store.ts): tombstones carry the attribute, records with retentionDays.
    await ignoring("ValidationException", () =>
      dynamodb.send(
        new UpdateTimeToLiveCommand({
          TableName: LOCAL_NAMES.table,
          TimeToLiveSpecification: { AttributeName: EXPIRES_AT_ATTRIBUTE, Enabled: true },
        }),
      ),
    );
    await ignoring("ResourceInUseException", () =>
      dynamodb.send(new CreateTableCommand(createTableInput(LOCAL_NAMES.usageTable, USAGE_TABLE))),
    );
    await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: LOCAL_NAMES.usageTable });

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
    const apiKeySecrets: LocalApiKeySecret[] = [];
    for (const [index, { region, apiKey }] of apiKeys.entries()) {
      const secret = await ensureSecret(secrets, localApiKeySecretName(region, index === 0), apiKey);
      apiKeySecrets.push({ region, arn: secret.arn });
    }
    const [apiKeySecret] = apiKeySecrets as [LocalApiKeySecret, ...LocalApiKeySecret[]];

    const eventsResources = await createEventResources(eventBridge, sqs);

    return {
      queueUrl: required(queue.QueueUrl, "queue URL"),
      dlqUrl,
      tableName: LOCAL_NAMES.table,
      usageTableName: LOCAL_NAMES.usageTable,
      bucketName: LOCAL_NAMES.bucket,
      webhookSecretArn: webhookSecret.arn,
      webhookSecretValue: webhookSecret.value,
      apiKeySecretArn: apiKeySecret.arn,
      apiKeySecrets: apiKeySecrets as [LocalApiKeySecret, ...LocalApiKeySecret[]],
      tableStreamArn,
      ...eventsResources,
    };
  } finally {
    for (const client of [eventBridge, sqs, dynamodb, s3, secrets]) client.destroy();
  }
}

/**
 * The bus (a bus of the stack's own, as the deployed stack makes by default), the events dead-letter queue,
 * and the events queue: local/event-bus-tap.ts stands in for a rule on the stack's source whose SQS target
 * it is (moto's own rule delivery is too slow to run under load: see there).
 */
async function createEventResources(
  eventBridge: EventBridgeClient,
  sqs: SQSClient,
): Promise<Pick<LocalResources, "eventBusName" | "eventsDlqUrl" | "eventsQueueUrl">> {
  await ignoring("ResourceAlreadyExistsException", () =>
    eventBridge.send(new CreateEventBusCommand({ Name: LOCAL_NAMES.eventBus })),
  );
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: LOCAL_NAMES.eventsDlq,
      Attributes: { MessageRetentionPeriod: String(EVENTS_DEAD_LETTER_QUEUE.retentionSeconds) },
    }),
  );
  const eventsQueue = await sqs.send(new CreateQueueCommand({ QueueName: LOCAL_NAMES.eventsQueue }));
  return {
    eventBusName: LOCAL_NAMES.eventBus,
    eventsDlqUrl: required(dlq.QueueUrl, "events dead-letter queue URL"),
    eventsQueueUrl: required(eventsQueue.QueueUrl, "events queue URL"),
  };
}

/** The delivery queue's SQS attributes, redriving to the dead-letter queue with this ARN. */
export function deliveryQueueAttributes(deadLetterQueueArn: string): Record<string, string> {
  return {
    VisibilityTimeout: String(DELIVERY_QUEUE.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(DELIVERY_QUEUE.retentionSeconds),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: deadLetterQueueArn,
      maxReceiveCount: DELIVERY_QUEUE.maxReceiveCount,
    }),
  };
}

export function deadLetterQueueAttributes(): Record<string, string> {
  return { MessageRetentionPeriod: String(DEAD_LETTER_QUEUE.retentionSeconds) };
}

/** CreateTable's input for a table of this shape: every key attribute defined once, keys and indexes. */
export function createTableInput(
  tableName: string,
  shape: UsageTableShape & Pick<TableShape, "streamViewType">,
): CreateTableCommandInput {
  const keys = [shape, ...shape.globalSecondaryIndexes].flatMap((keyed) =>
    keyed.sortKey ? [keyed.partitionKey, keyed.sortKey] : [keyed.partitionKey],
  );
  const definitions = new Map<string, AttributeDefinition>(
    keys.map((key) => [key.name, { AttributeName: key.name, AttributeType: key.type }]),
  );
  return {
    TableName: tableName,
    BillingMode: shape.billingMode,
    AttributeDefinitions: [...definitions.values()],
    KeySchema: keySchema(shape.partitionKey, shape.sortKey),
    ...(shape.streamViewType === undefined
      ? {}
      : { StreamSpecification: { StreamEnabled: true, StreamViewType: shape.streamViewType } }),
    ...(shape.globalSecondaryIndexes.length === 0
      ? {}
      : {
          GlobalSecondaryIndexes: shape.globalSecondaryIndexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection: {
              ProjectionType: index.projection.type,
              NonKeyAttributes: [...index.projection.nonKeyAttributes],
            },
          })),
        }),
  };
}

function keySchema(partitionKey: KeyAttribute, sortKey: KeyAttribute | undefined): KeySchemaElement[] {
  const hash: KeySchemaElement = { AttributeName: partitionKey.name, KeyType: "HASH" };
  return sortKey ? [hash, { AttributeName: sortKey.name, KeyType: "RANGE" }] : [hash];
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
