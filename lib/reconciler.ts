/**
 * The reconciler: a function EventBridge runs on a schedule that finds finished transcripts addressed to this
 * stack whose webhook never got stored (AssemblyAI retries for only about 100 s) and queues them for the
 * worker. It reads the record table, sends to the delivery queue, reads the API key and keeps one checkpoint
 * object in the bucket: each reference in its environment taken from, or right after, exactly that grant.
 */
import { Duration, Stack, Validations } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { RECONCILER_NUMBERS } from "../functions/reconciler/config";
import { reconcilerEnvironment } from "../functions/shared/contract/environment";
import {
  checkpointKeyFor,
  FETCH_RETRY_INDEX,
  RECONCILER_TIMEOUT_SECONDS,
  TRANSCRIPT_ID_INDEX,
} from "../functions/shared/contract/resources";
import { ConfigError, functionWholeNumber } from "./config";
import type { DeliveryQueue } from "./delivery-queue";
import type { LogGroupSettings } from "./log-groups";
import type { TranscriptStore } from "./transcript-store";
import { WebhookFunction } from "./webhook-function";
import { assemblyAiRegionRefs, type WebhookSecrets } from "./webhook-secrets";

export interface ReconcilerProps extends LogGroupSettings {
  readonly queue: DeliveryQueue;
  readonly store: TranscriptStore;
  readonly secrets: WebhookSecrets;
  /** The stack's webhook URL, no query (`ReceiverApi.webhookUrl`): transcripts addressed to it are ours. */
  readonly webhookUrl: string;
  /**
   * Minutes between runs (1 to 1440).
   * @default 15
   */
  readonly scheduleMinutes?: number;
  /**
   * AssemblyAI requests (list pages and transcript reads) one run may make.
   * @default 200
   */
  readonly maxApiCalls?: number;
  /**
   * How far back the first run (no checkpoint yet) looks, in minutes.
   * @default 60
   */
  readonly lookbackMinutes?: number;
  /**
   * Function memory in MB: a transcript is read whole to learn its webhook_url, and a 10-hour one is 10+ MB.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Reserve a concurrency of 1 so two runs never overlap (overlapping runs are safe, only wasteful). Turn
   * it off in an account whose concurrency limit leaves no room to reserve (new accounts have 10).
   * @default true
   */
  readonly preventOverlappingRuns?: boolean;
}

export class Reconciler extends Construct {
  readonly reconciler: WebhookFunction;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    const scheduleMinutes = whole("scheduleMinutes", props.scheduleMinutes, 15, 1, 1440);
    // What the function reads back: parsed by its own parser, with its defaults and ranges.
    const maxApiCalls = functionWholeNumber(
      props.maxApiCalls,
      RECONCILER_NUMBERS.maxApiCalls,
      "Reconciler maxApiCalls",
    );
    const lookbackMinutes = functionWholeNumber(
      props.lookbackMinutes,
      RECONCILER_NUMBERS.lookbackMinutes,
      "Reconciler lookbackMinutes",
    );
    // How long a transcript still queued or processing may hold the checkpoint back: the function's default.
    const maxPendingMinutes = RECONCILER_NUMBERS.maxPendingMinutes.fallback;
    // A run never outlasts the interval, so scheduled runs do not pile up behind one another.
    const timeoutSeconds = Math.min(RECONCILER_TIMEOUT_SECONDS, scheduleMinutes * 60);

    this.reconciler = new WebhookFunction(this, "Reconciler", {
      entry: "reconciler",
      description: "Queues finished AssemblyAI transcripts whose webhook was never stored",
      memorySize: props.memorySize ?? 512,
      timeout: Duration.seconds(timeoutSeconds),
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
      logEncryptionKey: props.logEncryptionKey,
    });
    const fn = this.reconciler;
    const { table, bucket } = props.store;

    // Every region's key; the function reaches each region's API (the simulator's locally).
    const assemblyAiRegions = assemblyAiRegionRefs(props.secrets.grantReadApiKeys(fn.role));
    const queueUrl = props.queue.grantSend(fn.role);

