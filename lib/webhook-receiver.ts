/**
 * The whole pipeline as one construct, for a CDK app of your own: API and receiver, queue, worker, store,
 * secrets, reconciler, events and monitoring. The standalone app (`bin/app.ts`, `lib/webhook-stack.ts`) is one stack
 * holding it.
 */
import { RemovalPolicy, Stack } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as events from "aws-cdk-lib/aws-events";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { apiKeySecretFor, resolveConfig, type WebhookStackConfig } from "./config";
import { DeliveryQueue } from "./delivery-queue";
import { createLogsKey } from "./encryption-keys";
import { EventPublishing } from "./event-publishing";
import type { LogGroupSettings } from "./log-groups";
import { Monitoring } from "./monitoring";
import { ReceiverApi } from "./receiver-api";
import { Reconciler } from "./reconciler";
import { TranscriptStore } from "./transcript-store";
import { TranscriptWorker } from "./transcript-worker";
import { WebhookSecrets } from "./webhook-secrets";

/**
 * The receiver's settings: the same as the standalone app's `cdk.json` context keys (README,
 * "Configuration"), each documented with its default in `WebhookStackConfig` (lib/config.ts), all optional.
 * They are validated as synth validates the context: a contradiction throws a `ConfigError` naming the prop.
 */
export type AssemblyAiWebhookReceiverProps = Partial<WebhookStackConfig>;

export class AssemblyAiWebhookReceiver extends Construct {
  /** The URL to give AssemblyAI as `webhook_url`, with `?customer_id=…&order_id=…` appended. */
  readonly webhookUrl: string;
  /** The record table: one item per customer_id/order_id, indexed by transcript_id. */
  readonly table: dynamodb.ITable;
  /** Usage counters: one item per customer_id per UTC day (README, "Usage per customer"). */
  readonly usageTable: dynamodb.ITable;
  /** The bucket of full transcripts, redacted audio, claim checks and archived deliveries. */
  readonly bucket: s3.IBucket;
  /**
   * The bucket's customer-managed key; readers need `kms:Decrypt` on it (`grantReadTranscripts` gives it).
   * @default - none: present only with `bucketKmsKey`
   */
  readonly bucketKey?: kms.IKey;
  /** Where deliveries the worker could not process after its retries wait (14 days) for a redrive. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The SNS topic every alarm notifies: subscribe your on-call to it. */
  readonly alarmTopic: sns.ITopic;
  /**
   * The bus the receiver publishes its events to (README, "Events"): its own, or the one `eventBusName`
   * names. Add rules to it for `source` = `eventSource`.
   */
  readonly eventBus: events.IEventBus;
  /**
   * Events EventBridge refused after the publisher's retries (kept whole: `aai-webhooks events redrive`),
   * and the stream's pointers to batches the publisher failed on; alarmed on (`events-dead-letters`).
   */
  readonly eventsDeadLetterQueue: sqs.IQueue;

