/**
 * The worker: fed by the delivery queue in batches with partial-batch failure reporting, capped in
 * concurrency so a burst of deliveries cannot exceed AssemblyAI's API rate limit.
 */
import { Duration, Validations } from "aws-cdk-lib";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Construct } from "constructs";
import { ASSEMBLYAI_BASE_URLS, type AssemblyAiRegion } from "../functions/shared/assemblyai";
import { ENV } from "../functions/shared/contract/environment";
import { WORKER_TIMEOUT_SECONDS } from "../functions/shared/contract/resources";
import type { DeliveryQueue } from "./delivery-queue";
import type { LogGroupSettings } from "./log-groups";
import type { TranscriptStore } from "./transcript-store";
import { WebhookFunction } from "./webhook-function";
import type { WebhookSecrets } from "./webhook-secrets";

export interface TranscriptWorkerProps extends LogGroupSettings {
  readonly queue: DeliveryQueue;
  readonly store: TranscriptStore;
  readonly secrets: WebhookSecrets;
  readonly assemblyAiRegion: AssemblyAiRegion;
  /** Checked again before any download: nothing on the queue may make the worker fetch another host. */
  readonly redactedAudioHosts: readonly string[];
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly memorySize: number;
  readonly inlineTextMaxBytes: number;
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
    worker.addEnvironment(ENV.assemblyAiBaseUrl, ASSEMBLYAI_BASE_URLS[props.assemblyAiRegion]);
    worker.addEnvironment(ENV.inlineTextMaxBytes, String(props.inlineTextMaxBytes));
    worker.addEnvironment(ENV.redactedAudioHosts, props.redactedAudioHosts.join(","));
    worker.addEnvironment(ENV.apiKeySecretArn, props.secrets.apiKeySecret.secretArn);
    props.secrets.grantReadApiKey(worker.role);
    props.store.bindWorker(worker);
    // The event source grants receive, delete and ChangeMessageVisibility (used for backoff) on this queue.
    worker.addEnvironment(ENV.queueUrl, props.queue.queue.queueUrl);
    worker.function.addEventSource(
      new SqsEventSource(props.queue.queue, {
        batchSize: props.batchSize,
        maxConcurrency: props.maxConcurrency,
        reportBatchItemFailures: true,
      }),
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
