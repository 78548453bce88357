/**
 * Where transcripts end up: a DynamoDB table with one record per customer_id/order_id (and an index on
 * transcript_id), and an S3 bucket with the full transcript JSON, redacted audio and archived unknown
 * deliveries. Both are encrypted, TLS-only, backed up and retained by default.
 */
import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import type { ReceiverRefs, WorkerRefs } from "../functions/shared/contract/environment";
import {
  BUCKET_PREFIXES,
  INBOX_EXPIRE_DAYS,
  INBOX_PREFIX,
  type IndexShape,
  type KeyAttribute,
  RECONCILER_PREFIX,
  type TableShape,
  TRANSCRIPT_TABLE,
  USAGE_TABLE,
} from "../functions/shared/contract/resources";
import { acknowledgeControl } from "./compliance";
import { createDataKey } from "./encryption-keys";
import type { WebhookFunction } from "./webhook-function";

export interface TranscriptStoreProps {
  readonly removalPolicy: RemovalPolicy;
  /**
   * Encrypt the bucket with a customer-managed KMS key (SSE-KMS with an S3 Bucket Key) instead of S3-managed
   * keys. Readers of the bucket then also need `kms:Decrypt` on the key.
   * @default false
   */
  readonly customerManagedKey?: boolean;
  /** @default - transcripts stay in S3 Standard */
  readonly transcriptsInfrequentAccessDays?: number;
  /** @default - transcripts are kept */
  readonly transcriptsExpireDays?: number;
  /** @default - redacted audio is kept */
  readonly redactedAudioExpireDays?: number;
  /**
   * Days records live (the table's time to live on `expires_at`, which the worker sets) and objects under
   * the record prefixes are kept (current versions; an expired one goes a day later), so that no object
   * outlives its record. The two settings above may only be shorter.
   * @default - records and their objects are kept forever
   */
  readonly retentionDays?: number;
}

export class TranscriptStore extends Construct {
  readonly table: dynamodb.Table;
  /** Usage counters per customer per day (USAGE_TABLE), moved by the worker with each record it stores. */
  readonly usageTable: dynamodb.Table;
  readonly bucket: s3.Bucket;
  /** Present when `customerManagedKey` is set. */
  readonly encryptionKey?: kms.Key;

