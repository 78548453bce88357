import { Match } from "aws-cdk-lib/assertions";
import { ENV } from "../../functions/shared/contract/environment";
import {
  CHECKPOINT_KEY,
  DLQ_RETENTION_SECONDS,
  INBOX_EXPIRE_DAYS,
  INBOX_PREFIX,
  MAX_RECEIVE_COUNT,
  QUEUE_RETENTION_SECONDS,
  RECONCILER_PREFIX,
  VISIBILITY_TIMEOUT_FACTOR,
  WORKER_TIMEOUT_SECONDS,
} from "../../functions/shared/contract/resources";
import { DEFAULT_RETRY_BASE_SECONDS } from "../../functions/worker/config";
import { templateFor } from "./synth";

type Resource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };

const template = templateFor();
const resources = template.toJSON().Resources as Record<string, Resource>;

function resource(id: string): Resource {
  const found = resources[id];
  if (!found) throw new Error(`no resource ${id}`);
  return found;
}

function logicalId(type: string, pattern: RegExp): string {
  const ids = Object.keys(resources).filter((id) => resources[id]?.Type === type && pattern.test(id));
  if (ids.length !== 1) throw new Error(`expected one ${type} matching ${pattern}, found ${ids.join(", ")}`);
  return ids[0] as string;
}

const receiverId = logicalId("AWS::Lambda::Function", /Receiver/);
const workerId = logicalId("AWS::Lambda::Function", /Worker/);
const queueId = logicalId("AWS::SQS::Queue", /DeliveriesQueue/);
const dlqId = logicalId("AWS::SQS::Queue", /DeadLetterQueue/);
const tableId = logicalId("AWS::DynamoDB::Table", /^StoreTable/);
const bucketId = logicalId("AWS::S3::Bucket", /Bucket/);

/** Every IAM statement attached to a function's role, flattened. */
function statementsOf(functionId: string): Array<{ Action: string | string[]; Resource: unknown }> {
  const roleRef = (resource(functionId).Properties.Role as { "Fn::GetAtt": [string, string] })[
    "Fn::GetAtt"
  ][0];
  return Object.values(resources)
    .filter((r) => r.Type === "AWS::IAM::Policy")
    .filter((r) => JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleRef }]))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: [] }).Statement);
}

function actionsOf(functionId: string): string[] {
  return statementsOf(functionId)
    .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
    .sort();
}

describe("functions", () => {
  it.each([
    ["receiver", receiverId, 256, 10],
    ["worker", workerId, 512, WORKER_TIMEOUT_SECONDS],
  ])(
    "the %s runs Node.js 24 on arm64 with explicit memory, timeout and its own log group",
    (_n, id, memory, timeout) => {
      expect(resource(id).Properties).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Handler: "index.handler",
        MemorySize: memory,
        Timeout: timeout,
        LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/Logs/) } },
      });
    },
  );

  it("trace the worker with X-Ray, and not the receiver, which has nothing to trace", () => {
    expect(resource(workerId).Properties.TracingConfig).toEqual({ Mode: "Active" });
    expect(resource(receiverId).Properties).not.toHaveProperty("TracingConfig");
  });

  it("give every log group a retention", () => {
    template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
    expect(Object.keys(template.findResources("AWS::Logs::LogGroup"))).toHaveLength(5);
  });

  it("use no managed policy: each role can write only its own log group besides its grants", () => {
    template.allResourcesProperties("AWS::IAM::Role", { ManagedPolicyArns: Match.absent() });
  });

  it("hold no secret value in their environment, only secret ARNs", () => {
    for (const id of [receiverId, workerId]) {
      const variables = (resource(id).Properties.Environment as { Variables: Record<string, unknown> })
        .Variables;
      expect(Object.keys(variables).some((name) => /KEY$|SECRET$|VALUE$/.test(name))).toBe(false);
      expect(JSON.stringify(variables)).not.toMatch(/SecretString|PLACEHOLDER/);
    }
  });
});

