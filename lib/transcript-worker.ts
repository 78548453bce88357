/**
 * The worker: fed by the delivery queue in batches with partial-batch failure reporting, capped in
 * concurrency so a burst of deliveries cannot exceed AssemblyAI's API rate limit.
 */
import { Duration, Stack, Validations } from "aws-cdk-lib";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Construct } from "constructs";
import { workerEnvironment } from "../functions/shared/contract/environment";
import { WORKER_TIMEOUT_SECONDS } from "../functions/shared/contract/resources";
import { DEFAULT_RETRY_BASE_SECONDS } from "../functions/worker/config";
import type { DeliveryQueue } from "./delivery-queue";
import type { LogGroupSettings } from "./log-groups";
import type { TranscriptStore } from "./transcript-store";
import { WebhookFunction } from "./webhook-function";
import { assemblyAiRegionRefs, type WebhookSecrets } from "./webhook-secrets";

export interface TranscriptWorkerProps extends LogGroupSettings {
  readonly queue: DeliveryQueue;
  readonly store: TranscriptStore;
  readonly secrets: WebhookSecrets;
  /** Checked again before any download: nothing on the queue may make the worker fetch another host. */
  readonly redactedAudioHosts: readonly string[];
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly memorySize: number;
  readonly inlineTextMaxBytes: number;
  /**
   * DELETE stored transcripts at AssemblyAI; a delete that fails is retried through the delivery queue, so
   * the worker may also send to it.
   * @default false
   */
  readonly deleteFromAssemblyAi?: boolean;
  /** @default - records never expire */
  readonly retentionDays?: number;
}

export class TranscriptWorker extends Construct {
  readonly worker: WebhookFunction;

  constructor(scope: Construct, id: string, props: TranscriptWorkerProps) {
    super(scope, id);

    this.worker = new WebhookFunction(this, "Worker", {
      entry: "worker",
      description: "Fetches transcripts from AssemblyAI and stores them in DynamoDB and S3",
      memorySize: props.memorySize,
      timeout: Duration.seconds(WORKER_TIMEOUT_SECONDS),
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
      logEncryptionKey: props.logEncryptionKey,
    });
    const worker = this.worker;
    // Every region's key; the function reaches each region's API (the simulator's locally).
    const assemblyAiRegions = assemblyAiRegionRefs(props.secrets.grantReadApiKeys(worker.role));
    const { tableName, bucketName, usageTableName } = props.store.bindWorker(worker);
    // The event source grants receive, delete and ChangeMessageVisibility (used for backoff) on this queue.
    worker.function.addEventSource(
      new SqsEventSource(props.queue.queue, {
        batchSize: props.batchSize,
        maxConcurrency: props.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    const queueUrl = props.queue.queue.queueUrl;
    // A failed AssemblyAI delete is retried later by a delayed message of its own on this queue.
    if (props.deleteFromAssemblyAi) props.queue.queue.grantSendMessages(worker.role);
    worker.setEnvironment(
      workerEnvironment(
        {
          stackName: Stack.of(this).stackName,
          queueUrl,
          tableName,
          bucketName,
          usageTableName,
          assemblyAiRegions,
        },
        {
          inlineTextMaxBytes: props.inlineTextMaxBytes,
          redactedAudioHosts: props.redactedAudioHosts,
          // Its default, set all the same: the local stack sets it (to 2 s), so both have the same variables.
          retryBaseSeconds: DEFAULT_RETRY_BASE_SECONDS,
          deleteFromAssemblyAi: props.deleteFromAssemblyAi,
          retentionDays: props.retentionDays,
        },
      ),
    );
    Validations.of(worker.function).acknowledge({
      id: "Serverless-LambdaEventSourceMappingDestination",
      reason:
        "An SQS event source takes no on-failure destination: exhausted records move to the queue's own " +
        "dead-letter queue through its redrive policy.",
    });
    Validations.of(worker.function).acknowledge({
      id: "Serverless-LambdaDLQ",
      reason:
        "Invoked by the SQS event source, not asynchronously: failed records return to the queue and its " +
        "redrive policy moves exhausted ones to the delivery dead-letter queue.",
    });
  }
}
