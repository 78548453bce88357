/**
 * Where the stack tells the rest of a team's system what it stored: an EventBridge bus (its own, or one
 * given by name or ARN) that gets one event per committed change of a record (functions/shared/contract/events.ts).
 *
 * The record table's DynamoDB stream is the outbox: a Lambda function (functions/publisher) reads it through
 * an event source mapping and puts the events. Why not EventBridge Pipes (stream → bus, no code): a pipe
 * cannot tell a change from a write that changed nothing (a duplicate delivery, a reconciler note) without
 * an enrichment Lambda anyway, cannot build one stable `id` per change, nor batch PutEvents itself; and the
 * function's own dead-letter queue keeps each refused event whole, ready to be put again, where a pipe's
 * keeps a pointer into a stream that forgets after 24 hours. The stream record is written with the commit,
 * so a worker that dies right after its write still gets its event out (README, "Events").
 */
import { Duration, Stack, Validations } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { publisherEnvironment } from "../functions/shared/contract/environment";
import {
  EVENT_STREAM,
  EVENTS_DEAD_LETTER_QUEUE,
  PUBLISHER_TIMEOUT_SECONDS,
} from "../functions/shared/contract/resources";
import type { LogGroupSettings } from "./log-groups";
import type { TranscriptStore } from "./transcript-store";
import { WebhookFunction } from "./webhook-function";

export interface EventPublishingProps extends LogGroupSettings {
  /** Name or ARN of an existing bus. @default - a bus of the stack's own */
  readonly eventBusName?: string | undefined;
  /** The events' `source`. */
  readonly eventSource: string;
  /** Its table's stream feeds the publisher; its bucket is named in each event. */
  readonly store: TranscriptStore;
  /** @default 256 */
  readonly memorySize?: number;
}

export class EventPublishing extends Construct {
  readonly eventBus: events.IEventBus;
  /** Events EventBridge refused after the publisher's retries, and the stream's pointers to failed batches. */
  readonly deadLetterQueue: sqs.Queue;
  readonly publisher: WebhookFunction;

  constructor(scope: Construct, id: string, props: EventPublishingProps) {
    super(scope, id);
    const given = props.eventBusName;
    this.eventBus =
      given === undefined
        ? new events.EventBus(this, "Bus", {
            description: "Transcript Stored, Transcript Failed and Redacted Audio Stored events",
          })
        : given.startsWith("arn:")
          ? events.EventBus.fromEventBusArn(this, "Bus", given)
          : events.EventBus.fromEventBusName(this, "Bus", given);

    // Not "DeadLetterQueue": the delivery queue's is the stack's one queue of that name.
    this.deadLetterQueue = new sqs.Queue(this, "FailedEvents", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(EVENTS_DEAD_LETTER_QUEUE.retentionSeconds),
      // Declares it a dead-letter queue (Control Tower's CT.SQS.PR.1), as the delivery queue's is.
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: "Serverless-SQSRedrivePolicy",
      reason:
        "This queue is the events' dead-letter queue itself; `aai-webhooks events redrive` puts its events " +
        "on the bus again.",
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: "AwsSolutions-SQS3",
      reason:
        "This queue is a dead-letter queue (the publisher's and its event source mapping's on-failure " +
        "destination); a queue behind it would only move the same messages.",
    });

    this.publisher = new WebhookFunction(this, "Publisher", {
      entry: "publisher",
      description: "Publishes an EventBridge event for each committed change of a transcript record",
      memorySize: props.memorySize ?? 256,
      timeout: Duration.seconds(PUBLISHER_TIMEOUT_SECONDS),
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
      logEncryptionKey: props.logEncryptionKey,
    });
    const fn = this.publisher;

    // PutEvents on this bus, and only with the stack's own source: a leaked role cannot impersonate
    // another producer on a shared bus. events:source holds every entry's source (a multivalued key), so
    // each must be ours, and there must be some (ForAllValues alone would admit a request without any).
    fn.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["events:PutEvents"],
        resources: [this.eventBus.eventBusArn],
        conditions: {
          "ForAllValues:StringEquals": { "events:source": [props.eventSource] },
          Null: { "events:source": "false" },
        },
      }),
    );
    this.deadLetterQueue.grantSendMessages(fn.role);

    // Lambda's event source mapping reads the stream with the function's role (DescribeStream, GetRecords,
    // GetShardIterator on the stream, ListStreams; granted by the event source) and sends its pointers to
    // failed batches to the same dead-letter queue.
    fn.function.addEventSource(
      new DynamoEventSource(props.store.table, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: EVENT_STREAM.batchSize,
        retryAttempts: EVENT_STREAM.retryAttempts,
        bisectBatchOnError: EVENT_STREAM.bisectBatchOnError,
        reportBatchItemFailures: true,
        // One batch at a time per shard: a record's changes are published in the order they were committed.
        parallelizationFactor: 1,
        filters: [lambda.FilterCriteria.filter({ eventName: [...EVENT_STREAM.filterPattern.eventName] })],
        onFailure: new SqsDlq(this.deadLetterQueue),
      }),
    );
    Validations.of(fn.role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "dynamodb:ListStreams supports no resource-level permissions; Lambda's event source mapping needs " +
        "it to read the table's stream (the stream's own actions name the stream).",
    });
    Validations.of(fn.function).acknowledge({
      id: "Serverless-LambdaDLQ",
      reason:
        "Invoked by a DynamoDB stream event source mapping only, whose on-failure destination is the " +
        "events dead-letter queue; a function DLQ applies to asynchronous invocations, which it has none of.",
    });

    fn.setEnvironment(
      publisherEnvironment(
        {
          stackName: Stack.of(this).stackName,
          // PutEvents takes a name or an ARN; a bus given by ARN (maybe another account's) keeps its ARN.
          eventBusName: given ?? this.eventBus.eventBusName,
          bucketName: props.store.bucket.bucketName,
          eventsDeadLetterQueueUrl: this.deadLetterQueue.queueUrl,
        },
        { eventSource: props.eventSource },
      ),
    );
  }
}