  constructor(scope: Construct, id: string, props: TranscriptStoreProps) {
    super(scope, id);
    const retain = props.removalPolicy === RemovalPolicy.RETAIN;

    // Keys, index and billing from the contract, which the local stack creates its table from too.
    const shape = TRANSCRIPT_TABLE;
    this.table = new dynamodb.Table(this, "Table", {
      partitionKey: keyAttribute(shape.partitionKey),
      sortKey: shape.sortKey && keyAttribute(shape.sortKey),
      billingMode: BILLING_MODES[shape.billingMode],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: retain,
      removalPolicy: props.removalPolicy,
      // Erased orders' tombstones always carry it (contract/resources.ts), records with retentionDays.
      timeToLiveAttribute: shape.timeToLiveAttribute,
      // The events' outbox (contract/resources.ts, EVENT_STREAM): lib/event-publishing.ts reads it.
      stream: shape.streamViewType && STREAM_VIEW_TYPES[shape.streamViewType],
    });
    for (const index of shape.globalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: keyAttribute(index.partitionKey),
        sortKey: index.sortKey && keyAttribute(index.sortKey),
        projectionType: PROJECTION_TYPES[index.projection.type],
        nonKeyAttributes: [...index.projection.nonKeyAttributes],
      });
    }

    // Billing data: backed up, encrypted and kept like the records.
    this.usageTable = new dynamodb.Table(this, "UsageTable", {
      partitionKey: keyAttribute(USAGE_TABLE.partitionKey),
      sortKey: USAGE_TABLE.sortKey && keyAttribute(USAGE_TABLE.sortKey),
      billingMode: BILLING_MODES[USAGE_TABLE.billingMode],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: retain,
      removalPolicy: props.removalPolicy,
    });

    if (props.customerManagedKey) {
      this.encryptionKey = createDataKey(this, "BucketKey", {
        description: `Encrypts the ${Stack.of(this).stackName} transcript bucket`,
        removalPolicy: props.removalPolicy,
      });
    }
    this.bucket = new s3.Bucket(this, "Bucket", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      ...(this.encryptionKey
        ? {
            encryption: s3.BucketEncryption.KMS,
            encryptionKey: this.encryptionKey,
            // One data key per bucket rather than per object: far fewer KMS requests, at no extra charge.
            bucketKeyEnabled: true,
          }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: retain,
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: !retain,
      lifecycleRules: lifecycleRules(props),
    });
    // Object events go to the account's default EventBridge bus (free; nothing listens until you add a rule),
    // so consumers can react to stored transcripts. Set on the resource itself: the construct's
    // `eventBridgeEnabled` would deploy a custom-resource function to do the same.
    (this.bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };
    acknowledgeControl(this.bucket, "CT.S3.PR.2");
    acknowledgeControl(this.bucket, "CT.S3.PR.9");
    if (!retain) {
      acknowledgeControl(this.bucket, "CT.S3.PR.11");
      // CDK's own function that empties the bucket when the stack is deleted, one per stack.
      const emptier = Stack.of(this).node.tryFindChild("Custom::S3AutoDeleteObjectsCustomResourceProvider");
      if (emptier) acknowledgeControl(emptier, "CT.LAMBDA.PR.3");
    }
    if (!this.encryptionKey) acknowledgeControl(this.bucket, "CT.S3.PR.10");
    Validations.of(this.bucket).acknowledge({
      id: "AwsSolutions-S1",
      reason:
        "Only the worker role writes here, and reads go through IAM principals; enable CloudTrail S3 data " +
        "events for an access audit instead of a second bucket of server access logs.",
    });
  }

  /**
   * The receiver: write claim checks (messages too large for SQS) under the inbox prefix, nothing else.
   * Returns the bucket's name, the receiver's reference to it.
   */
  bindReceiver(receiver: WebhookFunction): Pick<ReceiverRefs, "bucketName"> {
    receiver.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["s3:PutObject"],
        resources: [this.bucket.arnForObjects(`${INBOX_PREFIX}*`)],
      }),
    );
    this.grantObjectEncryption(receiver.role);
    Validations.of(receiver.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.bucketLogicalId()}.Arn>/${INBOX_PREFIX}*]`,
      reason:
        "Claim checks are keyed per request (inbox/{day}/{received_at}-{request_id}.json), so the receiver " +
        `may write any key under ${INBOX_PREFIX} in this one bucket, and nothing else in it.`,
    });
    return { bucketName: this.bucket.bucketName };
  }

  private bucketLogicalId(): string {
    return Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
  }

  /**
   * The worker: read and write its record, write objects under the prefixes it owns, read claim checks. Returns the
   * table's and the bucket's names, the worker's references to them.
   */
  bindWorker(
    worker: WebhookFunction,
  ): Required<Pick<WorkerRefs, "tableName" | "bucketName" | "usageTableName">> {
    // The table itself, not its index: `table.grant` would add `index/*` the worker never reads.
    worker.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        resources: [this.table.tableArn],
      }),
    );
    // The counters: only added to (UpdateItem, inside the record's TransactWriteItems), never read.
    worker.role.addToPolicy(
      new iam.PolicyStatement({ actions: ["dynamodb:UpdateItem"], resources: [this.usageTable.tableArn] }),
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
    worker.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["s3:GetObject"],
        resources: [this.bucket.arnForObjects(`${INBOX_PREFIX}*`)],
      }),
    );
    this.grantObjectEncryption(worker.role);
    const bucketLogicalId = this.bucketLogicalId();
    Validations.of(worker.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${INBOX_PREFIX}*]`,
      reason: `The worker reads the claim check a queue message names, any key under ${INBOX_PREFIX}.`,
    });
    for (const prefix of Object.values(BUCKET_PREFIXES)) {
      Validations.of(worker.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
        reason:
          "Object keys are per transcript (transcripts/{customer}/{order}/{id}.json.gz), so the worker may " +
          `write any key under ${prefix} in this one bucket.`,
      });
    }
    return {
      tableName: this.table.tableName,
      bucketName: this.bucket.bucketName,
      usageTableName: this.usageTable.tableName,
    };
  }

  /**
   * A reader of what the pipeline stored (a consumer's function, a read client): `GetItem`, `BatchGetItem`
   * and `Query` on the table, `Query` on each of its indexes (named: the only action an index takes),
   * `GetObject` under the prefixes a record's keys point into, and with a customer-managed key `kms:Decrypt`
   * through S3 only. Nothing that writes, deletes, scans or lists keys (they carry customer ids).
   */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    const tableArn = this.table.tableArn;
    const grants = [
      iam.Grant.addToPrincipal({
        grantee,
        actions: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"],
        resourceArns: [tableArn],
      }),
      iam.Grant.addToPrincipal({
        grantee,
        actions: ["dynamodb:Query"],
        resourceArns: TRANSCRIPT_TABLE.globalSecondaryIndexes.map(
          (index) => `${tableArn}/index/${index.indexName}`,
        ),
      }),
      iam.Grant.addToPrincipal({
        grantee,
        actions: ["s3:GetObject"],
        resourceArns: READABLE_PREFIXES.map((prefix) => this.bucket.arnForObjects(`${prefix}*`)),
      }),
    ];
    if (this.encryptionKey) {
      grants.push(
        iam.Grant.addToPrincipal({
          grantee,
          actions: ["kms:Decrypt"],
          resourceArns: [this.encryptionKey.keyArn],
          conditions: { StringEquals: { "kms:ViaService": `s3.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
    // The wildcards are per-transcript keys under each prefix; acknowledged on the grantee's role when it is
    // a construct of this stack (in another stack the bucket's ARN is an import, which cdk-nag names otherwise).
    const principal = grantee.grantPrincipal;
    if (Construct.isConstruct(principal) && Stack.of(principal) === Stack.of(this)) {
      for (const prefix of READABLE_PREFIXES) {
        Validations.of(principal).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${this.bucketLogicalId()}.Arn>/${prefix}*]`,
          reason:
            "Object keys are per transcript (transcripts/{customer}/{order}/{id}.json.gz), so a reader of " +
            `transcripts may read any key under ${prefix} in this one bucket, and nothing else in it.`,
        });
      }
    }
    return grants.reduce((all, grant) => all.combine(grant));
  }

  /**
   * With a customer-managed key, what S3 needs on the caller's behalf to write and read objects (multipart
   * uploads read their parts' data keys back), through S3 only; nothing without one.
   */
  grantObjectEncryption(grantee: iam.IGrantable): void {
    if (!this.encryptionKey) return;
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: [this.encryptionKey.keyArn],
        conditions: { StringEquals: { "kms:ViaService": `s3.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }
}

/** Where a record's S3 keys point (the full transcript, redacted audio): what a reader of transcripts reads. */
const READABLE_PREFIXES = [BUCKET_PREFIXES.transcripts, BUCKET_PREFIXES.redactedAudio];

const ATTRIBUTE_TYPES: Record<KeyAttribute["type"], dynamodb.AttributeType> = {
  S: dynamodb.AttributeType.STRING,
  N: dynamodb.AttributeType.NUMBER,
  B: dynamodb.AttributeType.BINARY,
};
const BILLING_MODES: Record<TableShape["billingMode"], dynamodb.BillingMode> = {
  PAY_PER_REQUEST: dynamodb.BillingMode.PAY_PER_REQUEST,
};
const STREAM_VIEW_TYPES: Record<NonNullable<TableShape["streamViewType"]>, dynamodb.StreamViewType> = {
  NEW_AND_OLD_IMAGES: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
};
const PROJECTION_TYPES: Record<IndexShape["projection"]["type"], dynamodb.ProjectionType> = {
  INCLUDE: dynamodb.ProjectionType.INCLUDE,
};

function keyAttribute(attribute: KeyAttribute): dynamodb.Attribute {
  return { name: attribute.name, type: ATTRIBUTE_TYPES[attribute.type] };
}

function lifecycleRules(props: TranscriptStoreProps): s3.LifecycleRule[] {
  const rules: s3.LifecycleRule[] = [
    { id: "abort-incomplete-uploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
    { id: "expire-old-versions", noncurrentVersionExpiration: Duration.days(30) },
    // The checkpoint is overwritten every run (96 versions a day at the default schedule); an old one is
    // never read, so its versions go after a day, S3's shortest.
    // Claim checks: never deleted by code (a message can be received again), so expired here, after any
    // message could still name them (INBOX_EXPIRE_DAYS says why that long).
    {
      id: "expire-claim-checks",
      prefix: INBOX_PREFIX,
      expiration: Duration.days(INBOX_EXPIRE_DAYS),
      noncurrentVersionExpiration: Duration.days(1),
    },
    {
      id: "expire-old-checkpoints",
      prefix: RECONCILER_PREFIX,
      noncurrentVersionExpiration: Duration.days(1),
    },
  ];
  // With a retention, an expired current version becomes a noncurrent one (the bucket is versioned): it goes
  // a day later (S3's shortest), so that nothing outlives its record by more; without one, after 30 days.
  const retention = props.retentionDays;
  const noncurrent = retention === undefined ? undefined : Duration.days(1);
  const transcriptsExpire = props.transcriptsExpireDays ?? retention;
  if (props.transcriptsInfrequentAccessDays !== undefined || transcriptsExpire !== undefined) {
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
      expiration: transcriptsExpire === undefined ? undefined : Duration.days(transcriptsExpire),
      noncurrentVersionExpiration: noncurrent,
    });
  }
  const audioExpire = props.redactedAudioExpireDays ?? retention;
  if (audioExpire !== undefined) {
    rules.push({
      id: "redacted-audio",
      prefix: BUCKET_PREFIXES.redactedAudio,
      expiration: Duration.days(audioExpire),
      noncurrentVersionExpiration: noncurrent,
    });
  }
  return rules;
}
