/** The whole pipeline in one stack: API and receiver, queue, worker, store, secrets and monitoring. */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { apiKeySecretOutputKey } from "../functions/shared/contract/resources";
import { apiKeySecretFor, type WebhookStackConfig } from "./config";
import { DeliveryQueue } from "./delivery-queue";
import { createLogsKey } from "./encryption-keys";
import type { LogGroupSettings } from "./log-groups";
import { Monitoring } from "./monitoring";
import { ReceiverApi } from "./receiver-api";
import { Reconciler } from "./reconciler";
import { TranscriptStore } from "./transcript-store";
import { TranscriptWorker } from "./transcript-worker";
import { WebhookSecrets } from "./webhook-secrets";

export interface WebhookStackProps extends StackProps {
  readonly config: WebhookStackConfig;
}

export class WebhookStack extends Stack {
  readonly secrets: WebhookSecrets;
  readonly queue: DeliveryQueue;
  readonly store: TranscriptStore;
  readonly receiverApi: ReceiverApi;
  readonly worker: TranscriptWorker;
  /** Absent when `reconcileScheduleMinutes` is 0. */
  readonly reconciler?: Reconciler;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: WebhookStackProps) {
    super(scope, id, props);
    const { config } = props;
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

    this.monitoring = new Monitoring(this, "Monitoring", {
      api: this.receiverApi.api,
      receiver: this.receiverApi.receiver.function,
      worker: this.worker.worker.function,
      queue: this.queue.queue,
      deadLetterQueue: this.queue.deadLetterQueue,
      reconciler: this.reconciler?.reconciler.function,
      alarmEmail: config.alarmEmail,
      oldestMessageAlarmSeconds: config.oldestMessageAlarmSeconds,
      authFailureAlarmThreshold: config.authFailureAlarmThreshold,
    });

    const outputs: Record<string, [string, string]> = {
      WebhookUrl: [this.receiverApi.webhookUrl, "webhook_url for AssemblyAI; add ?customer_id=…&order_id=…"],
      AuthHeaderName: [config.authHeaderName, "webhook_auth_header_name for AssemblyAI"],
      AssemblyAiRegion: [
        config.assemblyAiRegion.join(","),
        config.assemblyAiRegion.length === 1
          ? "AssemblyAI region the worker fetches from (us or eu)"
          : "AssemblyAI regions the worker fetches from, the default first",
      ],
      WebhookSecretArn: [this.secrets.webhookSecret.secretArn, "Secret holding webhook_auth_header_value"],
      WebhookSecretCacheTtlSeconds: [
        String(this.receiverApi.secretCacheTtlSeconds),
        "How long a receiver keeps the webhook secret's values (rotate-secret waits for it)",
      ],
      ApiKeySecretArn: [this.secrets.apiKeySecret.secretArn, "Secret holding the AssemblyAI API key"],
      // Each further region's key (the first region's is ApiKeySecretArn, as on a single-region stack).
      ...Object.fromEntries(
        this.secrets.apiKeySecrets
          .slice(1)
          .map(({ region, secret }) => [
            apiKeySecretOutputKey(region),
            [secret.secretArn, `Secret holding the AssemblyAI API key of the ${region.toUpperCase()} region`],
          ]),
      ),
      TableName: [this.store.table.tableName, "DynamoDB table of transcript records"],
      BucketName: [this.store.bucket.bucketName, "S3 bucket of full transcripts and redacted audio"],
      QueueUrl: [this.queue.queue.queueUrl, "Delivery queue URL"],
      QueueName: [this.queue.queue.queueName, "Delivery queue name"],
      DeadLetterQueueUrl: [this.queue.deadLetterQueue.queueUrl, "Dead-letter queue URL"],
      DeadLetterQueueName: [this.queue.deadLetterQueue.queueName, "Dead-letter queue name"],
      DashboardName: [this.monitoring.dashboard.dashboardName, "CloudWatch dashboard of the pipeline"],
      DashboardUrl: [this.monitoring.dashboardUrl, "CloudWatch dashboard in the AWS console"],
      AlarmTopicArn: [this.monitoring.alarmTopic.topicArn, "SNS topic every alarm notifies; subscribe to it"],
    };
    if (this.store.encryptionKey) {
      outputs.BucketKeyArn = [
        this.store.encryptionKey.keyArn,
        "KMS key of the bucket; readers need kms:Decrypt",
      ];
    }
    for (const [name, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, name, { value, description });
    }
  }
}