describe("receiver", () => {
  it("is configured with the queue, the webhook secret ARN, the bucket, the header name and the allowlists", () => {
    expect(resource(receiverId).Properties.Environment).toEqual({
      Variables: {
        [ENV.stackName]: "Webhooks",
        [ENV.queueUrl]: { Ref: queueId },
        [ENV.bucketName]: { Ref: bucketId },
        [ENV.webhookSecretArn]: { Ref: expect.stringMatching(/WebhookSecret/) },
        [ENV.authHeaderName]: "X-Webhook-Secret",
        [ENV.allowedSourceIps]: "",
        [ENV.redactedAudioHosts]: expect.stringContaining("s3.us-west-2.amazonaws.com"),
        [ENV.secretCacheTtlSeconds]: "300",
      },
    });
  });

  it("may send to the delivery queue, read the webhook secret and write claim checks, and nothing else", () => {
    expect(actionsOf(receiverId)).toEqual(
      [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:PutObject",
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:SendMessage",
      ].sort(),
    );
    // The one wildcard: claim-check keys under inbox/ in this bucket.
    expect(
      statementsOf(receiverId)
        .filter((s) => JSON.stringify(s.Resource).includes("*"))
        .map((s) => [s.Action, JSON.stringify(s.Resource)]),
    ).toEqual([["s3:PutObject", expect.stringMatching(/StoreBucket.*"\/inbox\/\*"/)]]);
    const sqs = statementsOf(receiverId).find((s) => JSON.stringify(s.Action).includes("sqs:"));
    expect(sqs?.Resource).toEqual({ "Fn::GetAtt": [queueId, "Arn"] });
    const secrets = statementsOf(receiverId).find((s) =>
      JSON.stringify(s.Action).includes("secretsmanager:"),
    );
    expect(JSON.stringify(secrets?.Resource)).toMatch(/WebhookSecret/);
  });
});

describe("API", () => {
  it("routes POST /webhook, and everything else for a JSON 404/405, to the receiver with payload format 2.0", () => {
    const routes = Object.values(template.findResources("AWS::ApiGatewayV2::Route")) as Resource[];
    expect(routes.map((route) => route.Properties.RouteKey).sort()).toEqual(["$default", "POST /webhook"]);
    expect(Object.keys(template.findResources("AWS::ApiGatewayV2::Integration"))).toHaveLength(1);
    template.hasResourceProperties("AWS::ApiGatewayV2::Integration", {
      IntegrationType: "AWS_PROXY",
      PayloadFormatVersion: "2.0",
      IntegrationUri: { "Fn::GetAtt": [receiverId, "Arn"] },
    });
  });

  it("throttles the stage and writes JSON access logs without any header", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      AccessLogSettings: {
        DestinationArn: { "Fn::GetAtt": [logicalId("AWS::Logs::LogGroup", /AccessLogs/), "Arn"] },
        Format: Match.stringLikeRegexp("\\$context.requestId"),
      },
    });
    const stage = Object.values(template.findResources("AWS::ApiGatewayV2::Stage"))[0] as Resource;
    const format = (stage.Properties.AccessLogSettings as { Format: string }).Format;
    expect(() => JSON.parse(format)).not.toThrow();
    expect(format).not.toMatch(/header/i);
  });

  it("takes throttling from configuration", () => {
    templateFor({ throttleRateLimit: "7", throttleBurstLimit: "9" }).hasResourceProperties(
      "AWS::ApiGatewayV2::Stage",
      { DefaultRouteSettings: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 } },
    );
  });
});