  /** The settings with their defaults, as validated. */
  readonly config: WebhookStackConfig;
  /** The parts, for what a stack around the receiver reports (the standalone stack's outputs). */
  readonly secrets: WebhookSecrets;
  readonly queue: DeliveryQueue;
  readonly store: TranscriptStore;
  readonly receiverApi: ReceiverApi;
  readonly worker: TranscriptWorker;
  /** Absent when `reconcileScheduleMinutes` is 0. */
  readonly reconciler?: Reconciler;
  readonly events: EventPublishing;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: AssemblyAiWebhookReceiverProps = {}) {
    super(scope, id);
    refuseSecondReceiverIn(Stack.of(this), this);
    const config = resolveConfig(props);
    this.config = config;
    const removalPolicy = config.removalPolicy === "retain" ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logSettings: LogGroupSettings = {
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: removalPolicy,
      logEncryptionKey: config.logsKmsKey ? createLogsKey(this, "LogsKey", { removalPolicy }) : undefined,
    };

    this.secrets = new WebhookSecrets(this, "Secrets", {
      webhookSecretArn: config.webhookSecretArn,
      regions: config.assemblyAiRegion,
      apiKeySecrets: Object.fromEntries(
        config.assemblyAiRegion.map((region) => [region, apiKeySecretFor(config, region)]),
      ),
      importedSecretsKeyArn: config.secretsKmsKeyArn,
      removalPolicy,
    });
    this.queue = new DeliveryQueue(this, "Deliveries");
    this.store = new TranscriptStore(this, "Store", {
      removalPolicy,
      customerManagedKey: config.bucketKmsKey,
      transcriptsInfrequentAccessDays: config.transcriptsInfrequentAccessDays,
      transcriptsExpireDays: config.transcriptsExpireDays,
      redactedAudioExpireDays: config.redactedAudioExpireDays,
      retentionDays: config.retentionDays,
    });
    this.receiverApi = new ReceiverApi(this, "Api", {
      queue: this.queue,
      store: this.store,
      secrets: this.secrets,
      authHeaderName: config.authHeaderName,
      allowedSourceIps: config.allowedSourceIps,
      redactedAudioHosts: config.redactedAudioHosts,
      throttleRateLimit: config.throttleRateLimit,
      throttleBurstLimit: config.throttleBurstLimit,
      memorySize: config.receiverMemoryMb,
      ...logSettings,
    });
    this.worker = new TranscriptWorker(this, "Processing", {
      queue: this.queue,
      store: this.store,
      secrets: this.secrets,
      redactedAudioHosts: config.redactedAudioHosts,
      batchSize: config.workerBatchSize,
      maxConcurrency: config.workerMaxConcurrency,
      memorySize: config.workerMemoryMb,
      inlineTextMaxBytes: config.inlineTextMaxBytes,
      deleteFromAssemblyAi: config.deleteFromAssemblyAi,
      retentionDays: config.retentionDays,
      ...logSettings,
    });

    if (config.reconcileScheduleMinutes > 0) {
      this.reconciler = new Reconciler(this, "Reconciler", {
        queue: this.queue,
        store: this.store,
        secrets: this.secrets,
        webhookUrl: this.receiverApi.webhookUrl,
        scheduleMinutes: config.reconcileScheduleMinutes,
        maxApiCalls: config.reconcileMaxApiCalls,
        lookbackMinutes: config.reconcileLookbackMinutes,
        // Reserving concurrency fails to deploy on new accounts (limit 10); overlapping runs are safe.
        preventOverlappingRuns: false,
        ...logSettings,
      });
    }

    this.events = new EventPublishing(this, "Events", {
      eventBusName: config.eventBusName,
      eventSource: config.eventSource,
      store: this.store,
      ...logSettings,
    });

    this.monitoring = new Monitoring(this, "Monitoring", {
      api: this.receiverApi.api,
      receiver: this.receiverApi.receiver.function,
      worker: this.worker.worker.function,
      queue: this.queue.queue,
      deadLetterQueue: this.queue.deadLetterQueue,
      reconciler: this.reconciler?.reconciler.function,
      publisher: this.events.publisher.function,
      eventsDeadLetterQueue: this.events.deadLetterQueue,
      alarmEmail: config.alarmEmail,
      oldestMessageAlarmSeconds: config.oldestMessageAlarmSeconds,
      authFailureAlarmThreshold: config.authFailureAlarmThreshold,
      deleteFromAssemblyAi: config.deleteFromAssemblyAi,
    });

    this.webhookUrl = this.receiverApi.webhookUrl;
    this.table = this.store.table;
    this.usageTable = this.store.usageTable;
    this.bucket = this.store.bucket;
    this.bucketKey = this.store.encryptionKey;
    this.deadLetterQueue = this.queue.deadLetterQueue;
    this.alarmTopic = this.monitoring.alarmTopic;
    this.eventBus = this.events.eventBus;
    this.eventsDeadLetterQueue = this.events.deadLetterQueue;
  }

  /**
   * Lets `grantee` (an IAM principal of this account: a function, a role) read what the pipeline stored and
   * nothing else: `GetItem`, `BatchGetItem` and `Query` on the table, `Query` on its indexes, `GetObject`
   * under `transcripts/` and `redacted-audio/` (where a record's keys point), and with `bucketKmsKey`
   * `kms:Decrypt` on the bucket's key through S3 only. No write, delete, scan or listing of keys (they carry
   * customer ids).
   */
  grantReadTranscripts(grantee: iam.IGrantable): iam.Grant {
    return this.store.grantRead(grantee);
  }
}

/**
 * One receiver per stack: its alarms, dashboard and metric dimensions are named after the stack, so a second
 * one would collide with the first at deployment and mix their metrics.
 */
function refuseSecondReceiverIn(stack: Stack, receiver: AssemblyAiWebhookReceiver): void {
  const other = stack.node
    .findAll()
    .find(
      (construct) =>
        construct !== receiver &&
        construct instanceof AssemblyAiWebhookReceiver &&
        Stack.of(construct) === stack,
    );
  if (other) {
    throw new Error(
      `${receiver.node.path}: stack ${stack.stackName} already holds an AssemblyAiWebhookReceiver ` +
        `(${other.node.path}); its alarms, dashboard and metrics are named after the stack, so put each ` +
        "receiver in a stack of its own",
    );
  }
}
