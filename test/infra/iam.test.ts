/**
 * Each function's role, as IAM would evaluate it (simulated over the synthesized template's policies): the
 * calls it needs are allowed, and a set of calls it must never make is denied. The calls the functions
 * really make are checked the same way in test/integration/contracts.test.ts, from the local stack.
 */
import { type Call, type Decision, TemplateIam, type TemplateJson } from "../support/iam";
import { templateFor } from "./synth";

const template = templateFor().toJSON() as TemplateJson;
const iam = new TemplateIam(template);

function logicalId(type: string, pattern: RegExp): string {
  const ids = Object.keys(template.Resources).filter(
    (id) => template.Resources[id]?.Type === type && pattern.test(id),
  );
  if (ids.length !== 1) throw new Error(`expected one ${type} matching ${pattern}, found ${ids.join(", ")}`);
  return ids[0] as string;
}

const queue = iam.binding(logicalId("AWS::SQS::Queue", /DeliveriesQueue/)).attributes.Arn as string;
const dlq = iam.binding(logicalId("AWS::SQS::Queue", /DeadLetterQueue/)).attributes.Arn as string;
const table = iam.binding(logicalId("AWS::DynamoDB::Table", /^StoreTable/)).attributes.Arn as string;
const usageTable = iam.binding(logicalId("AWS::DynamoDB::Table", /^StoreUsageTable/)).attributes
  .Arn as string;
const bucket = iam.binding(logicalId("AWS::S3::Bucket", /StoreBucket/)).attributes.Arn as string;
const tableStream = iam.binding(logicalId("AWS::DynamoDB::Table", /^StoreTable/)).attributes
  .StreamArn as string;
const eventBus = iam.binding(logicalId("AWS::Events::EventBus", /EventsBus/)).attributes.Arn as string;
const failedEvents = iam.binding(logicalId("AWS::SQS::Queue", /EventsFailedEvents/)).attributes.Arn as string;
const webhookSecret = iam.binding(logicalId("AWS::SecretsManager::Secret", /WebhookSecret/)).ref;
const apiKeySecret = iam.binding(logicalId("AWS::SecretsManager::Secret", /ApiKeySecret/)).ref;

const roles = {
  receiver: iam.roleOf(logicalId("AWS::Lambda::Function", /Receiver/)),
  worker: iam.roleOf(logicalId("AWS::Lambda::Function", /Worker/)),
  reconciler: iam.roleOf(logicalId("AWS::Lambda::Function", /^Reconciler/)),
  publisher: iam.roleOf(logicalId("AWS::Lambda::Function", /EventsPublisher/)),
};

const call = (action: string, resource: string, context?: Record<string, string | string[]>): Call => ({
  action,
  resource,
  ...(context ? { context } : {}),
});

const allowed: Array<[keyof typeof roles, Call]> = [
  ["receiver", call("sqs:SendMessage", queue)],
  ["receiver", call("secretsmanager:GetSecretValue", webhookSecret)],
  ["worker", call("sqs:ReceiveMessage", queue)],
  ["worker", call("sqs:DeleteMessage", queue)],
  ["worker", call("sqs:ChangeMessageVisibility", queue)],
  ["worker", call("dynamodb:GetItem", table)],
  ["worker", call("dynamodb:UpdateItem", table)],
  // The usage counter, in the record write's TransactWriteItems (which IAM authorizes per item).
  ["worker", call("dynamodb:UpdateItem", usageTable)],
  ["worker", call("s3:PutObject", `${bucket}/transcripts/acme/o-1/t-1.json.gz`)],
  ["worker", call("s3:PutObject", `${bucket}/redacted-audio/acme/o-1/t-1.wav`)],
  ["worker", call("secretsmanager:GetSecretValue", apiKeySecret)],
  ["reconciler", call("s3:ListBucket", bucket, { "s3:prefix": "reconciler/checkpoint.json" })],
  ["reconciler", call("s3:GetObject", `${bucket}/reconciler/checkpoint.json`)],
  ["reconciler", call("s3:PutObject", `${bucket}/reconciler/checkpoint.json`)],
  ["reconciler", call("dynamodb:Query", `${table}/index/by-transcript-id`)],
  ["reconciler", call("dynamodb:Query", `${table}/index/by-fetch-retry`)],
  ["reconciler", call("sqs:SendMessage", queue)],
  // The event source mapping reads the stream with the publisher's role and sends failed batches' pointers.
  ["publisher", call("dynamodb:DescribeStream", tableStream)],
  ["publisher", call("dynamodb:GetShardIterator", tableStream)],
  ["publisher", call("dynamodb:GetRecords", tableStream)],
  ["publisher", call("dynamodb:ListStreams", "*")],
  ["publisher", call("events:PutEvents", eventBus, { "events:source": ["assemblyai.webhooks"] })],
  ["publisher", call("sqs:SendMessage", failedEvents)],
];

