import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { ScheduledEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { normalizeAssemblyAiTime } from "../../../functions/shared/contract/delivery";
import "aws-sdk-client-mock-jest";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { ReconcilerConfig } from "../../../functions/reconciler/config";
import { createHandler, ReconcileFailedError, runLogEvents } from "../../../functions/reconciler/reconciler";
import type { ReconcileReport } from "../../../functions/reconciler/types";
import type { DeliveryMessage } from "../../../functions/shared/contract/delivery";
import { apiKeyFingerprint } from "../../../functions/shared/secrets";
import { withTelemetry } from "../../../functions/shared/telemetry";
import { lambdaContext } from "../../../local/lambda-context";
import { type Simulator, startSimulator } from "../../../local/simulator";
import { setWriter, type Writer } from "../../support/telemetry";

// Nothing listens here: the simulator's one webhook attempt fails, as a lost delivery would.
const WEBHOOK_URL = "http://127.0.0.1:9/webhook";
const credentials = { accessKeyId: "test", secretAccessKey: "test" };
const region = "us-east-1";

const documentsMock = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);
const s3Mock = mockClient(S3Client);
const secretsMock = mockClient(SecretsManagerClient);

const scheduledEvent = JSON.parse(
  readFileSync(join(__dirname, "fixtures", "scheduled-event.json"), "utf8"),
) as ScheduledEvent;

let sim: Simulator;
/** The log lines written, and the EMF lines (with `_aws`) apart. */
let lines: Record<string, unknown>[];
let metricLines: Record<string, unknown>[];
let previousWriter: Writer;

function config(overrides: Partial<ReconcilerConfig> = {}): ReconcilerConfig {
  return {
    stackName: "test-stack",
    tableName: "transcripts",
    bucketName: "transcripts-bucket",
    queueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries",
    apiKeySecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:assemblyai-api-key-AbCdEf",
    assemblyAiBaseUrl: sim.url,
    assemblyAiRegions: [
      {
        region: "us",
        baseUrl: sim.url,
        apiKeySecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:assemblyai-api-key-AbCdEf",
      },
    ],
    assemblyAiTimeoutMs: 2_000,
    secretCacheTtlSeconds: 300,
    webhookUrl: WEBHOOK_URL,
    maxApiCalls: 200,
    lookbackMs: 60 * 60_000,
    maxPendingLookbackMs: 360 * 60_000,
    checkpointKey: "reconciler/checkpoint.json",
    ...overrides,
  };
}

/** The handler as the entry point wraps it: its stored metrics are published when each run ends. */
function handlerFor(overrides: Partial<ReconcilerConfig> = {}) {
  return withTelemetry(
    "reconciler",
    createHandler(config(overrides), {
      documents: DynamoDBDocumentClient.from(new DynamoDBClient({ region, credentials })),
      sqs: new SQSClient({ region, credentials }),
      s3: new S3Client({ region, credentials }),
      secretsManager: new SecretsManagerClient({ region, credentials }),
    }),
  );
}

/** Submits a job to the simulator and waits until it finished and its (failing) webhook settled. */
async function finishedJob(webhookUrl: string | null, audioQuery = "", baseUrl = sim.url): Promise<string> {
  const response = await fetch(`${baseUrl}/v2/transcript`, {
    method: "POST",
    headers: { authorization: "test-key", "content-type": "application/json" },
    body: JSON.stringify({
      audio_url: `https://audio.example.com/call.mp3${audioQuery}`,
      ...(webhookUrl === null ? {} : { webhook_url: webhookUrl }),
    }),
  });
  const { id } = (await response.json()) as { id: string };
  await sim.settled(id, 5_000);
  return id;
}

function queuedMessages(): DeliveryMessage[] {
  return sqsMock
    .commandCalls(SendMessageCommand)
    .map((call) => JSON.parse(call.args[0].input.MessageBody ?? "{}") as DeliveryMessage);
}

function storedCheckpoint(body: unknown): void {
  // The part of the SDK's streaming body the checkpoint store reads.
  const text = JSON.stringify(body);
  s3Mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: "reconciler/checkpoint.json" }] });
  s3Mock.on(GetObjectCommand).resolves({ Body: { transformToString: async () => text } as never });
}

function writtenCheckpoint(): Record<string, unknown> {
  const [call] = s3Mock.commandCalls(PutObjectCommand);
  return JSON.parse(String(call?.args[0].input.Body)) as Record<string, unknown>;
}