describe("queues", () => {
  it("encrypt both queues", () => {
    template.allResourcesProperties("AWS::SQS::Queue", { SqsManagedSseEnabled: true });
  });

  it("redrive to the dead-letter queue after at least 5 receives, with visibility of 6x the worker timeout", () => {
    expect(MAX_RECEIVE_COUNT).toBeGreaterThanOrEqual(5);
    expect(resource(queueId).Properties).toMatchObject({
      VisibilityTimeout: WORKER_TIMEOUT_SECONDS * VISIBILITY_TIMEOUT_FACTOR,
      RedrivePolicy: {
        deadLetterTargetArn: { "Fn::GetAtt": [dlqId, "Arn"] },
        maxReceiveCount: MAX_RECEIVE_COUNT,
      },
    });
    expect(VISIBILITY_TIMEOUT_FACTOR).toBeGreaterThanOrEqual(6);
  });

  it("declare the dead-letter queue one, for SQS and Control Tower alike", () => {
    expect(resource(dlqId).Properties.RedriveAllowPolicy).toEqual({ redrivePermission: "allowAll" });
    expect(resource(queueId).Properties.RedriveAllowPolicy).toBeUndefined();
  });

  it("keep dead letters for 14 days", () => {
    expect(DLQ_RETENTION_SECONDS).toBe(1_209_600);
    expect(resource(dlqId).Properties.MessageRetentionPeriod).toBe(1_209_600);
  });

  it.each([
    ["queue", queueId],
    ["dead-letter queue", dlqId],
  ])("deny any request to the %s that is not over TLS", (_n, id) => {
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: id }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      },
    });
  });
});

describe("worker", () => {
  it("consumes the queue with partial batch failures, a batch size and a concurrency cap", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: workerId },
      EventSourceArn: { "Fn::GetAtt": [queueId, "Arn"] },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it("takes batch size and concurrency from configuration", () => {
    templateFor({ workerBatchSize: 3, workerMaxConcurrency: 40 }).hasResourceProperties(
      "AWS::Lambda::EventSourceMapping",
      { BatchSize: 3, ScalingConfig: { MaximumConcurrency: 40 } },
    );
  });

  it("is configured with its table, bucket, API key secret, region's API, audio hosts and first retry delay", () => {
    expect(resource(workerId).Properties.Environment).toEqual({
      Variables: {
        [ENV.stackName]: "Webhooks",
        [ENV.tableName]: { Ref: tableId },
        [ENV.usageTableName]: { Ref: logicalId("AWS::DynamoDB::Table", /^StoreUsageTable/) },
        [ENV.bucketName]: { Ref: bucketId },
        [ENV.apiKeySecretArn]: { Ref: expect.stringMatching(/ApiKeySecret/) },
        [ENV.assemblyAiBaseUrl]: "https://api.assemblyai.com",
        [ENV.inlineTextMaxBytes]: "100000",
        [ENV.redactedAudioHosts]: expect.stringContaining("s3.us-west-2.amazonaws.com"),
        [ENV.queueUrl]: { Ref: queueId },
        [ENV.retryBaseSeconds]: String(DEFAULT_RETRY_BASE_SECONDS),
      },
    });
    const eu = templateFor({ assemblyAiRegion: "eu" }).toJSON().Resources as Record<string, Resource>;
    expect(JSON.stringify(eu[workerId]?.Properties.Environment)).toContain("https://api.eu.assemblyai.com");
  });

  it("reads and updates items of exactly its table, writes objects of its bucket, reads only the API key", () => {
    const statements = statementsOf(workerId);
    const dynamo = statements.find((s) => JSON.stringify(s.Action).includes("dynamodb:"));
    expect(dynamo).toMatchObject({
      Action: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
      Resource: { "Fn::GetAtt": [tableId, "Arn"] },
    });
    const s3 = statements.find((s) => JSON.stringify(s.Action).includes("s3:"));
    expect([s3?.Action].flat().sort()).toEqual(["s3:AbortMultipartUpload", "s3:PutObject"]);
    expect(JSON.stringify(s3?.Resource)).toMatch(/transcripts\/\*.*redacted-audio\/\*.*unknown\/\*/);
    const secrets = statements.filter((s) => JSON.stringify(s.Action).includes("secretsmanager:"));
    expect(JSON.stringify(secrets)).toMatch(/ApiKeySecret/);
    expect(JSON.stringify(secrets)).not.toMatch(/WebhookSecret/);
    expect(actionsOf(workerId).filter((a) => a.startsWith("sqs:"))).toEqual([
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
    ]);
  });
});

describe("reconciler", () => {
  it("runs on the configured schedule, and is left out when reconcileScheduleMinutes is 0", () => {
    template.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "rate(15 minutes)" });
    const off = templateFor({ reconcileScheduleMinutes: 0 });
    off.resourceCountIs("AWS::Events::Rule", 0);
    expect(Object.keys(off.findResources("AWS::Lambda::Function")).some((id) => /Reconciler/.test(id))).toBe(
      false,
    );
  });

  it("reserves no concurrency, so the stack deploys on accounts with the default limit of 10", () => {
    const reconciler = resource(logicalId("AWS::Lambda::Function", /^Reconciler/));
    expect(reconciler.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });
});

