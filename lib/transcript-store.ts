/**
 * Where transcripts end up: a DynamoDB table with one record per customer_id/order_id (and an index on
 * transcript_id), and an S3 bucket with the full transcript JSON, redacted audio and archived unknown
 * deliveries. Both are encrypted, TLS-only, backed up and retained by default.
 */
import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { ENV } from "../functions/shared/env";
import {
  BUCKET_PREFIXES,
  TABLE_PARTITION_KEY,
  TABLE_SORT_KEY,
  TRANSCRIPT_ID_ATTRIBUTE,
  TRANSCRIPT_ID_INDEX,
  TRANSCRIPT_ID_INDEX_ATTRIBUTES,
} from "./resource-spec";
import type { WebhookFunction } from "./webhook-function";

export interface TranscriptStoreProps {
  readonly removalPolicy: RemovalPolicy;
  /** @default - transcripts stay in S3 Standard */
  readonly transcriptsInfrequentAccessDays?: number;
  /** @default - transcripts are kept */
  readonly transcriptsExpireDays?: number;
  /** @default - redacted audio is kept */
  readonly redactedAudioExpireDays?: number;
}

export class TranscriptStore extends Construct {
  readonly table: dynamodb.Table;
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: TranscriptStoreProps) {
    super(scope, id);
    const retain = props.removalPolicy === RemovalPolicy.RETAIN;

    this.table = new dynamodb.Table(this, "Table", {
      partitionKey: { name: TABLE_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_SORT_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: retain,
      removalPolicy: props.removalPolicy,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TRANSCRIPT_ID_INDEX,
      partitionKey: { name: TRANSCRIPT_ID_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: TRANSCRIPT_ID_INDEX_ATTRIBUTES,
    });

    this.bucket = new s3.Bucket(this, "Bucket", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: retain,
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: !retain,
      lifecycleRules: lifecycleRules(props),
    });
    Validations.of(this.bucket).acknowledge({
      id: "AwsSolutions-S1",
      reason:
        "Only the worker role writes here, and reads go through IAM principals; enable CloudTrail S3 data " +
        "events for an access audit instead of a second bucket of server access logs.",
    });
  }

  /** The worker: read and write its record, write objects under the three prefixes it owns. */
  bindWorker(worker: WebhookFunction): void {
    worker.addEnvironment(ENV.tableName, this.table.tableName);
    worker.addEnvironment(ENV.bucketName, this.bucket.bucketName);
    // The table itself, not its index: `table.grant` would add `index/*` the worker never reads.
    worker.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        resources: [this.table.tableArn],
      }),
    );
    const objectArns = Object.values(BUCKET_PREFIXES).map((prefix) =>
      this.bucket.arnForObjects(`${prefix}*`),
    );
    worker.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["s3:PutObject", "s3:AbortMultipartUpload"],
        resources: objectArns,
      }),
    );
    const bucketLogicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    for (const prefix of Object.values(BUCKET_PREFIXES)) {
      Validations.of(worker.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
        reason:
          "Object keys are per transcript (transcripts/{customer}/{order}/{id}.json.gz), so the worker may " +
          `write any key under ${prefix} in this one bucket.`,
      });
    }
  }
}

function lifecycleRules(props: TranscriptStoreProps): s3.LifecycleRule[] {
  const rules: s3.LifecycleRule[] = [
    { id: "abort-incomplete-uploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
    { id: "expire-old-versions", noncurrentVersionExpiration: Duration.days(30) },
  ];
  if (props.transcriptsInfrequentAccessDays !== undefined || props.transcriptsExpireDays !== undefined) {
    rules.push({
      id: "transcripts",
      prefix: BUCKET_PREFIXES.transcripts,
      transitions:
        props.transcriptsInfrequentAccessDays === undefined
          ? undefined
          : [
              {
                storageClass: s3.StorageClass.INFREQUENT_ACCESS,
                transitionAfter: Duration.days(props.transcriptsInfrequentAccessDays),
              },
            ],
      expiration:
        props.transcriptsExpireDays === undefined ? undefined : Duration.days(props.transcriptsExpireDays),
    });
  }
  if (props.redactedAudioExpireDays !== undefined) {
    rules.push({
      id: "redacted-audio",
      prefix: BUCKET_PREFIXES.redactedAudio,
      expiration: Duration.days(props.redactedAudioExpireDays),
    });
  }
  return rules;
}