    // Read only: the record of an order, the transcript_id index (stored transcripts cost no API call) and
    // the sparse index of fetch_failed records waiting to be queued again; never the table's own Query.
    fn.role.addToPolicy(
      new iam.PolicyStatement({ actions: ["dynamodb:GetItem"], resources: [table.tableArn] }),
    );
    fn.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:Query"],
        resources: [TRANSCRIPT_ID_INDEX, FETCH_RETRY_INDEX].map(
          (index) => `${table.tableArn}/index/${index}`,
        ),
      }),
    );
    const tableName = table.tableName;

    // One checkpoint per AssemblyAI region (a single-region stack's is the one it always had).
    const checkpointKeys = assemblyAiRegions.map((ref, index) => checkpointKeyFor(ref.region, index === 0));
    const single = <T>(values: T[]): T | T[] => (values.length === 1 ? (values[0] as T) : values);
    // The checkpoint objects and nothing else in the bucket. A GetObject of a missing key would answer 403,
    // not 404, without an unconditional ListBucket (which would reveal every key, and keys carry customer
    // ids), so the function lists exactly this key first (functions/reconciler/store.ts, readText): that
    // ListObjectsV2 carries s3:prefix, which the condition below pins to the keys.
    fn.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["s3:GetObject", "s3:PutObject"],
        resources: checkpointKeys.map((key) => bucket.arnForObjects(key)),
      }),
    );
    fn.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["s3:ListBucket"],
        resources: [bucket.bucketArn],
        conditions: { StringEquals: { "s3:prefix": single(checkpointKeys) } },
      }),
    );
    props.store.grantObjectEncryption(fn.role);
    const bucketName = bucket.bucketName;

    fn.setEnvironment(
      reconcilerEnvironment(
        {
          stackName: Stack.of(this).stackName,
          queueUrl,
          tableName,
          bucketName,
          assemblyAiRegions,
          webhookUrl: props.webhookUrl,
        },
        {
          reconcileMaxApiCalls: maxApiCalls,
          reconcileLookbackMinutes: lookbackMinutes,
          reconcileMaxPendingMinutes: maxPendingMinutes,
        },
      ),
    );

    if (props.preventOverlappingRuns ?? true) {
      (fn.function.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = 1;
    }
    // A run that could not start in time is dropped, not retried: the next scheduled run covers the same
    // window from the saved checkpoint, and a late run would only overlap it.
    fn.function.configureAsyncInvoke({
      retryAttempts: 0,
      // Lambda allows 60 s to 6 h; an event older than the interval is superseded by the next one anyway.
      maxEventAge: Duration.seconds(Math.min(21_600, Math.max(60, scheduleMinutes * 60))),
    });

    this.schedule = new events.Rule(this, "Schedule", {
      description: `Runs the AssemblyAI transcript reconciler every ${scheduleMinutes} minute(s)`,
      schedule: events.Schedule.rate(Duration.minutes(scheduleMinutes)),
      targets: [new targets.LambdaFunction(fn.function, { retryAttempts: 2 })],
    });

    Validations.of(this.schedule).acknowledge({
      id: "Serverless-EventBusDLQ",
      reason:
        "A scheduled tick carries no data: one EventBridge could not deliver needs no dead-letter queue, " +
        "because the next tick runs the same reconciliation from the saved checkpoint.",
    });
    Validations.of(fn.function).acknowledge({
      id: "Serverless-LambdaAsyncFailureDestination",
      reason:
        "A failed scheduled run has nothing to hand on: its progress is in the checkpoint, the next run " +
        "resumes from it, and the failure is logged and counted by the reconciler-errors alarm.",
    });
    Validations.of(fn.function).acknowledge({
      id: "Serverless-LambdaDLQ",
      reason:
        "Invoked asynchronously by the schedule only; a failed run needs no replay because the next run " +
        "starts from the checkpoint the failed one saved, and its error feeds the reconciler-errors alarm.",
    });
  }
}

function whole(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved < min || resolved > max) {
    throw new ConfigError(
      `Reconciler ${name} must be a whole number between ${min} and ${max}, got ${resolved}`,
    );
  }
  return resolved;
}