const denied: Array<[keyof typeof roles, Call, string]> = [
  ["receiver", call("sqs:SendMessage", dlq), "the dead-letter queue is the worker's redrive target only"],
  ["receiver", call("sqs:ReceiveMessage", queue), "the receiver only enqueues"],
  ["receiver", call("sqs:PurgeQueue", queue), "nothing purges deliveries"],
  ["receiver", call("secretsmanager:GetSecretValue", apiKeySecret), "the receiver never calls AssemblyAI"],
  ["receiver", call("dynamodb:GetItem", table), "the receiver reads no records"],
  ["receiver", call("s3:GetObject", `${bucket}/transcripts/acme/o-1/t-1.json.gz`), "no transcript reads"],
  [
    "worker",
    call("s3:DeleteObject", `${bucket}/transcripts/acme/o-1/t-1.json.gz`),
    "nothing stored is deleted",
  ],
  [
    "worker",
    call("s3:PutObject", `${bucket}/reconciler/checkpoint.json`),
    "the checkpoint is the reconciler's",
  ],
  ["worker", call("s3:PutObject", `${bucket}/elsewhere/x`), "writes stay under the worker's prefixes"],
  ["worker", call("s3:ListBucket", bucket), "no listing of keys (they carry customer ids)"],
  ["worker", call("dynamodb:DeleteItem", table), "records are never deleted by the pipeline"],
  ["worker", call("dynamodb:Scan", table), "no scans"],
  ["worker", call("dynamodb:GetItem", usageTable), "the worker only adds to the usage counters"],
  ["worker", call("dynamodb:DeleteItem", usageTable), "the worker only adds to the usage counters"],
  ["reconciler", call("dynamodb:UpdateItem", usageTable), "only the worker counts usage"],
  ["receiver", call("dynamodb:UpdateItem", usageTable), "only the worker counts usage"],
  ["worker", call("sqs:SendMessage", dlq), "SQS's redrive moves dead letters, not the worker"],
  [
    "worker",
    call("secretsmanager:GetSecretValue", webhookSecret),
    "the worker never sees the webhook secret",
  ],
  ["reconciler", call("s3:ListBucket", bucket), "listing is pinned to the checkpoint's key"],
  ["reconciler", call("s3:ListBucket", bucket, { "s3:prefix": "transcripts/" }), "no listing of transcripts"],
  ["reconciler", call("s3:GetObject", `${bucket}/transcripts/acme/o-1/t-1.json.gz`), "no transcript reads"],
  ["reconciler", call("s3:PutObject", `${bucket}/transcripts/acme/o-1/t-1.json.gz`), "no transcript writes"],
  ["reconciler", call("dynamodb:UpdateItem", table), "the reconciler only queues; the worker writes"],
  ["reconciler", call("dynamodb:Query", table), "only the transcript_id and fetch-retry indexes are queried"],
  ["reconciler", call("dynamodb:Query", `${table}/index/other`), "no other index"],
  [
    "reconciler",
    call("dynamodb:Scan", `${table}/index/by-fetch-retry`),
    "the retry index is queried, not scanned",
  ],
  ["reconciler", call("sqs:DeleteMessage", queue), "the reconciler never consumes deliveries"],
  [
    "publisher",
    call("events:PutEvents", eventBus, { "events:source": ["assemblyai.webhooks", "someone.else"] }),
    "only events of the stack's own source",
  ],
  [
    "publisher",
    call("events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/default", {
      "events:source": ["assemblyai.webhooks"],
    }),
    "only its own bus",
  ],
  ["publisher", call("dynamodb:GetItem", table), "the stream's images are all it reads"],
  ["publisher", call("dynamodb:UpdateItem", table), "the publisher writes no records"],
  ["publisher", call("s3:GetObject", `${bucket}/transcripts/acme/o-1/t-1.json.gz`), "no transcript reads"],
  ["publisher", call("sqs:SendMessage", queue), "the publisher queues no deliveries"],
  [
    "worker",
    call("events:PutEvents", eventBus, { "events:source": "assemblyai.webhooks" }),
    "only the publisher publishes",
  ],
  ["worker", call("sqs:SendMessage", failedEvents), "the events dead-letter queue is the publisher's"],
];

