/**
 * 6. Cost per million deliveries on AWS (us-east-1 list prices), from the configured memory sizes, the
 * durations measured in this run (receiver: section 2; worker: section 3) and the per-delivery request
 * counts, log bytes and item sizes measured in section 3; for this stack, the same with a REST API, and a
 * direct API Gateway -> SQS integration without the receiver function.
 */
import { round } from "../lib/stats";
import { type Row, type SectionResult, usd, x } from "../lib/types";
import { stackConfig } from "./config";

/** Published prices, us-east-1, checked 2026-11. */
export const PRICES = {
  lambdaArmGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  httpApiPerMillion: 1.0,
  restApiPerMillion: 3.5,
  sqsPerMillionRequests: 0.4,
  dynamoDbPerMillionWru: 0.625,
  dynamoDbPerMillionRru: 0.125,
  s3PutPerThousand: 0.005,
  cloudWatchLogsPerGb: 0.5,
  /** Custom events put on a bus, each 64 KB chunk one event. Rules' deliveries to targets are not charged. */
  eventBridgePerMillionEvents: 1.0,
} as const;

/** The events publisher's memory (lib/event-publishing.ts). */
const PUBLISHER_MEMORY_MB = 256;

export const PRICE_SOURCES = [
  "AWS Lambda pricing, Arm: https://aws.amazon.com/lambda/pricing/",
  "Amazon API Gateway pricing (HTTP and REST APIs): https://aws.amazon.com/api-gateway/pricing/",
  "Amazon SQS pricing (standard queues, per 64 KB request): https://aws.amazon.com/sqs/pricing/",
  "Amazon DynamoDB on-demand pricing: https://aws.amazon.com/dynamodb/pricing/on-demand/",
  "Amazon S3 pricing (PUT requests, S3 Standard): https://aws.amazon.com/s3/pricing/",
  "Amazon CloudWatch pricing (Logs ingestion, Standard): https://aws.amazon.com/cloudwatch/pricing/",
  "Amazon EventBridge pricing (custom events, 64 KB chunks): https://aws.amazon.com/eventbridge/pricing/",
  "DynamoDB Streams reads by a Lambda trigger are free: https://aws.amazon.com/dynamodb/pricing/on-demand/",
];

export interface CostInputs {
  /** Warm receiver duration (ms), section 2. */
  readonly receiverMs: number;
  /** Billed worker ms per delivery (each batch rounded up to 1 ms, divided by its records), section 3. */
  readonly workerBilledMsPerDelivery: number;
  readonly batchSizeMean: number;
  readonly receiverLogBytesPerDelivery: number;
  readonly workerLogBytesPerDelivery: number;
  readonly itemBytes: number;
  /** The events path, section 3: events per stored delivery, their median size as EventBridge counts it. */
  readonly eventsPerDelivery: number;
  readonly eventBytes: number;
  /** Publisher invocations per stored delivery (the stream batches records when they come fast). */
  readonly publisherInvocationsPerDelivery: number;
  readonly publisherBilledMsPerDelivery: number;
  readonly publisherLogBytesPerDelivery: number;
}