describe("table", () => {
  it("is on demand, keyed by customer_id and order_id, indexed by transcript_id and by fetch retry, with point-in-time recovery", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [
        { AttributeName: "customer_id", KeyType: "HASH" },
        { AttributeName: "order_id", KeyType: "RANGE" },
      ],
      AttributeDefinitions: Match.arrayWith([{ AttributeName: "customer_id", AttributeType: "S" }]),
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: "by-transcript-id",
          KeySchema: [{ AttributeName: "transcript_id", KeyType: "HASH" }],
        }),
        // Sparse: only fetch_failed records waiting for the reconciler carry fetch_retry_state.
        Match.objectLike({
          IndexName: "by-fetch-retry",
          KeySchema: [
            { AttributeName: "fetch_retry_state", KeyType: "HASH" },
            { AttributeName: "fetch_retry_since", KeyType: "RANGE" },
          ],
          Projection: {
            ProjectionType: "INCLUDE",
            NonKeyAttributes: [
              "transcript_id",
              "fetch_retry_status",
              "fetch_retry_key",
              "fetch_retry_region",
              "transcript_created",
              "transcript_completed",
            ],
          },
        }),
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it("is retained when the stack is deleted, unless removalPolicy is destroy", () => {
    template.hasResource("AWS::DynamoDB::Table", { DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    templateFor({ removalPolicy: "destroy" }).hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Delete",
    });
  });
});

describe("bucket", () => {
  it("blocks public access, encrypts, and denies requests without TLS", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  it("is retained by default and cleans up unfinished uploads", () => {
    template.hasResource("AWS::S3::Bucket", { DeletionPolicy: "Retain" });
    template.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
        ]),
      },
    });
  });

  it("keeps old versions of the reconciler's checkpoint, rewritten every run, for one day only", () => {
    expect(CHECKPOINT_KEY.startsWith(RECONCILER_PREFIX)).toBe(true);
    template.hasResourceProperties("AWS::S3::Bucket", {
      VersioningConfiguration: { Status: "Enabled" },
      LifecycleConfiguration: {
        // arrayWith keeps order: every version for 30 days, then the checkpoint's for 1.
        Rules: Match.arrayWith([
          Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Prefix: Match.absent() }),
          Match.objectLike({
            Prefix: "reconciler/",
            NoncurrentVersionExpiration: { NoncurrentDays: 1 },
            Status: "Enabled",
          }),
        ]),
      },
    });
  });

  it("expires claim checks only after any message naming one is gone from the queue and the DLQ", () => {
    // moto keeps objects forever: the rule is checked here, against the retention it must outlast.
    expect(INBOX_EXPIRE_DAYS * 24 * 60 * 60).toBeGreaterThan(QUEUE_RETENTION_SECONDS + DLQ_RETENTION_SECONDS);
    template.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Id: "expire-claim-checks",
            Prefix: INBOX_PREFIX,
            ExpirationInDays: INBOX_EXPIRE_DAYS,
            Status: "Enabled",
          }),
        ]),
      },
    });
  });

  it("sends its object events to EventBridge, with no custom resource to set that up", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
    template.resourceCountIs("Custom::S3BucketNotifications", 0);
  });

  it("takes lifecycle rules from configuration", () => {
    templateFor({
      transcriptsInfrequentAccessDays: 30,
      transcriptsExpireDays: 365,
      redactedAudioExpireDays: 7,
    }).hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Prefix: "transcripts/",
            ExpirationInDays: 365,
            Transitions: [{ StorageClass: "STANDARD_IA", TransitionInDays: 30 }],
          }),
          Match.objectLike({ Prefix: "redacted-audio/", ExpirationInDays: 7 }),
        ]),
      },
    });
  });
});

