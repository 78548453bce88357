/**
 * Creates the stack's stateful resources on the emulator from `functions/shared/contract/resources.ts`, the
 * same shapes the CDK constructs build from: queue and DLQ with the same redrive, visibility and retention,
 * the table with the same keys, billing, indexes and stream, the bucket, the two secrets, and the events'
 * bus, dead-letter queue and the queues a rule on the bus delivers every event to. Safe to run against
 * resources that already exist.
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
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from "@aws-sdk/client-s3";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
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
  /** The same again, for `npm start` to print (the events queue is for tools and tests to read). */
  readonly eventsPrinterQueueUrl: string;
}

/** What the events part needs to know: the source the rule on the bus matches. */
export interface LocalEventsOptions {
  readonly eventSource: string;
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
  eventsPrinterQueue: "assemblyai-webhooks-events-printed",
  eventsRule: "assemblyai-webhooks-all-events",
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
  events: LocalEventsOptions,
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

    const eventsResources = await createEventResources(eventBridge, sqs, events);

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
 * The whole event, as EventBridge delivers it to an SQS target with no input transformer. moto 5's default
 * delivery leaves out `account` (its default template lacks it), so the local targets spell the envelope out
 * in moto's template syntax (`<time>` unquoted: moto fills in epoch seconds, then writes them as ISO-8601).
 */
const WHOLE_EVENT = {
  InputPathsMap: {
    id: "$.id",
    "detail-type": "$.detail-type",
    source: "$.source",
    account: "$.account",
    time: "$.time",
    region: "$.region",
    resources: "$.resources",
    detail: "$.detail",
  },
  InputTemplate:
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", ' +
    '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, ' +
    '"detail": <detail>}',
};

/**
 * The bus (a bus of the stack's own, as the deployed stack makes by default), the events dead-letter queue,
 * and a rule matching the stack's source with two SQS targets: the events queue and the printer's. Each
 * queue's policy lets only that rule send, as a deployed SQS target's must (moto does not enforce it).
 */
async function createEventResources(
  eventBridge: EventBridgeClient,
  sqs: SQSClient,
  events: LocalEventsOptions,
): Promise<
  Pick<LocalResources, "eventBusName" | "eventsDlqUrl" | "eventsQueueUrl" | "eventsPrinterQueueUrl">
> {
  await ignoring("ResourceAlreadyExistsException", () =>
    eventBridge.send(new CreateEventBusCommand({ Name: LOCAL_NAMES.eventBus })),
  );
  const queue = async (name: string, attributes: Record<string, string> = {}) => {
    const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    const url = required(created.QueueUrl, `${name} URL`);
    const arn = required(
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] })))
        .Attributes?.QueueArn,
      `${name} ARN`,
    );
    return { url, arn };
  };
  const dlq = await queue(LOCAL_NAMES.eventsDlq, {
    MessageRetentionPeriod: String(EVENTS_DEAD_LETTER_QUEUE.retentionSeconds),
  });
  const eventsQueue = await queue(LOCAL_NAMES.eventsQueue);
  const printerQueue = await queue(LOCAL_NAMES.eventsPrinterQueue);
  const rule = await eventBridge.send(
    new PutRuleCommand({
      Name: LOCAL_NAMES.eventsRule,
      EventBusName: LOCAL_NAMES.eventBus,
      EventPattern: JSON.stringify({ source: [events.eventSource] }),
      State: "ENABLED",
      Description: "Every event the local stack publishes, to the events queue and the printer's",
    }),
  );
  const ruleArn = required(rule.RuleArn, "events rule ARN");
  for (const { url, arn } of [eventsQueue, printerQueue]) {
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: url,
        Attributes: {
          Policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" },
                Action: "sqs:SendMessage",
                Resource: arn,
                Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
              },
            ],
          }),
        },
      }),
    );
  }
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: LOCAL_NAMES.eventsRule,
      EventBusName: LOCAL_NAMES.eventBus,
      Targets: [
        { Id: "events-queue", Arn: eventsQueue.arn, InputTransformer: WHOLE_EVENT },
        { Id: "printer", Arn: printerQueue.arn, InputTransformer: WHOLE_EVENT },
      ],
    }),
  );
  return {
    eventBusName: LOCAL_NAMES.eventBus,
    eventsDlqUrl: dlq.url,
    eventsQueueUrl: eventsQueue.url,
    eventsPrinterQueueUrl: printerQueue.url,
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