describe("function roles, simulated", () => {
  it.each(allowed)("let the %s make %o", async (fn, request) => {
    expect(await iam.decide(roles[fn], request)).toBe<Decision>("Allowed");
  });

  it.each(denied)("deny the %s %o: %s", async (fn, request) => {
    expect(await iam.decide(roles[fn], request)).not.toBe<Decision>("Allowed");
  });

  it("refuse plain-HTTP requests to the queue and the bucket, whatever the role allows", async () => {
    expect(
      await iam.decide(roles.receiver, call("sqs:SendMessage", queue, { "aws:SecureTransport": "false" })),
    ).toBe<Decision>("ExplicitlyDenied");
    expect(
      await iam.decide(
        roles.worker,
        call("s3:PutObject", `${bucket}/transcripts/a/b/c.json.gz`, { "aws:SecureTransport": "false" }),
      ),
    ).toBe<Decision>("ExplicitlyDenied");
  });
});

describe("function roles with both AssemblyAI regions, simulated", () => {
  const both = templateFor({ assemblyAiRegion: "both" }).toJSON() as TemplateJson;
  const bothIam = new TemplateIam(both);
  const idOf = (type: string, pattern: RegExp): string => {
    const ids = Object.keys(both.Resources).filter(
      (id) => both.Resources[id]?.Type === type && pattern.test(id),
    );
    if (ids.length !== 1)
      throw new Error(`expected one ${type} matching ${pattern}, found ${ids.join(", ")}`);
    return ids[0] as string;
  };
  const bothBucket = bothIam.binding(idOf("AWS::S3::Bucket", /StoreBucket/)).attributes.Arn as string;
  const usKey = bothIam.binding(idOf("AWS::SecretsManager::Secret", /ApiKeySecret[A-F0-9]{8}$/)).ref;
  const euKey = bothIam.binding(idOf("AWS::SecretsManager::Secret", /ApiKeySecretEu/)).ref;
  const bothRoles = {
    receiver: bothIam.roleOf(idOf("AWS::Lambda::Function", /Receiver/)),
    worker: bothIam.roleOf(idOf("AWS::Lambda::Function", /Worker/)),
    reconciler: bothIam.roleOf(idOf("AWS::Lambda::Function", /^Reconciler/)),
  };

  const bothAllowed: Array<[keyof typeof bothRoles, Call]> = [
    ["worker", call("secretsmanager:GetSecretValue", usKey)],
    ["worker", call("secretsmanager:GetSecretValue", euKey)],
    ["reconciler", call("secretsmanager:GetSecretValue", euKey)],
    ["reconciler", call("s3:ListBucket", bothBucket, { "s3:prefix": "reconciler/checkpoint-eu.json" })],
    ["reconciler", call("s3:GetObject", `${bothBucket}/reconciler/checkpoint-eu.json`)],
    ["reconciler", call("s3:PutObject", `${bothBucket}/reconciler/checkpoint.json`)],
  ];
  const bothDenied: Array<[keyof typeof bothRoles, Call, string]> = [
    ["receiver", call("secretsmanager:GetSecretValue", euKey), "the receiver never calls AssemblyAI"],
    ["reconciler", call("s3:ListBucket", bothBucket, { "s3:prefix": "reconciler/" }), "only the checkpoints"],
    ["reconciler", call("s3:PutObject", `${bothBucket}/reconciler/checkpoint-ap.json`), "no other object"],
  ];

  it.each(bothAllowed)("let the %s make %o", async (fn, request) => {
    expect(await bothIam.decide(bothRoles[fn], request)).toBe<Decision>("Allowed");
  });

  it.each(bothDenied)("deny the %s %o: %s", async (fn, request) => {
    expect(await bothIam.decide(bothRoles[fn], request)).not.toBe<Decision>("Allowed");
  });
});