export function cost(inputs: CostInputs | undefined): SectionResult {
  if (inputs === undefined) {
    return {
      rows: [],
      notes: [
        "Cost: needs the receiver and pipeline sections in the same run (`--only receiver,pipeline,cost`).",
      ],
      data: {},
    };
  }
  const config = stackConfig();
  const million = 1_000_000;
  const gbSeconds = (ms: number, memoryMb: number) => (ms / 1000) * (memoryMb / 1024);
  const receiverBilledMs = Math.max(1, Math.ceil(inputs.receiverMs));
  const receiver =
    PRICES.lambdaPerMillionRequests +
    million * gbSeconds(receiverBilledMs, config.receiverMemoryMb) * PRICES.lambdaArmGbSecond;
  const batch = Math.max(1, inputs.batchSizeMean);
  const worker =
    PRICES.lambdaPerMillionRequests / batch +
    million * gbSeconds(inputs.workerBilledMsPerDelivery, config.workerMemoryMb) * PRICES.lambdaArmGbSecond;
  const sqs = PRICES.sqsPerMillionRequests * (1 + 2 / batch);
  // A consistent read of an item up to 4 KB is 1 RRU. A stored transcript's write is a transaction with its
  // usage counter (functions/worker/usage.ts): 2 WRUs per KB of the record, 2 for the counter item (under
  // 1 KB), plus one WRU for the by-transcript-id index entry.
  const recordWru = 2 * Math.ceil(inputs.itemBytes / 1024);
  const dynamodb = PRICES.dynamoDbPerMillionRru * 1 + PRICES.dynamoDbPerMillionWru * (recordWru + 2 + 1);
  const s3 = (PRICES.s3PutPerThousand / 1000) * million;
  const logs = (bytes: number) => ((bytes * million) / 1024 ** 3) * PRICES.cloudWatchLogsPerGb;
  // The events path: the stream's reads by Lambda are free; the publisher's invocations and duration, its
  // log lines, and one EventBridge event per 64 KB of each event.
  const publisher =
    PRICES.lambdaPerMillionRequests * inputs.publisherInvocationsPerDelivery +
    million * gbSeconds(inputs.publisherBilledMsPerDelivery, PUBLISHER_MEMORY_MB) * PRICES.lambdaArmGbSecond;
  const eventBridge =
    PRICES.eventBridgePerMillionEvents *
    inputs.eventsPerDelivery *
    Math.max(1, Math.ceil(inputs.eventBytes / 65536));
  const events = publisher + eventBridge + logs(inputs.publisherLogBytesPerDelivery);
  const common = worker + sqs + dynamodb + s3 + logs(inputs.workerLogBytesPerDelivery) + events;
  const ours = PRICES.httpApiPerMillion + receiver + logs(inputs.receiverLogBytesPerDelivery) + common;
  const rest = PRICES.restApiPerMillion + receiver + logs(inputs.receiverLogBytesPerDelivery) + common;
  const direct = PRICES.httpApiPerMillion + common;
  const breakdown = {
    apiHttp: PRICES.httpApiPerMillion,
    apiRest: PRICES.restApiPerMillion,
    receiverLambda: receiver,
    receiverLogs: logs(inputs.receiverLogBytesPerDelivery),
    workerLambda: worker,
    workerLogs: logs(inputs.workerLogBytesPerDelivery),
    sqs,
    dynamodb,
    s3,
    publisherLambda: publisher,
    publisherLogs: logs(inputs.publisherLogBytesPerDelivery),
    eventBridge,
  };
  const rows: Row[] = [
    {
      section: "6 cost / 1M deliveries",
      metric: "this stack: HTTP API + receiver λ",
      ours: usd(ours),
      baseline: "",
      ratio: x(1),
      target: "",
      verdict: "",
    },
    {
      section: "6 cost / 1M deliveries",
      metric: "of which the events path (publisher λ, its logs, EventBridge)",
      ours: usd(events),
      baseline: `${inputs.eventBytes.toFixed(0)} B per event, ${inputs.eventsPerDelivery.toFixed(2)} per delivery`,
      ratio: x(events / ours),
      target: "",
      verdict: "",
    },
    {
      section: "6 cost / 1M deliveries",
      metric: "REST API + receiver λ",
      ours: usd(rest),
      baseline: `vs ${usd(ours)}`,
      ratio: x(rest / ours),
      target: "",
      verdict: "",
    },
    {
      section: "6 cost / 1M deliveries",
      metric: "direct HTTP API -> SQS integration, no receiver λ",
      ours: usd(direct),
      baseline: `vs ${usd(ours)}`,
      ratio: x(direct / ours),
      target: "",
      verdict: "",
    },
  ];
  const notes = [
    `Cost: us-east-1 list prices, free tiers ignored, arm64; receiver ${config.receiverMemoryMb} MB x ${receiverBilledMs} ms ` +
      `(section 2 warm p50, rounded up; on AWS add SendMessage's in-region round trip), worker ${config.workerMemoryMb} MB x ` +
      `${inputs.workerBilledMsPerDelivery.toFixed(0)} billed ms per delivery in batches of ${batch.toFixed(1)} (section 3, against moto and ` +
      "the simulator: real AssemblyAI fetches are slower, each extra 100 ms per record adds " +
      `$${(million * gbSeconds(100, config.workerMemoryMb) * PRICES.lambdaArmGbSecond).toFixed(2)}); SQS 1 send + ` +
      `receive and delete per batch; DynamoDB 1 RRU + ${recordWru} WRU (transactional, items ~${inputs.itemBytes.toFixed(0)} B) + 2 WRU for the usage counter + 1 index WRU; ` +
      `one S3 PUT; logs ${(inputs.receiverLogBytesPerDelivery + inputs.workerLogBytesPerDelivery).toFixed(0)} B per delivery as measured ` +
      "(Lambda's own START/END/REPORT lines not included); events: " +
      `${inputs.eventsPerDelivery.toFixed(2)} per delivery of ${inputs.eventBytes.toFixed(0)} B (one 64 KB chunk each), the publisher ` +
      `${PUBLISHER_MEMORY_MB} MB x ${inputs.publisherBilledMsPerDelivery.toFixed(1)} billed ms and ${inputs.publisherInvocationsPerDelivery.toFixed(2)} ` +
      "invocations per delivery (the stream batches records that come close together; at most one each), its " +
      `${inputs.publisherLogBytesPerDelivery.toFixed(0)} B of logs, the stream's reads free. Per million: ` +
      Object.entries(breakdown)
        .map(([name, value]) => `${name} $${round(value, 2)}`)
        .join(", ") +
      ". Not per delivery: 2 secrets ($0.80/month), storage. The direct integration has no constant-time secret " +
      "check, no validation and no 5xx-only-on-our-faults contract: the saving is the receiver function.",
    `Prices: ${PRICE_SOURCES.join("; ")}.`,
  ];
  return { rows, notes, data: { inputs, prices: PRICES, breakdown, totals: { ours, rest, direct } } };
}