describe("secrets", () => {
  const KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0b5a3c1e-7d2f-4e8a-9c6b-1f2e3d4c5b6a";
  const IMPORTED = {
    webhookSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf",
    apiKeySecret: "aai-key",
  };
  const secretIds = () => Object.keys(template.findResources("AWS::SecretsManager::Secret"));

  function kmsStatements(functionId: string, raw: Parameters<typeof templateFor>[0]) {
    const all = templateFor(raw).toJSON().Resources as Record<string, Resource>;
    const role = all[functionId]?.Properties.Role as { "Fn::GetAtt": [string, string] } | undefined;
    const roleRef = role?.["Fn::GetAtt"][0];
    return Object.values(all)
      .filter((r) => r.Type === "AWS::IAM::Policy")
      .filter((r) => JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleRef }]))
      .flatMap(
        (r) => (r.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement,
      )
      .filter((statement) => JSON.stringify(statement.Action).includes("kms:"));
  }

  it("generates the webhook secret and creates the API key secret without any value", () => {
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true },
    });
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      Description: Match.stringLikeRegexp("API key"),
      SecretString: Match.absent(),
      GenerateSecretString: Match.absent(),
    });
    expect(secretIds()).toHaveLength(2);
  });

  it("holds no literal secret value anywhere in the template, so no deploy can overwrite one set later", () => {
    expect(JSON.stringify(template.toJSON())).not.toMatch(/"SecretString"|PLACEHOLDER/);
  });

  it("retains both secrets when the stack is deleted, unless removalPolicy is destroy", () => {
    for (const id of secretIds()) {
      expect(resource(id)).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    }
    const destroyed = templateFor({ removalPolicy: "destroy" }).findResources("AWS::SecretsManager::Secret");
    expect(Object.values(destroyed).map((secret) => secret.DeletionPolicy)).toEqual(["Delete", "Delete"]);
  });

  it("uses existing secrets when given, creating none", () => {
    const existing = templateFor({
      webhookSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf",
      apiKeySecret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:aai-key-AbCdEf",
    });
    existing.resourceCountIs("AWS::SecretsManager::Secret", 0);
    expect(JSON.stringify(existing.toJSON())).toContain("secret:webhook-AbCdEf");
  });

  it("grants an API key secret given by name as its name plus Secrets Manager's 6-character suffix", () => {
    const resources = templateFor({ apiKeySecret: "aai-key" }).toJSON().Resources as Record<string, Resource>;
    const policies = JSON.stringify(Object.values(resources).filter((r) => r.Type === "AWS::IAM::Policy"));
    expect(policies).toContain(":secret:aai-key-??????");
  });

  it("grants kms:Decrypt on secretsKmsKeyArn, only through Secrets Manager, to the readers of imported secrets", () => {
    const raw = { ...IMPORTED, secretsKmsKeyArn: KEY_ARN };
    const expected = {
      Action: "kms:Decrypt",
      Effect: "Allow",
      Resource: KEY_ARN,
      Condition: {
        StringEquals: {
          "kms:ViaService": {
            "Fn::Join": ["", ["secretsmanager.", { Ref: "AWS::Region" }, ".amazonaws.com"]],
          },
        },
      },
    };

    expect(kmsStatements(receiverId, raw)).toEqual([expected]);
    expect(kmsStatements(workerId, raw)).toEqual([expected]);
    const webhookOnly = { webhookSecretArn: IMPORTED.webhookSecretArn, secretsKmsKeyArn: KEY_ARN };
    expect(kmsStatements(workerId, webhookOnly)).toEqual([]);
  });

  it("grants no KMS permission for secrets without secretsKmsKeyArn", () => {
    expect(kmsStatements(receiverId, IMPORTED)).toEqual([]);
    expect(kmsStatements(workerId, {})).toEqual([]);
  });
});