beforeEach(async () => {
  sim = await startSimulator({ processingDelayMs: 10, webhookMaxAttempts: 1, webhookTimeoutMs: 1_000 });
  documentsMock.reset();
  sqsMock.reset();
  s3Mock.reset();
  secretsMock.reset();
  documentsMock.on(GetCommand).resolves({});
  documentsMock.on(QueryCommand).resolves({ Count: 0 });
  sqsMock.on(SendMessageCommand).resolves({ MessageId: "m-1" });
  s3Mock.on(ListObjectsV2Command).resolves({ KeyCount: 0 });
  // What S3 answers a GetObject of a missing key without an unconditional s3:ListBucket on the bucket.
  s3Mock.on(GetObjectCommand).rejects(
    new S3ServiceException({
      name: "AccessDenied",
      $fault: "client",
      message: "Access Denied",
      $metadata: { httpStatusCode: 403 },
    }),
  );
  s3Mock.on(PutObjectCommand).resolves({});
  secretsMock.on(GetSecretValueCommand).resolves({ SecretString: "test-key\n" });
  lines = [];
  metricLines = [];
  previousWriter = setWriter((text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    ("_aws" in line ? metricLines : lines).push(line);
  });
});

afterEach(async () => {
  setWriter(previousWriter);
  await sim.close();
});