describe("both AssemblyAI regions", () => {
  const both = templateFor({ assemblyAiRegion: "both" });
  const bothResources = both.toJSON().Resources as Record<string, Resource>;
  const bothSecrets = Object.entries(bothResources).filter(
    ([, r]) => r.Type === "AWS::SecretsManager::Secret",
  );
  const apiKeySecretIds = bothSecrets.map(([id]) => id).filter((id) => id.includes("ApiKeySecret"));

  it("keeps the first region's API key secret under the logical id it always had, and adds one for EU", () => {
    const single = Object.keys(template.findResources("AWS::SecretsManager::Secret")).filter((id) =>
      id.includes("ApiKeySecret"),
    );
    expect(single).toHaveLength(1);
    expect(apiKeySecretIds).toEqual([single[0], expect.stringMatching(/^SecretsApiKeySecretEu/)]);
    const eu = bothResources[apiKeySecretIds[1] as string];
    expect(eu).toMatchObject({
      DeletionPolicy: "Retain",
      Properties: { Description: expect.stringContaining("set-api-key --assemblyai-region eu") },
    });
    expect(eu?.Properties).not.toHaveProperty("GenerateSecretString");
    expect(eu?.Properties).not.toHaveProperty("SecretString");
  });

  it("gives the worker every region's API and key secret, and lets it read both keys and no other secret", () => {
    const worker = Object.values(bothResources).find(
      (r) =>
        r.Type === "AWS::Lambda::Function" &&
        JSON.stringify(r.Properties.Environment).includes(ENV.retryBaseSeconds),
    );
    const variables =
      (worker?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
      {};
    expect(variables[ENV.assemblyAiBaseUrl]).toBe("https://api.assemblyai.com");
    expect(JSON.stringify(variables[ENV.assemblyAiRegions])).toContain("https://api.eu.assemblyai.com");
    const reads = Object.values(bothResources)
      .filter((r) => r.Type === "AWS::IAM::Policy")
      .flatMap(
        (r) => (r.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement,
      )
      .filter((statement) => JSON.stringify(statement.Action).includes("secretsmanager:GetSecretValue"));
    for (const id of apiKeySecretIds) expect(JSON.stringify(reads)).toContain(`"Ref":"${id}"`);
  });

  it("outputs both regions and the EU key secret's ARN", () => {
    const outputs = both.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.AssemblyAiRegion?.Value).toBe("us,eu");
    expect(outputs.ApiKeySecretArn?.Value).toEqual({ Ref: apiKeySecretIds[0] });
    expect(outputs.ApiKeySecretArnEu?.Value).toEqual({ Ref: apiKeySecretIds[1] });
  });

  it("imports an existing secret per region: apiKeySecret for the first, apiKeySecretEu for EU", () => {
    const imported = templateFor({
      assemblyAiRegion: "both",
      apiKeySecret: "aai-us",
      apiKeySecretEu: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:aai-eu-AbCdEf",
    });
    const ids = Object.keys(imported.findResources("AWS::SecretsManager::Secret"));
    expect(ids.filter((id) => id.includes("ApiKeySecret"))).toEqual([]);
    const policies = JSON.stringify(imported.findResources("AWS::IAM::Policy"));
    expect(policies).toContain(":secret:aai-us-??????");
    expect(policies).toContain("secret:aai-eu-AbCdEf");
  });
});

describe("outputs", () => {
  it("name the webhook URL, header name, secret ARNs, table, bucket, queues, dashboard and alarm topic", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        "ApiKeySecretArn",
        "AssemblyAiRegion",
        "AuthHeaderName",
        "BucketName",
        "DeadLetterQueueName",
        "DeadLetterQueueUrl",
        "QueueName",
        "QueueUrl",
        "TableName",
        "UsageTableName",
        "EventBusName",
        "EventBusArn",
        "EventSource",
        "EventsDeadLetterQueueUrl",
        "WebhookSecretArn",
        "WebhookSecretCacheTtlSeconds",
        "WebhookUrl",
        "DashboardName",
        "DashboardUrl",
        "AlarmTopicArn",
      ].sort(),
    );
    expect(JSON.stringify(outputs.WebhookUrl?.Value)).toMatch(/\/webhook"/);
    expect(outputs.WebhookSecretCacheTtlSeconds?.Value).toBe("300");
    expect(JSON.stringify(outputs)).not.toMatch(/SecretString|resolve:secretsmanager|PLACEHOLDER/);
  });
});

describe("snapshot", () => {
  it("matches, with asset hashes stripped", () => {
    expect(template.toJSON()).toMatchSnapshot();
  });
});