describe("a reconcile run over both AssemblyAI regions", () => {
  const US_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:assemblyai-api-key-AbCdEf";
  const EU_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:assemblyai-api-key-eu-GhIjKl";
  const bothRegions = () => ({
    maxApiCalls: 20,
    assemblyAiRegions: [
      { region: "us" as const, baseUrl: sim.url, apiKeySecretArn: US_SECRET },
      { region: "eu" as const, baseUrl: sim.euUrl, apiKeySecretArn: EU_SECRET },
    ] as ReconcilerConfig["assemblyAiRegions"],
  });

  it("lists each region with its own key and queues the missed transcripts of both", async () => {
    const inUs = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=us-1`);
    const inEu = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=eu-1`, "", sim.euUrl);

    const report = await handlerFor(bothRegions())(scheduledEvent);

    expect(report).toMatchObject({ examined: 2, matched: 2, queued: 2, apiCalls: 4 });
    expect(queuedMessages().map((message) => "transcript_id" in message && message.transcript_id)).toEqual([
      inUs,
      inEu,
    ]);
    expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: US_SECRET });
    expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: EU_SECRET });
    const runs = lines.filter((line) => line.message === "reconcile run");
    expect(runs.map((line) => [line.assemblyai_region, line.queued])).toEqual([
      ["us", 1],
      ["eu", 1],
    ]);
  });

  it("keeps a checkpoint per region: the first region's where a single-region stack keeps it", async () => {
    await handlerFor(bothRegions())(scheduledEvent);

    const keys = s3Mock.commandCalls(PutObjectCommand).map((call) => call.args[0].input.Key);
    expect(keys).toEqual(["reconciler/checkpoint.json", "reconciler/checkpoint-eu.json"]);
  });

  it("shares the run's budget between the regions", async () => {
    for (let i = 0; i < 3; i += 1)
      await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=eu-${i}`, "", sim.euUrl);

    const report = await handlerFor({ ...bothRegions(), maxApiCalls: 6 })(scheduledEvent);

    // 3 calls each: US lists once (nothing to read), EU lists once and reads two of its three.
    expect(report).toMatchObject({ apiCalls: 4, queued: 2, budgetExhausted: true });
  });

  it("retries a waiting fetch_failed record only in the region that answered it", async () => {
    const id = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=eu-1`, "", sim.euUrl);
    documentsMock.on(QueryCommand, { IndexName: "by-transcript-id" }).resolves({ Count: 1 });
    documentsMock.on(QueryCommand, { IndexName: "by-fetch-retry" }).resolves({
      Items: [
        {
          customer_id: "c1",
          order_id: "eu-1",
          transcript_id: id,
          fetch_retry_state: "waiting",
          fetch_retry_since: new Date(Date.now() - 60_000).toISOString(),
          fetch_retry_status: 401,
          fetch_retry_key: apiKeyFingerprint("the-old-wrong-key"),
          fetch_retry_region: "eu",
        },
      ],
    });

    const report = await handlerFor(bothRegions())(scheduledEvent);

    expect(report).toMatchObject({ fetchRetried: 1, queued: 1 });
    // The US run left it alone: reading it there would only answer 404 and use up a try.
    const retries = lines.filter((line) => line.transcript_id === id);
    expect(retries).toEqual([expect.objectContaining({ outcome: "queued", assemblyai_region: "eu" })]);
  });

  it("still runs the EU region when the US one fails, then fails the invocation", async () => {
    secretsMock.on(GetSecretValueCommand, { SecretId: US_SECRET }).rejects(new Error("throttled"));
    await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=eu-1`, "", sim.euUrl);

    await expect(handlerFor(bothRegions())(scheduledEvent)).rejects.toThrow("throttled");

    expect(queuedMessages()).toHaveLength(1);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ message: "reconcile failed", assemblyai_region: "us" }),
        expect.objectContaining({ message: "reconcile run", assemblyai_region: "eu", queued: 1 }),
      ]),
    );
  });
});

describe("a scheduled reconcile run", () => {
  it("queues our finished transcripts whose webhook failed, and only those", async () => {
    const completed = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1&lang=en`);
    const errored = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o2`, "?simulate=error");
    await finishedJob("http://127.0.0.1:9/elsewhere?customer_id=c1&order_id=o3");
    await finishedJob(null);

    const report = await handlerFor()(scheduledEvent);

    expect(report).toMatchObject({ examined: 4, matched: 2, queued: 2, apiCalls: 5 });
    expect(queuedMessages()).toEqual([
      expect.objectContaining({
        source: "reconciler",
        kind: "transcript",
        transcript_id: completed,
        status: "completed",
        metadata: {
          customer_id: "c1",
          order_id: "o1",
          params: { customer_id: "c1", order_id: "o1", lang: "en" },
        },
      }),
      expect.objectContaining({ transcript_id: errored, status: "error" }),
    ]);
    expect(documentsMock).toHaveReceivedCommandWith(GetCommand, {
      TableName: "transcripts",
      Key: { customer_id: "c1", order_id: "o1" },
      ConsistentRead: true,
    });
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });

  it("starts a first run at the lookback window and saves the next checkpoint to its one object", async () => {
    const startedAt = Date.now();

    await handlerFor()(scheduledEvent);

    // Listed by its exact key (what the prefix-scoped ListBucket grant allows), never read while missing.
    expect(s3Mock).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: "transcripts-bucket",
      Prefix: "reconciler/checkpoint.json",
    });
    expect(s3Mock).not.toHaveReceivedCommand(GetObjectCommand);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: "transcripts-bucket",
      Key: "reconciler/checkpoint.json",
      ContentType: "application/json",
    });
    const checkpoint = writtenCheckpoint();
    expect(checkpoint).toMatchObject({ version: 2 });
    expect(Date.parse(String(checkpoint.since))).toBeGreaterThanOrEqual(startedAt - 10 * 60_000);
    expect(checkpoint.settled_before).toBe(checkpoint.since);
    const summary = lines.find((line) => line.message === "reconcile run");
    expect(Date.parse(String(summary?.since))).toBeLessThanOrEqual(startedAt - 60 * 60_000 + 1_000);
  });

  it("resumes from the stored checkpoint, skipping what an earlier run already examined", async () => {
    await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);
    storedCheckpoint({
      version: 1,
      since: new Date(Date.now() - 30 * 60_000).toISOString(),
      settled_before: new Date(Date.now() + 60_000).toISOString(),
    });

    const report = await handlerFor()(scheduledEvent);

    expect(report).toMatchObject({ examined: 0, queued: 0, apiCalls: 1 });
    expect(sim.requestCount("GET /v2/transcript/:id")).toBe(0);
  });

  it("falls back to the lookback window, with a warning, when the checkpoint is unreadable", async () => {
    storedCheckpoint({ version: 7 });

    await handlerFor()(scheduledEvent);

    expect(lines).toContainEqual(
      expect.objectContaining({ level: "WARN", message: expect.stringContaining("checkpoint unreadable") }),
    );
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  });

  it("reads no transcript the transcript_id index already holds", async () => {
    await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);
    documentsMock.on(QueryCommand).resolves({ Count: 1 });

    const report = await handlerFor()(scheduledEvent);

    expect(report).toMatchObject({ alreadyStored: 1, queued: 0, apiCalls: 1 });
    expect(documentsMock).toHaveReceivedCommandWith(QueryCommand, {
      TableName: "transcripts",
      IndexName: "by-transcript-id",
      Select: "COUNT",
    });
    expect(sim.requestCount("GET /v2/transcript/:id")).toBe(0);
  });

  it("queues again a fetch_failed record refused for another API key, keeping the try but never the key", async () => {
    const id = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);
    // The window's pass finds it stored (the transcript_id index holds it, as fetch_failed): no read there.
    const failedAt = new Date(Date.now() - 60_000).toISOString();
    documentsMock.on(QueryCommand, { IndexName: "by-transcript-id" }).resolves({ Count: 1 });
    documentsMock.on(QueryCommand, { IndexName: "by-fetch-retry" }).resolves({
      Items: [
        {
          customer_id: "c1",
          order_id: "o1",
          transcript_id: id,
          fetch_retry_state: "waiting",
          fetch_retry_since: failedAt,
          fetch_retry_status: 401,
          fetch_retry_key: apiKeyFingerprint("the-old-wrong-key"),
        },
      ],
    });

    const report = await handlerFor()(scheduledEvent);

    expect(report).toMatchObject({ fetchRetried: 1, queued: 1 });
    expect(queuedMessages()).toEqual([expect.objectContaining({ transcript_id: id, source: "reconciler" })]);
    expect(documentsMock).toHaveReceivedCommandWith(QueryCommand, {
      IndexName: "by-fetch-retry",
      ExpressionAttributeValues: { ":waiting": "waiting", ":since": expect.any(String) },
    });
    expect(writtenCheckpoint().fetch_retries).toEqual([
      expect.objectContaining({
        transcript_id: id,
        attempts: 1,
        key_fingerprint: apiKeyFingerprint("test-key"),
      }),
    ]);
    const written = JSON.stringify([writtenCheckpoint(), lines]);
    expect(written).not.toContain("test-key");
    expect(lines).toContainEqual(
      expect.objectContaining({ transcript_id: id, outcome: "queued", fetch_retry: 1 }),
    );
  });

  it("logs one summary line with ReconcilerApiCalls, and ReconciledDeliveries per outcome even when 0", async () => {
    await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);

    await handlerFor()(scheduledEvent);

    const summary = lines.find((line) => line.message === "reconcile run");
    expect(summary).toMatchObject({
      level: "INFO",
      queued: 1,
      delivered: 0,
      apiCalls: 2,
      budgetExhausted: false,
    });
    expect(lines.filter((line) => line.message === "reconciled deliveries")).toHaveLength(4);
    expect(summary).not.toHaveProperty("nextUnread");
    // One EMF line per outcome as it is logged, then the run's own metrics when the invocation ends.
    expect(metricLines.map((line) => [line.Outcome, line.ReconciledDeliveries])).toEqual([
      ["queued", 1],
      ["already_stored", 0],
      ["skipped", 0],
      ["superseded", 0],
      [undefined, undefined],
    ]);
    expect(metricLines[0]?._aws).toMatchObject({
      CloudWatchMetrics: [
        {
          Namespace: "AssemblyAIWebhooks",
          Dimensions: [["Stack", "Outcome"]],
          Metrics: [{ Name: "ReconciledDeliveries", Unit: "Count" }],
        },
      ],
    });
    expect(metricLines[4]).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: "AssemblyAIWebhooks",
            Dimensions: [["Stack"]],
            Metrics: [
              { Name: "ReconcilerApiCalls", Unit: "Count" },
              { Name: "ReconcilerCheckpointLag", Unit: "Milliseconds" },
              { Name: "ReconcilerUnreadAbandoned", Unit: "Count" },
            ],
          },
        ],
      },
      Stack: "test-stack",
      ReconcilerApiCalls: 2,
      ReconcilerCheckpointLag: expect.any(Number),
    });
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: "transcript queued by the reconciler",
        customer_id: "c1",
        order_id: "o1",
      }),
    );
  });

  it("queues a missed transcript with AssemblyAI's listed times, and received_at from the run's clock", async () => {
    const id = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);
    const startedAt = Date.now();

    await handlerFor()(scheduledEvent);

    const [message] = queuedMessages();
    expect(message).toMatchObject({ transcript_id: id });
    const completed = (await (
      await fetch(`${sim.url}/v2/transcript?limit=10`, { headers: { authorization: "test-key" } })
    ).json()) as { transcripts: { id: string; created: string; completed: string }[] };
    const listed = completed.transcripts.find((t) => t.id === id);
    expect(message).toMatchObject({
      created: normalizeAssemblyAiTime(listed?.created),
      completed: normalizeAssemblyAiTime(listed?.completed),
    });
    expect(Date.parse(String(message?.received_at))).toBeGreaterThanOrEqual(startedAt);
  });

  it("neither queues nor logs a transcript whose webhook our receiver answered 2xx, and counts it", async () => {
    // A receiver that accepts every delivery, as ours does once it has queued it.
    const receiver = http.createServer((_request, response) => response.writeHead(200).end());
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhook`;
    try {
      await finishedJob(`${url}?customer_id=c1&order_id=o1`);

      const report = await handlerFor({ webhookUrl: url })(scheduledEvent);

      expect(report).toMatchObject({ examined: 1, matched: 1, delivered: 1, queued: 0, apiCalls: 2 });
      expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 0);
      // Its record is read once: a delivered transcript may have lost only by arrival order.
      expect(documentsMock).toHaveReceivedCommandTimes(GetCommand, 1);
      expect(lines.filter((line) => line.transcript_id !== undefined)).toEqual([]);
      expect(lines.find((line) => line.message === "reconcile run")).toMatchObject({ delivered: 1 });
    } finally {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it("skips a transcript AssemblyAI answers 404 for, logging why, without failing the run", async () => {
    const gone = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);
    const kept = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o2`);
    sim.faults.add({ status: 404, transcriptId: gone });

    const report = await handlerFor()(scheduledEvent);

    expect(report).toMatchObject({ examined: 2, skipped: 1, queued: 1 });
    expect(report?.stopReason).toBeUndefined();
    expect(queuedMessages().map((m) => (m.kind === "transcript" ? m.transcript_id : ""))).toEqual([kept]);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "WARN",
        transcript_id: gone,
        outcome: "skipped",
        reason: expect.stringContaining("cannot be read (final 404)"),
      }),
    );
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  });

  it("logs the decisions and the run before saving the checkpoint, and fails when it cannot be saved", async () => {
    await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);
    s3Mock.on(PutObjectCommand).rejects(Object.assign(new Error("Access Denied"), { name: "AccessDenied" }));

    await expect(handlerFor()(scheduledEvent)).rejects.toThrow("Access Denied");

    expect(queuedMessages()).toHaveLength(1);
    const messages = lines.map((line) => line.message);
    const queuedAt = messages.indexOf("transcript queued by the reconciler");
    const runAt = messages.indexOf("reconcile run");
    const failedAt = messages.indexOf("reconcile failed");
    expect(queuedAt).toBeGreaterThanOrEqual(0);
    expect(runAt).toBeGreaterThan(queuedAt);
    expect(messages.filter((m) => m === "reconciled deliveries")).toHaveLength(4);
    expect(failedAt).toBeGreaterThan(runAt);
    expect(lines[failedAt]).toMatchObject({ level: "ERROR", error_detail: "AccessDenied: Access Denied" });
  });

  it("logs a transcript whose webhook URL lacks its metadata, and does not queue it", async () => {
    const id = await finishedJob(`${WEBHOOK_URL}?customer_id=c1`);

    const report = await handlerFor()(scheduledEvent);

    expect(report).toMatchObject({ skipped: 1, queued: 0 });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "WARN",
        transcript_id: id,
        outcome: "skipped",
        reason: "query parameter order_id is required",
      }),
    );
  });

  it("does nothing but warn while the API key secret holds its placeholder", async () => {
    secretsMock
      .on(GetSecretValueCommand)
      .resolves({ SecretString: "PLACEHOLDER: set the AssemblyAI API key" });

    const report = await handlerFor()(scheduledEvent);

    expect(report).toBeUndefined();
    expect(lines).toEqual([
      expect.objectContaining({ level: "WARN", message: expect.stringContaining("placeholder") }),
    ]);
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 0);
    expect(sim.requestCount("GET /v2/transcript")).toBe(0);
  });

  it("does nothing but warn while the API key secret has no value yet, as the stack creates it", async () => {
    secretsMock
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ message: "no value for AWSCURRENT", $metadata: {} }));

    const report = await handlerFor()(scheduledEvent);

    expect(report).toBeUndefined();
    expect(lines).toEqual([
      expect.objectContaining({ level: "WARN", message: expect.stringContaining("not set") }),
    ]);
    expect(sim.requestCount("GET /v2/transcript")).toBe(0);
  });

  it("saves its progress, logs the error and fails the invocation when AssemblyAI's listing fails", async () => {
    await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);
    sim.faults.add({ status: 500, times: 1, route: "GET /v2/transcript" });

    await expect(handlerFor()(scheduledEvent)).rejects.toBeInstanceOf(ReconcileFailedError);

    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "ERROR",
        message: "reconcile run stopped early (failure)",
        failure: expect.stringContaining("answered HTTP 500"),
      }),
    );
  });

  it("recovers a later missed delivery past a transcript answering 500 forever, and keeps that one to retry", async () => {
    const failing = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);
    const later = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o2`);
    sim.faults.add({ status: 500, transcriptId: failing });

    const report = await handlerFor()(scheduledEvent);

    expect(report).toMatchObject({ examined: 2, skipped: 1, queued: 1, unreadRetrying: 1 });
    expect(report?.stopReason).toBeUndefined();
    expect(queuedMessages().map((m) => (m.kind === "transcript" ? m.transcript_id : ""))).toEqual([later]);
    expect(writtenCheckpoint()).toMatchObject({
      version: 2,
      unread: [{ transcript_id: failing, status: "completed", attempts: 1 }],
    });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "WARN",
        transcript_id: failing,
        outcome: "skipped",
        unread: "retrying",
        reason: expect.stringContaining("answered HTTP 500"),
      }),
    );
  });

  it("reads again, from the checkpoint, a transcript an earlier run could not read, though settled", async () => {
    const id = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);
    storedCheckpoint({
      version: 2,
      since: new Date(Date.now() + 60_000).toISOString(),
      settled_before: new Date(Date.now() + 60_000).toISOString(),
      unread: [{ transcript_id: id, status: "completed", attempts: 1, last_error: "HTTP 500" }],
    });

    const report = await handlerFor()(scheduledEvent);

    expect(report).toMatchObject({ queued: 1, unreadRetrying: 0, nextUnread: [] });
    expect(queuedMessages()).toEqual([expect.objectContaining({ transcript_id: id })]);
    expect(writtenCheckpoint()).toMatchObject({ version: 2, unread: [] });
  });

  it("logs a transcript it gave up reading, with the ReconcilerUnreadAbandoned metric", async () => {
    const id = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);
    sim.faults.add({ status: 500, transcriptId: id });
    storedCheckpoint({
      version: 2,
      since: new Date(Date.now() - 30 * 60_000).toISOString(),
      unread: [{ transcript_id: id, status: "completed", attempts: 4, last_error: "HTTP 500" }],
    });

    const report = await handlerFor()(scheduledEvent);

    expect(report).toMatchObject({ unreadAbandoned: 1, nextUnread: [] });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "WARN",
        transcript_id: id,
        unread: "abandoned",
        reason: expect.stringContaining("not read in 5 runs, given up"),
      }),
    );
    expect(metricLines.at(-1)).toMatchObject({ ReconcilerUnreadAbandoned: 1 });
    expect(writtenCheckpoint()).toMatchObject({ unread: [] });
  });

  it("drops its cached API key on a 401, so a fixed key is used on the next run, not after the cache TTL", async () => {
    await sim.close();
    sim = await startSimulator({ processingDelayMs: 10, webhookMaxAttempts: 1, apiKey: "test-key" });
    await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);
    secretsMock
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: "revoked-key" })
      .resolves({ SecretString: "test-key" });
    const handler = handlerFor({ secretCacheTtlSeconds: 300 });

    await expect(handler(scheduledEvent)).rejects.toThrow("answered HTTP 401");
    const report = await handler(scheduledEvent);

    expect(report).toMatchObject({ queued: 1 });
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it("lists on from the listing cursor saved with the checkpoint, and saves where the next run stops", async () => {
    const older = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);
    const newer = await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o2`);
    const listed = (await (
      await fetch(`${sim.url}/v2/transcript?limit=10`, { headers: { authorization: "test-key" } })
    ).json()) as { transcripts: { id: string; created: string }[] };
    const newerCreated = new Date(
      `${listed.transcripts.find((t) => t.id === newer)?.created}Z`,
    ).toISOString();
    storedCheckpoint({
      version: 2,
      since: new Date(Date.now() - 30 * 60_000).toISOString(),
      listing: { resume_before_id: newer, resume_before_created: newerCreated },
    });

    const report = await handlerFor()(scheduledEvent);

    // The newer one is above the cursor: the run after this one lists it, down to the cursor.
    expect(queuedMessages().map((m) => (m.kind === "transcript" ? m.transcript_id : ""))).toEqual([older]);
    expect(report?.stopReason).toBeUndefined();
    expect(writtenCheckpoint()).toMatchObject({
      since: newerCreated,
      listing: { resume_before_id: null, stop_at_id: newer },
    });
  });

  it("fails the invocation when the message cannot be queued", async () => {
    await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);
    sqsMock.on(SendMessageCommand).rejects(new Error("SQS is down"));

    await expect(handlerFor()(scheduledEvent)).rejects.toThrow("SQS is down");
  });

  it("fails the invocation, logging why, when the checkpoint cannot be read", async () => {
    s3Mock
      .on(ListObjectsV2Command)
      .rejects(Object.assign(new Error("Access Denied"), { name: "AccessDenied" }));

    await expect(handlerFor()(scheduledEvent)).rejects.toThrow("Access Denied");

    expect(lines).toEqual([
      expect.objectContaining({
        level: "ERROR",
        message: "reconcile failed",
        error_detail: "AccessDenied: Access Denied",
      }),
    ]);
  });

  it("stops before the Lambda timeout and says so", async () => {
    await finishedJob(`${WEBHOOK_URL}?customer_id=c1&order_id=o1`);

    const report = await handlerFor()(scheduledEvent, lambdaContext("reconciler", 256, 1_000));

    expect(report).toMatchObject({ stopReason: "time", apiCalls: 0 });
    expect(lines).toContainEqual(
      expect.objectContaining({ level: "WARN", message: "reconcile run stopped early (time)" }),
    );
  });
});

describe("runLogEvents", () => {
  const startedAt = new Date("2025-06-01T12:00:00.000Z");
  const since = new Date("2025-05-31T12:00:00.000Z");
  const base: ReconcileReport = {
    examined: 0,
    matched: 0,
    alreadyStored: 0,
    delivered: 0,
    queued: 0,
    skipped: 0,
    superseded: 0,
    pending: 0,
    unreadRetrying: 0,
    unreadAbandoned: 0,
    fetchRetryWaiting: 0,
    fetchRetried: 0,
    fetchRetriesAbandoned: 0,
    nextUnread: [],
    nextFetchRetries: [],
    apiCalls: 200,
    budgetExhausted: true,
    stopReason: "budget",
    nextCheckpoint: since.toISOString(),
    listedBackTo: "2025-06-01T09:00:00.000Z",
    transcripts: [],
  };
  const budgetWarning = (events: ReturnType<typeof runLogEvents>) =>
    events.find((event) => event.message.includes("raise reconcileMaxApiCalls"));

  it("warns, with the window's size, when the budget ran out before the listing reached since", () => {
    const events = runLogEvents(base, since, startedAt, new Date(startedAt.getTime() + 5_000));

    expect(budgetWarning(events)).toEqual({
      level: "warn",
      message: expect.stringContaining("budget ran out before listing reached the checkpoint"),
      fields: {
        since: since.toISOString(),
        window_minutes: 24 * 60,
        listed_back_to: "2025-06-01T09:00:00.000Z",
        listed_minutes: 180,
        api_calls: 200,
      },
    });
    // The lag metric stays on the summary line, for the checkpoint-lag alarm.
    expect(events[0]?.metrics).toMatchObject({
      ReconcilerCheckpointLag: { value: 24 * 60 * 60_000, unit: "Milliseconds" },
    });
  });

  it("does not warn when the listing reached since, or when it stopped for another reason", () => {
    const { listedBackTo: _listed, ...listedAll } = base;

    expect(budgetWarning(runLogEvents(listedAll, since, startedAt, startedAt))).toBeUndefined();
    expect(
      budgetWarning(
        runLogEvents({ ...base, stopReason: "time", budgetExhausted: false }, since, startedAt, startedAt),
      ),
    ).toBeUndefined();
  });

  it("keeps delivered out of the ReconciledDeliveries outcomes", () => {
    const events = runLogEvents({ ...base, delivered: 3 }, since, startedAt, startedAt);

    expect(
      events.filter((event) => event.dimensions !== undefined).map((e) => e.dimensions?.Outcome),
    ).toEqual(["queued", "already_stored", "skipped", "superseded"]);
    expect(events[0]?.fields).toMatchObject({ delivered: 3 });
  });
});
