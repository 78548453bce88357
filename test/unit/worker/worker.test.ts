import type { ServerResponse } from "node:http";
import { gunzipSync } from "node:zlib";
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { ChangeMessageVisibilityCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-jest";
import { fromAttributeMap, toAttributeMap } from "../../../functions/shared/attribute-values";
import {
  buildQuarantineMessage,
  claimCheckBody,
  serializeDeliveryMessage,
} from "../../../functions/shared/contract/delivery";
import { apiKeyFingerprint } from "../../../functions/shared/secrets";
import type { WorkerConfig } from "../../../functions/worker/config";
import {
  REDACTED_AUDIO_ATTRIBUTES,
  SESSION_ATTRIBUTES,
  TRANSCRIPT_ATTRIBUTES,
} from "../../../functions/worker/updates";
import { createWorker, DEADLINE_RESERVE_MS, OUT_OF_TIME } from "../../../functions/worker/worker";
import { setWriter, type Writer } from "../../support/telemetry";
import {
  API_KEY,
  CUSTOMER_ID,
  completedTranscript,
  FakeAssemblyAi,
  FakeTable,
  fixture,
  json,
  type Line,
  ORDER_ID,
  outcomes,
  plainUpdate,
  type Route,
  redactedAudioMessage,
  SESSION_ID,
  sessionMessage,
  sqsEvent,
  TRANSCRIPT_ID,
  tenHourTranscriptJson,
  testConfig,
  transcriptMessage,
  transcriptRoute,
  unknownMessage,
  withListing,
} from "./support";

const documents = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
const sqs = mockClient(SQSClient);
const secrets = mockClient(SecretsManagerClient);

const assemblyAi = new FakeAssemblyAi();
const KEY = { customer_id: CUSTOMER_ID, order_id: ORDER_ID };
const JSON_KEY = `transcripts/${CUSTOMER_ID}/${ORDER_ID}/${TRANSCRIPT_ID}.json.gz`;
const TEXT_KEY = `transcripts/${CUSTOMER_ID}/${ORDER_ID}/${TRANSCRIPT_ID}.txt`;

let table: FakeTable;
/** The log lines written, and the EMF lines (with `_aws`) apart. */
let lines: Line[];
let metricLines: Line[];
let previousWriter: Writer;

function worker(overrides: Partial<WorkerConfig> = {}) {
  return createWorker(testConfig(assemblyAi.baseUrl, overrides), { random: () => 0.5 });
}

function puts(): PutObjectCommandInput[] {
  return s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
}

function put(key: string): PutObjectCommandInput | undefined {
  return puts().find((input) => input.Key === key);
}

function updateExpressions(): string[] {
  return documents.commandCalls(UpdateItemCommand).map((call) => call.args[0].input.UpdateExpression ?? "");
}

function visibilityTimeouts(): (number | undefined)[] {
  return sqs.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input.VisibilityTimeout);
}

beforeAll(async () => {
  process.env.AWS_REGION ??= "us-east-1";
  await assemblyAi.start();
});

afterAll(async () => {
  await assemblyAi.stop();
});

beforeEach(() => {
  documents.reset();
  s3.reset();
  sqs.reset();
  secrets.reset();
  assemblyAi.reset();
  table = new FakeTable();
  // The worker's own marshaller, as the real table would answer: util-dynamodb's throws on some metadata.
  documents.on(GetItemCommand).callsFake((input) => {
    const item = table.get(fromAttributeMap(input.Key ?? {}));
    return { Item: item === undefined ? undefined : toAttributeMap(item) };
  });
  documents.on(UpdateItemCommand).callsFake((input) => {
    table.update(plainUpdate(input));
    return {};
  });
  s3.on(PutObjectCommand).resolves({ ETag: '"etag"' });
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "upload-1" });
  s3.on(UploadPartCommand).resolves({ ETag: '"part"' });
  s3.on(CompleteMultipartUploadCommand).resolves({});
  s3.on(AbortMultipartUploadCommand).resolves({});
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  secrets.on(GetSecretValueCommand).resolves({ SecretString: API_KEY });
  lines = [];
  metricLines = [];
  previousWriter = setWriter((text) => {
    const line = JSON.parse(text) as Line;
    ("_aws" in line ? metricLines : lines).push(line);
  });
});

afterEach(() => {
  setWriter(previousWriter);
});

describe("a transcript delivery", () => {
  it("fetches the transcript with the API key and stores the gzipped JSON, then the item", async () => {
    const transcript = completedTranscript();
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: transcript });

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(assemblyAi.requests).toEqual([
      { method: "GET", path: `/v2/transcript/${TRANSCRIPT_ID}`, authorization: API_KEY },
    ]);
    const archived = put(JSON_KEY);
    expect(archived).toMatchObject({
      Bucket: "transcripts-bucket",
      ContentType: "application/json",
      ContentEncoding: "gzip",
    });
    expect(JSON.parse(gunzipSync(archived?.Body as Uint8Array).toString("utf8"))).toEqual(transcript);
    expect(table.get(KEY)).toEqual({
      ...KEY,
      transcript_id: TRANSCRIPT_ID,
      status: "completed",
      text: transcript.text,
      audio_duration: 281,
      language_code: "en_us",
      confidence: 0.9812,
      metadata: { customer_id: CUSTOMER_ID, order_id: ORDER_ID, campaign: "spring" },
      received_at: "2025-11-27T06:00:00.000Z",
      stored_at: expect.any(String),
      transcript_s3_key: JSON_KEY,
      source: "webhook",
      request_id: "JyTvlh2PoAMEb5Q=",
    });
  });

  it("writes S3 before the item, so the item never points at a missing object", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });
    const order: string[] = [];
    s3.on(PutObjectCommand).callsFake(() => {
      order.push("s3");
      return {};
    });
    documents.on(UpdateItemCommand).callsFake((input) => {
      order.push("dynamodb");
      table.update(plainUpdate(input));
      return {};
    });

    await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(order).toEqual(["s3", "dynamodb"]);
  });

  it("emits one line with the record's ids, outcome, attempt, latency and the EMF metrics", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });

    await worker().handleBatch(sqsEvent({ body: transcriptMessage(), messageId: "m-1", receiveCount: 2 }));

    expect(lines).toHaveLength(1);
    const line = lines[0] as Line;
    expect(line).toMatchObject({
      transcript_id: TRANSCRIPT_ID,
      customer_id: CUSTOMER_ID,
      order_id: ORDER_ID,
      kind: "transcript",
      outcome: "stored",
      Outcome: "stored",
      attempt: 2,
      message_id: "m-1",
      request_id: "JyTvlh2PoAMEb5Q=",
      latency_ms: expect.any(Number),
    });
    expect(metricLines).toEqual([
      {
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [
            {
              Namespace: "AssemblyAIWebhooks",
              Dimensions: [["Stack", "Outcome"]],
              Metrics: [
                { Name: "Records", Unit: "Count" },
                { Name: "DeliveryToStoredLatency", Unit: "Milliseconds" },
              ],
            },
          ],
        },
        Stack: "test-stack",
        Outcome: "stored",
        Records: 1,
        DeliveryToStoredLatency: line.latency_ms,
      },
    ]);
    expect(JSON.stringify([...lines, ...metricLines])).not.toContain(API_KEY);
  });

  it("stores an errored transcript with its error and no text", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: fixture("transcript-error.json") });

    await worker().handleBatch(sqsEvent({ body: transcriptMessage({ status: "error" }) }));

    const item = table.get(KEY);
    expect(item).toMatchObject({ status: "error", error: expect.stringContaining("Download error") });
    expect(item).not.toHaveProperty("text");
    expect(item).not.toHaveProperty("text_s3_key");
    expect(item).not.toHaveProperty("audio_duration");
    expect(outcomes(lines)).toEqual(["stored"]);
  });

  it("stores a 10-hour transcript: the text goes to S3 and the item keeps no inline text", async () => {
    const body = tenHourTranscriptJson(TRANSCRIPT_ID);
    expect(body.length).toBeGreaterThan(10_000_000);
    assemblyAi.route = (_request, response) => json(response, 200, body);

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result.batchItemFailures).toEqual([]);
    const item = table.get(KEY);
    expect(item).toMatchObject({ status: "completed", text_s3_key: TEXT_KEY, audio_duration: 36000 });
    expect(item).not.toHaveProperty("text");
    const text = put(TEXT_KEY);
    expect(text?.ContentType).toBe("text/plain; charset=utf-8");
    expect(String(text?.Body).split(" ")).toHaveLength(120_000);
    const archived = gunzipSync(put(JSON_KEY)?.Body as Uint8Array);
    expect(archived.length).toBe(Buffer.byteLength(body));
    expect((JSON.parse(archived.toString("utf8")) as { words: unknown[] }).words).toHaveLength(120_000);
  });

  it("keeps text inline up to INLINE_TEXT_MAX_BYTES and moves it to S3 one byte beyond", async () => {
    const text = "é".repeat(50); // 100 UTF-8 bytes
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript({ text }) });

    await worker({ inlineTextMaxBytes: 100 }).handleBatch(sqsEvent({ body: transcriptMessage() }));
    expect(table.get(KEY)).toMatchObject({ text });

    table = new FakeTable();
    await worker({ inlineTextMaxBytes: 99 }).handleBatch(sqsEvent({ body: transcriptMessage() }));
    expect(table.get(KEY)).toMatchObject({ text_s3_key: TEXT_KEY });
    expect(table.get(KEY)).not.toHaveProperty("text");
  });
});

describe("idempotency", () => {
  it("fetches and writes once when the same record arrives twice", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });
    const handler = worker();

    await handler.handleBatch(sqsEvent({ body: transcriptMessage() }));
    const second = await handler.handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(second.batchItemFailures).toEqual([]);
    expect(assemblyAi.transcriptRequests()).toHaveLength(1);
    expect(documents).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(outcomes(lines)).toEqual(["stored", "duplicate"]);
  });

  it("treats the loser of two concurrent duplicates as a duplicate, not a failure", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });

    const result = await worker().handleBatch(
      sqsEvent({ body: transcriptMessage(), messageId: "a" }, { body: transcriptMessage(), messageId: "b" }),
    );

    expect(result.batchItemFailures).toEqual([]);
    expect(documents).toHaveReceivedCommandTimes(UpdateItemCommand, 2);
    expect(outcomes(lines).sort()).toEqual(["duplicate", "stored"]);
    expect(table.get(KEY)).toMatchObject({ transcript_id: TRANSCRIPT_ID, status: "completed" });
  });

  it("replaces the stored transcript with a newer one for the same order, dropping its stale fields and audio", async () => {
    table.put({
      ...KEY,
      transcript_id: "older-transcript",
      status: "completed",
      text: "the older text",
      audio_duration: 12,
      received_at: "2025-11-27T05:00:00.000Z",
      transcript_s3_key: "transcripts/cust-1234/order-5678/older-transcript.json.gz",
      redacted_audio_s3_key: "redacted-audio/cust-1234/order-5678/older-transcript.wav",
      redacted_audio_stored_at: "2025-11-27T05:10:00.000Z",
      redacted_audio_transcript_id: "older-transcript",
      redacted_audio_error: "an earlier download failed",
    });
    // Arrival order says nothing: AssemblyAI's list says the stored one was created first.
    assemblyAi.route = withListing(
      ["older-transcript", TRANSCRIPT_ID],
      transcriptRoute({ [TRANSCRIPT_ID]: fixture("transcript-error.json") }),
    );

    await worker().handleBatch(
      sqsEvent({ body: transcriptMessage({ status: "error", received_at: "2025-11-27T04:00:00.000Z" }) }),
    );

    const item = table.get(KEY);
    expect(item).toMatchObject({
      transcript_id: TRANSCRIPT_ID,
      status: "error",
      transcript_s3_key: JSON_KEY,
      transcript_created: "2025-11-27T04:00:01.000001Z",
    });
    expect(item).not.toHaveProperty("text");
    expect(item).not.toHaveProperty("audio_duration");
    for (const name of REDACTED_AUDIO_ATTRIBUTES) expect(item).not.toHaveProperty(name);
    expect(outcomes(lines)).toEqual(["stored"]);
  });

  describe("when AssemblyAI's list cannot order the two transcripts", () => {
    // A list that answers, but whose neighbours never lead back: the times are "unknown" for every id.
    const misleadingList =
      (route: Route): Route =>
      (request, response) => {
        const url = new URL(request.url ?? "", "http://fake");
        if (url.pathname !== "/v2/transcript") return route(request, response);
        const id = url.searchParams.has("before_id") ? "neighbour-a" : "neighbour-b";
        json(response, 200, {
          page_details: { limit: 1, result_count: 1 },
          transcripts: [{ id, status: "completed", created: "2025-11-27T04:00:00.000001" }],
        });
      };

    beforeEach(() => {
      table.put({
        ...KEY,
        transcript_id: "other-transcript",
        status: "completed",
        received_at: "2025-11-27T05:00:00.000Z",
      });
      assemblyAi.route = misleadingList(transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() }));
    });

    it("stores the later arrival and notes the one it replaced, for the reconciler to revisit", async () => {
      await worker().handleBatch(
        sqsEvent({ body: transcriptMessage({ received_at: "2025-11-27T06:00:00.000Z" }) }),
      );

      expect(table.get(KEY)).toMatchObject({
        transcript_id: TRANSCRIPT_ID,
        undecided_transcript_id: "other-transcript",
      });
      expect(outcomes(lines)).toEqual(["stored"]);
    });

    it("keeps the later arrival stored and notes the earlier one that lost", async () => {
      await worker().handleBatch(
        sqsEvent({ body: transcriptMessage({ received_at: "2025-11-27T04:00:00.000Z" }) }),
      );

      expect(table.get(KEY)).toMatchObject({
        transcript_id: "other-transcript",
        undecided_transcript_id: TRANSCRIPT_ID,
      });
      expect(lines[0]).toMatchObject({
        outcome: "superseded",
        reason: expect.stringContaining("cannot order"),
      });
      expect(assemblyAi.transcriptRequests()).toHaveLength(0);
    });

    it("clears the note once AssemblyAI's times decide", async () => {
      table.put({ ...table.get(KEY), undecided_transcript_id: TRANSCRIPT_ID });
      assemblyAi.route = withListing(
        ["other-transcript", TRANSCRIPT_ID],
        transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() }),
      );

      await worker().handleBatch(
        sqsEvent({ body: transcriptMessage({ received_at: "2025-11-27T04:00:00.000Z" }) }),
      );

      const item = table.get(KEY);
      expect(item).toMatchObject({ transcript_id: TRANSCRIPT_ID });
      expect(item).not.toHaveProperty("undecided_transcript_id");
    });
  });

  it("keeps a stored result when a newer transcript cannot be fetched, and reports the failure", async () => {
    table.put({
      ...KEY,
      transcript_id: "older-transcript",
      status: "completed",
      received_at: "2025-11-27T05:00:00.000Z",
      redacted_audio_s3_key: "redacted-audio/cust-1234/order-5678/older.wav",
      redacted_audio_stored_at: "2025-11-27T05:10:00.000Z",
    });
    assemblyAi.route = withListing(["older-transcript", TRANSCRIPT_ID], (_request, response) =>
      json(response, 404, { error: "Transcript not found" }),
    );

    await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    // A failure never replaces a result (contract/winner.ts): the record and its audio stay.
    expect(table.get(KEY)).toMatchObject({
      transcript_id: "older-transcript",
      status: "completed",
      redacted_audio_s3_key: "redacted-audio/cust-1234/order-5678/older.wav",
    });
    expect(lines[0]).toMatchObject({
      outcome: "final_failure",
      reason: expect.stringContaining("not recorded: a failure never replaces a stored result"),
    });
  });

  it("skips an older delivery of another transcript once a newer one is stored (superseded)", async () => {
    table.put({
      ...KEY,
      transcript_id: "newer-transcript",
      status: "completed",
      // Stored before this delivery arrived, yet created after it at AssemblyAI: created decides.
      received_at: "2025-11-27T05:00:00.000Z",
    });
    assemblyAi.route = withListing([TRANSCRIPT_ID, "newer-transcript"]);

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result.batchItemFailures).toEqual([]);
    expect(assemblyAi.transcriptRequests()).toHaveLength(0);
    expect(table.get(KEY)).toMatchObject({ transcript_id: "newer-transcript" });
    expect(outcomes(lines)).toEqual(["superseded"]);
  });

  it("reports superseded when a newer delivery wins the race between read and write", async () => {
    const transcripts = withListing(
      [TRANSCRIPT_ID, "newer-transcript"],
      transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() }),
    );
    assemblyAi.route = (request, response) => {
      if (!request.url?.startsWith("/v2/transcript/")) return transcripts(request, response);
      table.put({
        ...KEY,
        transcript_id: "newer-transcript",
        status: "completed",
        received_at: "2025-11-27T07:00:00.000Z",
      });
      transcripts(request, response);
    };

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result.batchItemFailures).toEqual([]);
    expect(table.get(KEY)).toMatchObject({ transcript_id: "newer-transcript" });
    expect(documents).toHaveReceivedCommandTimes(GetItemCommand, 2);
    expect(outcomes(lines)).toEqual(["superseded"]);
  });

  it("replaces fetch_failed with the completed transcript on replay", async () => {
    table.put({
      ...KEY,
      transcript_id: TRANSCRIPT_ID,
      status: "fetch_failed",
      error: "AssemblyAI answered HTTP 404: Transcript not found",
      received_at: "2025-11-27T06:00:00.000Z",
    });
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });

    await worker().handleBatch(
      sqsEvent({ body: transcriptMessage({ source: "replay", received_at: "2025-11-28T09:00:00.000Z" }) }),
    );

    const item = table.get(KEY);
    expect(item).toMatchObject({ status: "completed", source: "replay" });
    expect(item).not.toHaveProperty("error");
  });
});

describe("transient failures", () => {
  it("waits at least AssemblyAI's Retry-After (plus jitter) on a 429 and reports the record failed", async () => {
    assemblyAi.route = (_request, response) =>
      json(response, 429, { error: "Too many requests" }, { "retry-after": "120" });

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage(), messageId: "m-429" }));

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: "m-429" }]);
    expect(sqs).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, {
      QueueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/assemblyai-transcripts",
      ReceiptHandle: "receipt-m-429",
      // Retry-After 120 s beats the first attempt's 30 s backoff; jitter adds a quarter of random 0.5.
      VisibilityTimeout: 135,
    });
    expect(lines[0]).toMatchObject({
      outcome: "transient_failure",
      level: "WARN",
      reason: "AssemblyAI answered HTTP 429: Too many requests",
      retry_in_seconds: 135,
    });
    expect(documents).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  it("backs off exponentially on a 500, from the receive count", async () => {
    assemblyAi.route = (_request, response) => json(response, 500, { error: "Internal server error" });

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage(), receiveCount: 3 }));

    expect(result.batchItemFailures).toHaveLength(1);
    // 30 s · 2^(3-1) = 120 s, plus jitter of a quarter of it times random 0.5 = 135 s.
    expect(visibilityTimeouts()).toEqual([135]);
    expect(lines[0]).toMatchObject({ outcome: "transient_failure", attempt: 3 });
  });

  it("backs off from RETRY_BASE_SECONDS, and never retries at once on a Retry-After of 0", async () => {
    assemblyAi.route = (_request, response) =>
      json(response, 503, { error: "Service unavailable" }, { "retry-after": "0" });

    await worker({ retryBaseSeconds: 4 }).handleBatch(
      sqsEvent({ body: transcriptMessage(), receiveCount: 2 }),
    );

    // max(0, 4 s · 2) = 8 s, plus jitter of at least 1 s.
    expect(visibilityTimeouts()).toEqual([9]);
  });

  it("retries when the connection drops", async () => {
    assemblyAi.route = (request) => request.socket.destroy();

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result.batchItemFailures).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      outcome: "transient_failure",
      reason: expect.stringContaining("AssemblyAI unreachable"),
    });
  });

  it("retries when AssemblyAI answers 200 with a body that is not JSON", async () => {
    assemblyAi.route = (_request, response) => json(response, 200, "<html>gateway</html>");

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result.batchItemFailures).toHaveLength(1);
    expect(lines[0]).toMatchObject({ reason: "AssemblyAI answered HTTP 200 with a body that is not JSON" });
    expect(table.get(KEY)).toBeUndefined();
  });

  it("retries when AssemblyAI does not answer within the timeout", async () => {
    assemblyAi.route = () => undefined; // never answers

    const result = await worker({ assemblyAiTimeoutMs: 200 }).handleBatch(
      sqsEvent({ body: transcriptMessage() }),
    );

    expect(result.batchItemFailures).toHaveLength(1);
    expect(lines[0]).toMatchObject({ outcome: "transient_failure", reason: "AssemblyAI request timed out" });
  });

  it("stops a fetch that would outlast the invocation and backs the record off instead of timing out", async () => {
    assemblyAi.route = () => undefined; // never answers, and the request timeout is longer than the test's
    const context = { getRemainingTimeInMillis: () => DEADLINE_RESERVE_MS + 300 };

    const result = await worker({ assemblyAiTimeoutMs: 600_000 }).handleBatch(
      sqsEvent({ body: transcriptMessage() }),
      context,
    );

    expect(result.batchItemFailures).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      outcome: "transient_failure",
      reason: expect.stringContaining(OUT_OF_TIME),
    });
    expect(visibilityTimeouts()).toHaveLength(1);
  });

  it("backs off, without starting them, the records whose turn comes after the invocation's deadline", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });
    const context = { getRemainingTimeInMillis: () => DEADLINE_RESERVE_MS - 1 };

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }), context);

    expect(result.batchItemFailures).toHaveLength(1);
    expect(lines[0]).toMatchObject({ outcome: "transient_failure", reason: OUT_OF_TIME });
    expect(assemblyAi.requests).toEqual([]);
    expect(visibilityTimeouts()).toHaveLength(1);
  });

  it("retries while the transcript is still processing", async () => {
    assemblyAi.route = transcriptRoute({
      [TRANSCRIPT_ID]: completedTranscript({ status: "processing", text: null }),
    });

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result.batchItemFailures).toHaveLength(1);
    expect(lines[0]).toMatchObject({ reason: "transcript is still processing at AssemblyAI" });
    expect(table.get(KEY)).toBeUndefined();
  });

  it("retries without marking anything failed while the API key is the stack's placeholder", async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: "PLACEHOLDER-set-me-with-set-api-key" });

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result.batchItemFailures).toHaveLength(1);
    expect(assemblyAi.requests).toHaveLength(0);
    expect(documents).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(lines[0]).toMatchObject({ outcome: "transient_failure", reason: "AssemblyAI API key not set" });
  });

  it("retries without marking anything failed while the API key secret has no value yet, as the stack creates it", async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ message: "no value for AWSCURRENT", $metadata: {} }));

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result.batchItemFailures).toHaveLength(1);
    expect(assemblyAi.requests).toHaveLength(0);
    expect(documents).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(lines[0]).toMatchObject({ outcome: "transient_failure", reason: "AssemblyAI API key not set" });
  });

  it("retries when Secrets Manager fails", async () => {
    secrets.on(GetSecretValueCommand).rejects(new Error("Rate exceeded"));

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result.batchItemFailures).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      reason: expect.stringContaining("could not read the AssemblyAI API key"),
    });
  });

  it("retries when DynamoDB fails", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });
    documents
      .on(UpdateItemCommand)
      .rejects(
        Object.assign(new Error("Throughput exceeded"), { name: "ProvisionedThroughputExceededException" }),
      );

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result.batchItemFailures).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      reason: expect.stringContaining("ProvisionedThroughputExceededException"),
    });
  });

  it("retries without touching the item when S3 fails", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });
    s3.on(PutObjectCommand).rejects(new Error("SlowDown"));

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result.batchItemFailures).toHaveLength(1);
    expect(documents).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  it("still fails the record, and logs why, when ChangeMessageVisibility fails", async () => {
    assemblyAi.route = (_request, response) => json(response, 503, { error: "Service unavailable" });
    sqs.on(ChangeMessageVisibilityCommand).rejects(new Error("ReceiptHandleIsInvalid"));

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage(), messageId: "m-1" }));

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: "m-1" }]);
    expect(lines[0]).toMatchObject({ visibility_change_error: "Error: ReceiptHandleIsInvalid" });
  });

  it("flags the last attempt before the dead-letter queue", async () => {
    assemblyAi.route = (_request, response) => json(response, 500, { error: "Internal server error" });

    await worker().handleBatch(sqsEvent({ body: transcriptMessage(), receiveCount: 8 }));

    expect(lines[0]).toMatchObject({ level: "ERROR", attempt: 8, moving_to_dlq: true });
  });
});

describe("final failures", () => {
  it.each([
    [401, "Invalid API key"],
    [403, "Forbidden"],
    [404, "Transcript not found"],
    [400, "Invalid transcript id"],
  ])("records fetch_failed on HTTP %i and does not retry", async (status, message) => {
    assemblyAi.route = (_request, response) => json(response, status, { error: message });

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result.batchItemFailures).toEqual([]);
    expect(sqs).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
    expect(table.get(KEY)).toMatchObject({
      transcript_id: TRANSCRIPT_ID,
      status: "fetch_failed",
      error: `AssemblyAI answered HTTP ${status}: ${message}`,
    });
    expect(lines[0]).toMatchObject({ outcome: "final_failure", level: "ERROR" });
  });

  it.each([401, 403, 404])(
    "marks a fetch_failed on HTTP %i as waiting for the reconciler, with the key's fingerprint, never the key",
    async (status) => {
      assemblyAi.route = (_request, response) => json(response, status, { error: "refused" });

      await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

      const item = table.get(KEY);
      expect(item).toMatchObject({
        status: "fetch_failed",
        fetch_retry_state: "waiting",
        fetch_retry_since: item?.stored_at,
        fetch_retry_status: status,
        fetch_retry_key: apiKeyFingerprint(API_KEY),
      });
      expect(JSON.stringify(item)).not.toContain(API_KEY);
    },
  );

  it("leaves a fetch_failed a new key or a later read cannot fix (400, a deleted transcript) out of the retry index", async () => {
    assemblyAi.route = (_request, response) => json(response, 400, { error: "Invalid transcript id" });

    await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(table.get(KEY)).toMatchObject({ status: "fetch_failed" });
    expect(Object.keys(table.get(KEY) ?? {}).filter((name) => name.startsWith("fetch_retry"))).toEqual([]);
  });

  it("ends the wait for a retry once the transcript is stored", async () => {
    table.put({
      ...KEY,
      transcript_id: TRANSCRIPT_ID,
      status: "fetch_failed",
      error: "AssemblyAI answered HTTP 401: Invalid API key",
      received_at: "2025-11-27T06:00:00.000Z",
      fetch_retry_state: "waiting",
      fetch_retry_since: "2025-11-27T06:00:01.000Z",
      fetch_retry_status: 401,
      fetch_retry_key: "0123456789abcdef",
    });
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });

    await worker().handleBatch(sqsEvent({ body: transcriptMessage({ source: "reconciler" }) }));

    const item = table.get(KEY);
    expect(item).toMatchObject({ status: "completed", source: "reconciler" });
    expect(Object.keys(item ?? {}).filter((name) => name.startsWith("fetch_retry"))).toEqual([]);
  });

  it("never replaces a stored result with fetch_failed for the same transcript", async () => {
    table.put({
      ...KEY,
      transcript_id: TRANSCRIPT_ID,
      status: "completed",
      text: "kept",
      received_at: "2025-11-27T06:00:00.000Z",
    });

    // An "error" delivery of a stored completed transcript is fetched again, and now answers 404.
    await worker().handleBatch(sqsEvent({ body: transcriptMessage({ status: "error" }) }));

    expect(table.get(KEY)).toMatchObject({ status: "completed", text: "kept" });
    expect(outcomes(lines)).toEqual(["superseded"]);
  });

  it("re-reads the API key after a 401, in case it was rotated", async () => {
    assemblyAi.route = (_request, response) => json(response, 401, { error: "Invalid API key" });
    const handler = worker();

    await handler.handleBatch(sqsEvent({ body: transcriptMessage() }));
    await handler.handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });
});

describe("with both AssemblyAI regions", () => {
  const eu = new FakeAssemblyAi();
  const US_KEY_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:aai-us-AbCdEf";
  const EU_KEY_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:aai-eu-AbCdEf";
  const EU_KEY = "test-assemblyai-eu-key-0123456789";

  beforeAll(() => eu.start());
  afterAll(() => eu.stop());
  beforeEach(() => {
    eu.reset();
    secrets.on(GetSecretValueCommand, { SecretId: EU_KEY_SECRET }).resolves({ SecretString: EU_KEY });
  });

  function twoRegions(first: "us" | "eu" = "us") {
    const regions = {
      us: { region: "us" as const, baseUrl: assemblyAi.baseUrl, apiKeySecretArn: US_KEY_SECRET },
      eu: { region: "eu" as const, baseUrl: eu.baseUrl, apiKeySecretArn: EU_KEY_SECRET },
    };
    return worker({
      assemblyAiRegions: first === "us" ? [regions.us, regions.eu] : [regions.eu, regions.us],
    });
  }

  function regionMessage(params: Record<string, string>, sourceIp = "127.0.0.1") {
    const message = transcriptMessage();
    const metadata = message.metadata as { params: Record<string, string> };
    return {
      ...message,
      source_ip: sourceIp,
      metadata: { ...metadata, params: { ...metadata.params, ...params } },
    };
  }

  it("fetches from the region aai_region names, with that region's key", async () => {
    eu.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });

    await twoRegions().handleBatch(sqsEvent({ body: regionMessage({ aai_region: "eu" }) }));

    expect(assemblyAi.requests).toEqual([]);
    expect(eu.requests).toEqual([
      { method: "GET", path: `/v2/transcript/${TRANSCRIPT_ID}`, authorization: EU_KEY },
    ]);
    expect(table.get(KEY)).toMatchObject({ status: "completed", transcript_id: TRANSCRIPT_ID });
  });

  it("fetches from the region of AssemblyAI's source address when the URL names none", async () => {
    eu.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });

    await twoRegions().handleBatch(sqsEvent({ body: regionMessage({}, "54.220.25.36") }));

    expect(assemblyAi.requests).toEqual([]);
    expect(eu.transcriptRequests()).toHaveLength(1);
    expect(table.get(KEY)).toMatchObject({ status: "completed" });
  });

  it("tries the other region after a 404 and stores what it finds there", async () => {
    eu.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });

    await twoRegions().handleBatch(sqsEvent({ body: regionMessage({}) }));

    expect(assemblyAi.transcriptRequests()).toHaveLength(1);
    expect(eu.transcriptRequests()).toHaveLength(1);
    expect(table.get(KEY)).toMatchObject({ status: "completed", transcript_id: TRANSCRIPT_ID });
    expect(outcomes(lines)).toEqual(["stored"]);
    expect(lines[0]).toMatchObject({ assemblyai_region: "eu", regions_tried: ["us", "eu"] });
  });

  it("retries, counting ApiKeyNotSet, while the region's key is not set, naming the region", async () => {
    secrets.on(GetSecretValueCommand, { SecretId: EU_KEY_SECRET }).resolves({ SecretString: "PLACEHOLDER" });

    const result = await twoRegions().handleBatch(sqsEvent({ body: regionMessage({ aai_region: "eu" }) }));

    expect(result.batchItemFailures).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      outcome: "transient_failure",
      reason: "AssemblyAI API key not set (eu)",
    });
    expect(metricLines.some((line) => "ApiKeyNotSet" in line)).toBe(true);
  });

  it("records fetch_failed only after a 404 in every region, naming them", async () => {
    const result = await twoRegions("eu").handleBatch(sqsEvent({ body: regionMessage({}) }));

    expect(result.batchItemFailures).toEqual([]);
    expect(eu.transcriptRequests()).toHaveLength(1);
    expect(assemblyAi.transcriptRequests()).toHaveLength(1);
    expect(table.get(KEY)).toMatchObject({
      status: "fetch_failed",
      error: "AssemblyAI answered HTTP 404: Transcript not found (in eu and us)",
    });
  });

  it("does not look in the other region after an answer other than 404", async () => {
    assemblyAi.route = (_request, response) => json(response, 500, { error: "Internal server error" });
    eu.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });

    const result = await twoRegions().handleBatch(sqsEvent({ body: regionMessage({}) }));

    expect(result.batchItemFailures).toHaveLength(1);
    expect(eu.requests).toEqual([]);
  });

  it("drops only the refusing region's cached key after a 401", async () => {
    eu.route = (_request, response) => json(response, 401, { error: "Invalid API key" });
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });
    const handler = twoRegions();
    const reads = (secretId: string) =>
      secrets.commandCalls(GetSecretValueCommand).filter((call) => call.args[0].input.SecretId === secretId);

    await handler.handleBatch(sqsEvent({ body: regionMessage({ aai_region: "eu" }) }));
    await handler.handleBatch(sqsEvent({ body: regionMessage({ aai_region: "eu" }) }));
    await handler.handleBatch(sqsEvent({ body: regionMessage({ aai_region: "us" }) }));
    await handler.handleBatch(sqsEvent({ body: regionMessage({ aai_region: "us" }) }));

    expect(reads(EU_KEY_SECRET)).toHaveLength(2);
    expect(reads(US_KEY_SECRET)).toHaveLength(1);
  });
});

describe("a transcript deleted at AssemblyAI", () => {
  const deleted = () =>
    transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript({ text: "Deleted by user.", words: [] }) });

  it("never overwrites a stored result", async () => {
    const stored = {
      ...KEY,
      transcript_id: TRANSCRIPT_ID,
      status: "completed",
      text: "the real text",
      received_at: "2025-11-27T06:00:00.000Z",
    };
    table.put(stored);
    assemblyAi.route = deleted();

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage({ status: "error" }) }));

    expect(result.batchItemFailures).toEqual([]);
    expect(table.get(KEY)).toEqual(stored);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(outcomes(lines)).toEqual(["deleted_skipped"]);
  });

  it("records fetch_failed when nothing is stored for it", async () => {
    assemblyAi.route = deleted();

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result.batchItemFailures).toEqual([]);
    expect(table.get(KEY)).toMatchObject({
      status: "fetch_failed",
      error: "transcript was deleted at AssemblyAI",
    });
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(outcomes(lines)).toEqual(["final_failure"]);
  });
});

describe("redacted audio", () => {
  const AUDIO = Buffer.alloc(4096, 7);
  const audioPath = `/api.assembly.ai.usw2/redacted-audio/${TRANSCRIPT_ID}.wav`;
  const audioKey = `redacted-audio/${CUSTOMER_ID}/${ORDER_ID}/${TRANSCRIPT_ID}.wav`;
  const audioUrl = () => `${assemblyAi.baseUrl}${audioPath}?X-Amz-Signature=abc`;
  const serveAudio = () => {
    const transcripts = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });
    assemblyAi.route = (request, response) => {
      if (!request.url?.startsWith(audioPath)) return transcripts(request, response);
      response.writeHead(200, { "content-type": "audio/wav" });
      response.end(AUDIO);
    };
  };
  const transcriptOnly = TRANSCRIPT_ATTRIBUTES.filter((name) => name !== "metadata");

  it("streams the file into the bucket and records its key on a new item with the metadata", async () => {
    serveAudio();

    const result = await worker().handleBatch(sqsEvent({ body: redactedAudioMessage(audioUrl()) }));

    expect(result.batchItemFailures).toEqual([]);
    expect(put(audioKey)).toMatchObject({ ContentType: "audio/wav" });
    expect(Buffer.from(put(audioKey)?.Body as Uint8Array)).toEqual(AUDIO);
    expect(assemblyAi.requests[0]?.authorization).toBeUndefined();
    expect(table.get(KEY)).toEqual({
      ...KEY,
      redacted_audio_s3_key: audioKey,
      redacted_audio_stored_at: expect.any(String),
      redacted_audio_transcript_id: TRANSCRIPT_ID,
      metadata: { customer_id: CUSTOMER_ID, order_id: ORDER_ID, campaign: "spring" },
    });
    expect(lines[0]).toMatchObject({
      outcome: "redacted_audio_stored",
      kind: "redacted_audio",
      transcript_id: TRANSCRIPT_ID,
      s3_key: audioKey,
    });
  });

  it("arriving before its transcript, keeps both writes' fields", async () => {
    serveAudio();
    const handler = worker();

    await handler.handleBatch(sqsEvent({ body: redactedAudioMessage(audioUrl()) }));
    await handler.handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(table.get(KEY)).toMatchObject({
      redacted_audio_s3_key: audioKey,
      transcript_id: TRANSCRIPT_ID,
      status: "completed",
    });
    const [audioUpdate, transcriptUpdate] = updateExpressions();
    for (const name of transcriptOnly) expect(audioUpdate).not.toContain(`#${name} `);
    for (const name of REDACTED_AUDIO_ATTRIBUTES) expect(transcriptUpdate).not.toContain(name);
  });

  it("arriving after its transcript, keeps both writes' fields", async () => {
    serveAudio();
    const handler = worker();

    await handler.handleBatch(sqsEvent({ body: transcriptMessage() }));
    const stored = table.get(KEY);
    await handler.handleBatch(sqsEvent({ body: redactedAudioMessage(audioUrl()) }));

    expect(table.get(KEY)).toEqual({
      ...stored,
      redacted_audio_s3_key: audioKey,
      redacted_audio_stored_at: expect.any(String),
      redacted_audio_transcript_id: TRANSCRIPT_ID,
    });
  });

  it("arriving before its transcript, is kept when that transcript replaces an older one", async () => {
    table.put({
      ...KEY,
      transcript_id: "older-transcript",
      status: "completed",
      received_at: "2025-11-27T05:00:00.000Z",
      redacted_audio_s3_key: audioKey,
      redacted_audio_stored_at: "2025-11-27T06:00:06.000Z",
      redacted_audio_transcript_id: TRANSCRIPT_ID,
    });
    serveAudio();
    const audio = assemblyAi.route;
    assemblyAi.route = withListing(["older-transcript", TRANSCRIPT_ID], audio);

    await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(table.get(KEY)).toMatchObject({
      transcript_id: TRANSCRIPT_ID,
      status: "completed",
      redacted_audio_s3_key: audioKey,
      redacted_audio_transcript_id: TRANSCRIPT_ID,
    });
  });

  it("takes the transcript id from the webhook body when it has one", async () => {
    serveAudio();
    table.put({
      ...KEY,
      transcript_id: "abc-123",
      status: "completed",
      received_at: "2025-11-27T06:00:00.000Z",
    });
    const url = `${assemblyAi.baseUrl}${audioPath}?X-Amz-Signature=abc`;

    await worker().handleBatch(
      sqsEvent({
        body: redactedAudioMessage(url, {
          payload: { redacted_audio_url: url, status: "redacted_audio_ready", transcript_id: "abc-123" },
        }),
      }),
    );

    expect(table.get(KEY)).toMatchObject({
      transcript_id: "abc-123",
      redacted_audio_transcript_id: "abc-123",
    });
    expect(outcomes(lines)).toEqual(["redacted_audio_stored"]);
  });

  it("of a transcript the stored one replaced, is archived with a note, not retried into the DLQ", async () => {
    const stored = { ...KEY, transcript_id: "newer-transcript", status: "completed" };
    table.put(stored);
    serveAudio();
    assemblyAi.route = withListing([TRANSCRIPT_ID, "newer-transcript"], assemblyAi.route);

    const result = await worker().handleBatch(sqsEvent({ body: redactedAudioMessage(audioUrl()) }));

    expect(result.batchItemFailures).toEqual([]);
    // The record is untouched but for the times looked up to decide, kept so they are never looked up again.
    expect(table.get(KEY)).toEqual({
      ...stored,
      transcript_created: "2025-11-27T04:00:01.000001Z",
      transcript_completed: "2025-11-27T04:00:31.000001Z",
    });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Key: expect.stringMatching(/^unknown\/cust-1234\/order-5678\//),
      Body: expect.stringContaining("which the record's transcript newer-transcript replaced"),
    });
    expect(lines[0]).toMatchObject({ outcome: "superseded", transcript_id: TRANSCRIPT_ID });
  });

  it("for a transcript the record does not hold, is retried (not downloaded, nothing written, never dropped)", async () => {
    const newer = {
      ...KEY,
      transcript_id: "newer-transcript",
      status: "completed",
      received_at: "2025-11-27T07:00:00.000Z",
    };
    table.put(newer);
    serveAudio();
    // This audio's transcript was created after the stored one: its own delivery is still to come.
    assemblyAi.route = withListing(["newer-transcript", TRANSCRIPT_ID], assemblyAi.route);

    const result = await worker().handleBatch(sqsEvent({ body: redactedAudioMessage(audioUrl()) }));

    expect(result.batchItemFailures).toHaveLength(1);
    expect(assemblyAi.transcriptRequests()).toHaveLength(0);
    expect(s3).not.toHaveReceivedAnyCommand();
    expect(documents).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(table.get(KEY)).toEqual(newer);
    expect(lines[0]).toMatchObject({
      outcome: "transient_failure",
      transcript_id: TRANSCRIPT_ID,
      reason: expect.stringContaining("holds transcript newer-transcript"),
    });
  });

  it("is retried when another transcript is written while the audio downloads", async () => {
    const newer = {
      ...KEY,
      transcript_id: "newer-transcript",
      status: "completed",
      received_at: "2025-11-27T07:00:00.000Z",
    };
    assemblyAi.route = (_request, response) => {
      table.put(newer);
      response.writeHead(200, { "content-type": "audio/wav" });
      response.end(AUDIO);
    };

    const result = await worker().handleBatch(sqsEvent({ body: redactedAudioMessage(audioUrl()) }));

    expect(result.batchItemFailures).toHaveLength(1);
    expect(table.get(KEY)).toEqual(newer);
    expect(outcomes(lines)).toEqual(["transient_failure"]);
  });

  it("without a known transcript id, is written whatever transcript the item holds", async () => {
    table.put({ ...KEY, transcript_id: "newer-transcript", status: "completed" });
    serveAudio();
    const url = `${assemblyAi.baseUrl}/bucket/redacted.wav?X-Amz-Signature=abc`;
    assemblyAi.route = (_request, response) => {
      response.writeHead(200, { "content-type": "audio/wav" });
      response.end(AUDIO);
    };

    await worker().handleBatch(sqsEvent({ body: redactedAudioMessage(url) }));

    const item = table.get(KEY);
    expect(item).toMatchObject({
      transcript_id: "newer-transcript",
      redacted_audio_s3_key: `redacted-audio/${CUSTOMER_ID}/${ORDER_ID}/redacted.wav`,
    });
    expect(item).not.toHaveProperty("redacted_audio_transcript_id");
    expect(outcomes(lines)).toEqual(["redacted_audio_stored"]);
  });

  it("streams a file larger than one part as a multipart upload", async () => {
    const size = 9 * 1024 * 1024;
    assemblyAi.route = (_request, response) => {
      response.writeHead(200, { "content-type": "audio/mpeg" });
      const chunk = Buffer.alloc(64 * 1024, 1);
      for (let sent = 0; sent < size; sent += chunk.length) response.write(chunk);
      response.end();
    };

    const result = await worker().handleBatch(sqsEvent({ body: redactedAudioMessage(audioUrl()) }));

    expect(result.batchItemFailures).toEqual([]);
    expect(s3).toHaveReceivedCommandWith(CreateMultipartUploadCommand, {
      Key: audioKey,
      ContentType: "audio/mpeg",
    });
    expect(s3).toHaveReceivedCommandTimes(UploadPartCommand, 2);
    expect(s3).toHaveReceivedCommandTimes(CompleteMultipartUploadCommand, 1);
    expect(table.get(KEY)).toMatchObject({ redacted_audio_s3_key: audioKey });
  });

  it.each([403, 404, 410])(
    "records redacted_audio_error without retrying when the link answers %i",
    async (status) => {
      assemblyAi.route = (_request, response) =>
        json(response, status, "<Error><Code>AccessDenied</Code></Error>");

      const result = await worker().handleBatch(sqsEvent({ body: redactedAudioMessage(audioUrl()) }));

      expect(result.batchItemFailures).toEqual([]);
      expect(table.get(KEY)).toMatchObject({
        redacted_audio_error: `redacted audio download answered HTTP ${status}`,
      });
      expect(table.get(KEY)).not.toHaveProperty("redacted_audio_s3_key");
      expect(lines[0]).toMatchObject({ outcome: "final_failure" });
    },
  );

  it("does not mark a stored file failed when a later download of an expired link fails", async () => {
    table.put({ ...KEY, redacted_audio_s3_key: audioKey });
    assemblyAi.route = (_request, response) => json(response, 403, "expired");

    const result = await worker().handleBatch(sqsEvent({ body: redactedAudioMessage(audioUrl()) }));

    expect(result.batchItemFailures).toEqual([]);
    expect(table.get(KEY)).toEqual({ ...KEY, redacted_audio_s3_key: audioKey });
  });

  it.each([
    [
      "another origin of the same server",
      () => `http://localhost:${new URL(assemblyAi.baseUrl).port}${audioPath}`,
      "must use https",
    ],
    [
      "an https host not on the list",
      () => `https://audio.attacker.example${audioPath}`,
      "is not on an allowed host and port",
    ],
  ])("refuses a URL on %s without any request: final, recorded", async (_name, url, problem) => {
    serveAudio();

    const result = await worker().handleBatch(sqsEvent({ body: redactedAudioMessage(url()) }));

    expect(result.batchItemFailures).toEqual([]);
    expect(assemblyAi.requests).toHaveLength(0);
    expect(s3).not.toHaveReceivedAnyCommand();
    expect(table.get(KEY)).toMatchObject({
      redacted_audio_error: `redacted audio URL ${problem}`,
      redacted_audio_transcript_id: TRANSCRIPT_ID,
    });
    expect(lines[0]).toMatchObject({
      outcome: "final_failure",
      level: "ERROR",
      reason: `redacted audio URL ${problem}`,
    });
    expect(JSON.stringify([...lines, ...metricLines])).not.toContain("attacker");
  });

  it("refuses a redirect rather than follow it: final, recorded", async () => {
    const port = new URL(assemblyAi.baseUrl).port;
    assemblyAi.route = (request, response) => {
      if (request.url?.startsWith(audioPath)) {
        response.writeHead(302, { location: `http://localhost:${port}/elsewhere/${TRANSCRIPT_ID}.wav` });
        response.end();
      } else {
        response.writeHead(200, { "content-type": "audio/wav" });
        response.end(AUDIO);
      }
    };

    const result = await worker().handleBatch(sqsEvent({ body: redactedAudioMessage(audioUrl()) }));

    expect(result.batchItemFailures).toEqual([]);
    expect(assemblyAi.requests.map((request) => request.path)).toEqual([`${audioPath}?X-Amz-Signature=abc`]);
    expect(s3).not.toHaveReceivedAnyCommand();
    expect(table.get(KEY)).toMatchObject({
      redacted_audio_error: "redacted audio download answered with a redirect",
    });
    expect(table.get(KEY)).not.toHaveProperty("redacted_audio_s3_key");
    expect(lines[0]).toMatchObject({ outcome: "final_failure" });
  });

  it("refuses a file whose content-length is over MAX_REDACTED_AUDIO_BYTES before reading it", async () => {
    assemblyAi.route = (_request, response) => {
      response.writeHead(200, { "content-type": "audio/wav", "content-length": String(AUDIO.length) });
      response.end(AUDIO);
    };

    const result = await worker({ maxRedactedAudioBytes: AUDIO.length - 1 }).handleBatch(
      sqsEvent({ body: redactedAudioMessage(audioUrl()) }),
    );

    expect(result.batchItemFailures).toEqual([]);
    expect(s3).not.toHaveReceivedAnyCommand();
    expect(table.get(KEY)).toMatchObject({
      redacted_audio_error: `redacted audio is 4096 bytes, more than the 4095 allowed`,
    });
    expect(table.get(KEY)).not.toHaveProperty("redacted_audio_s3_key");
    expect(lines[0]).toMatchObject({ outcome: "final_failure" });
  });

  it("stores a file of exactly MAX_REDACTED_AUDIO_BYTES", async () => {
    serveAudio();

    const result = await worker({ maxRedactedAudioBytes: AUDIO.length }).handleBatch(
      sqsEvent({ body: redactedAudioMessage(audioUrl()) }),
    );

    expect(result.batchItemFailures).toEqual([]);
    expect(table.get(KEY)).toMatchObject({ redacted_audio_s3_key: audioKey });
  });

  it("stops a chunked download past MAX_REDACTED_AUDIO_BYTES and aborts the multipart upload", async () => {
    const limit = 9 * 1024 * 1024;
    let served = { sent: 0 };
    assemblyAi.route = (_request, response) => {
      response.writeHead(200, { "content-type": "audio/mpeg" }); // no content-length: chunked
      served = streamBytes(response, 64 * 1024 * 1024);
    };

    const result = await worker({ maxRedactedAudioBytes: limit }).handleBatch(
      sqsEvent({ body: redactedAudioMessage(audioUrl()) }),
    );

    expect(result.batchItemFailures).toEqual([]);
    expect(s3).toHaveReceivedCommandWith(AbortMultipartUploadCommand, {
      Key: audioKey,
      UploadId: "upload-1",
    });
    expect(s3).not.toHaveReceivedCommand(CompleteMultipartUploadCommand);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(table.get(KEY)).toMatchObject({
      redacted_audio_error: `redacted audio is larger than the ${limit} bytes allowed`,
    });
    expect(table.get(KEY)).not.toHaveProperty("redacted_audio_s3_key");
    expect(lines[0]).toMatchObject({ outcome: "final_failure" });
    // The download was dropped well before the server's 64 MB.
    expect(served.sent).toBeLessThan(64 * 1024 * 1024);
  });

  it("stops a small chunked download past the limit before anything is uploaded", async () => {
    assemblyAi.route = (_request, response) => {
      response.writeHead(200, { "content-type": "audio/wav" });
      streamBytes(response, 256 * 1024);
    };

    const result = await worker({ maxRedactedAudioBytes: 100_000 }).handleBatch(
      sqsEvent({ body: redactedAudioMessage(audioUrl()) }),
    );

    expect(result.batchItemFailures).toEqual([]);
    expect(s3).not.toHaveReceivedAnyCommand();
    expect(lines[0]).toMatchObject({ outcome: "final_failure" });
  });

  it("retries a 5xx from the download", async () => {
    assemblyAi.route = (_request, response) => json(response, 503, "Slow Down");

    const result = await worker().handleBatch(sqsEvent({ body: redactedAudioMessage(audioUrl()) }));

    expect(result.batchItemFailures).toHaveLength(1);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(table.get(KEY)).toBeUndefined();
  });

  it("names the file after the time it was received when the URL has no file name", async () => {
    assemblyAi.route = (_request, response) => {
      response.writeHead(200, { "content-type": "audio/wav" });
      response.end(AUDIO);
    };

    await worker().handleBatch(sqsEvent({ body: redactedAudioMessage(`${assemblyAi.baseUrl}/`) }));

    expect(table.get(KEY)).toMatchObject({
      redacted_audio_s3_key: `redacted-audio/${CUSTOMER_ID}/${ORDER_ID}/2025-11-27T06_00_05.000Z`,
    });
  });
});

describe("a streaming session delivery", () => {
  const SESSION_JSON_KEY = `transcripts/${CUSTOMER_ID}/${ORDER_ID}/${SESSION_ID}.json.gz`;
  const SESSION_TEXT_KEY = `transcripts/${CUSTOMER_ID}/${ORDER_ID}/${SESSION_ID}.txt`;

  it("is stored as a completed record with the assembled text and the raw body gzipped, fetching nothing", async () => {
    const message = sessionMessage();

    const result = await worker().handleBatch(sqsEvent({ body: message }));

    expect(result.batchItemFailures).toEqual([]);
    expect(assemblyAi.requests).toEqual([]);
    expect(secrets).not.toHaveReceivedCommand(GetSecretValueCommand);
    const archived = put(SESSION_JSON_KEY);
    expect(archived).toMatchObject({ ContentType: "application/json", ContentEncoding: "gzip" });
    expect(JSON.parse(gunzipSync(archived?.Body as Uint8Array).toString("utf8"))).toEqual(message.payload);
    expect(table.get(KEY)).toEqual({
      ...KEY,
      transcript_id: SESSION_ID,
      session_id: SESSION_ID,
      kind: "streaming_session",
      status: "completed",
      text: "Smoke from hundreds of wildfires. In Canada.",
      word_count: 7,
      duration_ms: 7760,
      transcript_s3_key: SESSION_JSON_KEY,
      metadata: { customer_id: CUSTOMER_ID, order_id: ORDER_ID, campaign: "spring" },
      received_at: "2025-11-27T06:00:00.000Z",
      stored_at: expect.any(String),
      source: "webhook",
      request_id: "JyTvqK3BoAMEbWw=",
      // The session's arrival stands for AssemblyAI's times (it has none to look up): see the worker.
      transcript_created: "2025-11-27T06:00:00.000000Z",
      transcript_completed: "2025-11-27T06:00:00.000000Z",
    });
    expect(lines[0]).toMatchObject({
      outcome: "stored",
      kind: "streaming_session",
      transcript_id: SESSION_ID,
      s3_key: SESSION_JSON_KEY,
    });
  });

  it("stored twice collapses: the second delivery is a duplicate that writes nothing", async () => {
    const handler = worker();

    await handler.handleBatch(sqsEvent({ body: sessionMessage() }));
    const second = await handler.handleBatch(
      sqsEvent({ body: sessionMessage({ received_at: "2025-11-27T06:00:20.000Z", request_id: "retry-2" }) }),
    );

    expect(second.batchItemFailures).toEqual([]);
    expect(documents).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(outcomes(lines)).toEqual(["stored", "duplicate"]);
    expect(lines[1]).toMatchObject({ transcript_id: SESSION_ID, kind: "streaming_session" });
    expect(table.get(KEY)).toMatchObject({ request_id: "JyTvqK3BoAMEbWw=" });
  });

  it("with no turns is still a completed record, with empty text and no duration", async () => {
    await worker().handleBatch(
      sqsEvent({ body: sessionMessage({ payload: { session_id: SESSION_ID, messages: [] } }) }),
    );

    const item = table.get(KEY);
    expect(item).toMatchObject({ status: "completed", text: "", word_count: 0, kind: "streaming_session" });
    expect(item).not.toHaveProperty("duration_ms");
  });

  it("keeps a long session's text in S3 beyond INLINE_TEXT_MAX_BYTES", async () => {
    await worker({ inlineTextMaxBytes: 20 }).handleBatch(sqsEvent({ body: sessionMessage() }));

    expect(String(put(SESSION_TEXT_KEY)?.Body)).toBe("Smoke from hundreds of wildfires. In Canada.");
    expect(put(SESSION_TEXT_KEY)?.ContentType).toBe("text/plain; charset=utf-8");
    const item = table.get(KEY);
    expect(item).toMatchObject({ text_s3_key: SESSION_TEXT_KEY });
    expect(item).not.toHaveProperty("text");
  });

  it("replaces a pre-recorded transcript submitted before the session ended, dropping its own fields", async () => {
    table.put({
      ...KEY,
      transcript_id: TRANSCRIPT_ID,
      status: "completed",
      text: "the pre-recorded text",
      audio_duration: 12,
      confidence: 0.9,
      language_code: "en_us",
      received_at: "2025-11-27T06:10:00.000Z",
      transcript_created: "2025-11-27T05:00:00.000001Z",
      redacted_audio_s3_key: `redacted-audio/${CUSTOMER_ID}/${ORDER_ID}/${TRANSCRIPT_ID}.wav`,
      redacted_audio_transcript_id: TRANSCRIPT_ID,
    });

    await worker().handleBatch(sqsEvent({ body: sessionMessage() }));

    const item = table.get(KEY);
    expect(item).toMatchObject({
      transcript_id: SESSION_ID,
      kind: "streaming_session",
      text: expect.any(String),
    });
    for (const name of ["audio_duration", "confidence", "language_code", ...REDACTED_AUDIO_ATTRIBUTES]) {
      expect(item).not.toHaveProperty(name);
    }
    expect(assemblyAi.requests).toEqual([]);
    expect(outcomes(lines)).toEqual(["stored"]);
  });

  it("is superseded by a pre-recorded transcript submitted after the session ended", async () => {
    table.put({
      ...KEY,
      transcript_id: TRANSCRIPT_ID,
      status: "completed",
      received_at: "2025-11-27T05:00:00.000Z",
      transcript_created: "2025-11-27T06:30:00.000001Z",
    });

    const result = await worker().handleBatch(sqsEvent({ body: sessionMessage() }));

    expect(result.batchItemFailures).toEqual([]);
    expect(table.get(KEY)).toMatchObject({ transcript_id: TRANSCRIPT_ID });
    // The body is the session's only copy: kept at its own key though the record keeps the transcript.
    const sessionKey = `transcripts/${CUSTOMER_ID}/${ORDER_ID}/${SESSION_ID}.json.gz`;
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Key: sessionKey });
    expect(outcomes(lines)).toEqual(["superseded"]);
    expect(lines[0]).toMatchObject({ s3_key: sessionKey });
  });

  it("keeps the body of a session that loses to another session for the order, at its own key", async () => {
    table.put({
      ...KEY,
      transcript_id: "later-session",
      kind: "streaming_session",
      status: "completed",
      received_at: "2025-11-27T07:00:00.000Z",
      transcript_created: "2025-11-27T07:00:00.000000Z",
      transcript_completed: "2025-11-27T07:00:00.000000Z",
    });

    await worker().handleBatch(sqsEvent({ body: sessionMessage() }));

    expect(table.get(KEY)).toMatchObject({ transcript_id: "later-session" });
    const put = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input.Key);
    expect(put).toEqual([`transcripts/${CUSTOMER_ID}/${ORDER_ID}/${SESSION_ID}.json.gz`]);
    expect(outcomes(lines)).toEqual(["superseded"]);
  });

  it("writes nothing again for a repeat of the stored session", async () => {
    await worker().handleBatch(sqsEvent({ body: sessionMessage() }));
    s3.resetHistory();

    await worker().handleBatch(sqsEvent({ body: sessionMessage() }));

    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it("looks up a stored transcript's times to order it against the session, never the session's", async () => {
    table.put({ ...KEY, transcript_id: TRANSCRIPT_ID, status: "completed" });
    // The listing says the stored transcript was created at 04:00:01, before the session arrived (06:00).
    assemblyAi.route = withListing(["older-transcript", TRANSCRIPT_ID]);

    await worker().handleBatch(sqsEvent({ body: sessionMessage() }));

    expect(table.get(KEY)).toMatchObject({ transcript_id: SESSION_ID });
    expect(assemblyAi.requests.every((request) => !request.path.includes(SESSION_ID))).toBe(true);
    expect(assemblyAi.requests.length).toBeGreaterThan(0);
  });

  it("is replaced by a newer pre-recorded transcript, which drops the session's own fields", async () => {
    await worker().handleBatch(sqsEvent({ body: sessionMessage() }));
    // The transcript was created after the session arrived: newer, so it wins.
    assemblyAi.route = (request, response) => {
      const url = new URL(request.url ?? "", "http://fake");
      if (url.pathname === "/v2/transcript") {
        const transcripts =
          url.searchParams.get("before_id") === TRANSCRIPT_ID
            ? [{ id: "older", status: "completed", created: "2025-11-27T06:59:00.000001" }]
            : [];
        return json(response, 200, { page_details: { limit: 1 }, transcripts });
      }
      transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() })(request, response);
    };
    // AssemblyAI's list has its created time; the message carries it as a reconciled one would.
    await worker().handleBatch(
      sqsEvent({
        body: transcriptMessage({
          created: "2025-11-27T07:00:00.000001",
          received_at: "2025-11-27T07:05:00.000Z",
        }),
      }),
    );

    const item = table.get(KEY);
    expect(item).toMatchObject({ transcript_id: TRANSCRIPT_ID, status: "completed", audio_duration: 281 });
    for (const name of SESSION_ATTRIBUTES) expect(item).not.toHaveProperty(name);
    expect(outcomes(lines)).toEqual(["stored", "stored"]);
  });

  it("replaces a fetch_failed record (a result beats a failure)", async () => {
    table.put({ ...KEY, transcript_id: TRANSCRIPT_ID, status: "fetch_failed", error: "HTTP 404" });

    await worker().handleBatch(sqsEvent({ body: sessionMessage() }));

    const item = table.get(KEY);
    expect(item).toMatchObject({ transcript_id: SESSION_ID, status: "completed" });
    expect(item).not.toHaveProperty("error");
  });
});

describe("other messages", () => {
  it("archives an unknown kind with the whole message, and succeeds", async () => {
    const message = unknownMessage();

    const result = await worker().handleBatch(sqsEvent({ body: message }));

    expect(result.batchItemFailures).toEqual([]);
    const key = `unknown/${CUSTOMER_ID}/${ORDER_ID}/2025-11-27T06:00:09.000Z-JyTvnFjAoAMEbAQ=.json`;
    expect(JSON.parse(String(put(key)?.Body))).toEqual(message);
    expect(documents).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(lines[0]).toMatchObject({ outcome: "unknown_archived", Outcome: "unknown_archived" });
  });

  it("archives a kind this worker does not know yet instead of dropping it", async () => {
    const result = await worker().handleBatch(
      sqsEvent({ body: { ...unknownMessage(), kind: "translation" } }),
    );

    expect(result.batchItemFailures).toEqual([]);
    expect(outcomes(lines)).toEqual(["unknown_archived"]);
  });

  it.each([
    ["not JSON", "{not json"],
    ["a bad transcript id", JSON.stringify(transcriptMessage({ transcript_id: "../../etc/passwd" }))],
    ["a missing customer id", JSON.stringify(transcriptMessage({ metadata: { order_id: "o", params: {} } }))],
  ])("fails a malformed message (%s) for good: not retried, kept in the bucket", async (_name, body) => {
    const result = await worker().handleBatch(sqsEvent({ body, messageId: "bad-1" }));

    expect(result.batchItemFailures).toEqual([]);
    expect(sqs).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
    expect(documents).not.toHaveReceivedCommand(GetItemCommand);
    expect(puts()).toEqual([
      expect.objectContaining({
        Key: expect.stringMatching(/^unknown\/_malformed\/\d{4}-\d\d-\d\d\/bad-1\.json$/),
        Body: body,
      }),
    ]);
    expect(lines[0]).toMatchObject({
      outcome: "final_failure",
      reason: expect.stringContaining("malformed message"),
    });
  });

  it("keeps a malformed message on the queue (and so for the dead-letter queue) when it cannot be archived", async () => {
    s3.on(PutObjectCommand).rejects(new Error("SlowDown"));

    const result = await worker().handleBatch(sqsEvent({ body: "{not json", messageId: "bad-2" }));

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: "bad-2" }]);
    expect(sqs).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, { ReceiptHandle: "receipt-bad-2" });
    expect(lines[0]).toMatchObject({
      outcome: "transient_failure",
      reason: expect.stringMatching(/^malformed message: .*; not archived: Error: SlowDown$/),
    });
  });

  it("fails only the record that failed in a mixed batch", async () => {
    assemblyAi.route = (request, response) => {
      if (request.url?.endsWith("/broken-transcript"))
        json(response, 500, { error: "Internal server error" });
      else transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() })(request, response);
    };

    const result = await worker().handleBatch(
      sqsEvent(
        { body: transcriptMessage(), messageId: "ok" },
        {
          body: transcriptMessage({
            transcript_id: "broken-transcript",
            metadata: { customer_id: "cust-2", order_id: "order-2", params: {} },
          }),
          messageId: "broken",
        },
        { body: unknownMessage(), messageId: "unknown" },
        { body: "{", messageId: "malformed" },
      ),
    );

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "broken" }] });
    expect(lines).toHaveLength(4);
    expect(table.get(KEY)).toMatchObject({ status: "completed" });
  });
});

describe("claim checks", () => {
  const CLAIM_KEY = "inbox/2025-11-27/2025-11-27T06:00:00.000Z-JyTvlh2PoAMEb5Q=.json";

  /** The bucket's inbox holding `text` under CLAIM_KEY. */
  function inbox(text: string): void {
    s3.on(GetObjectCommand, { Bucket: "transcripts-bucket", Key: CLAIM_KEY }).resolves({
      Body: { transformToString: async () => text } as never,
    });
  }

  it("reads a claim-checked message from the inbox and processes it like the inline one", async () => {
    // Over SQS's limit, as the receiver only claim-checks those: a 2 MB payload.
    const message = transcriptMessage({
      payload: { transcript_id: TRANSCRIPT_ID, status: "completed", pad: "x".repeat(2_000_000) },
    });
    const text = JSON.stringify(message);
    inbox(text);
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });

    const result = await worker().handleBatch(
      sqsEvent({ body: claimCheckBody({ key: CLAIM_KEY, bytes: Buffer.byteLength(text) }) }),
    );

    expect(result.batchItemFailures).toEqual([]);
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: "transcripts-bucket", Key: CLAIM_KEY });
    expect(outcomes(lines)).toEqual(["stored"]);
    expect(lines[0]).toMatchObject({
      transcript_id: TRANSCRIPT_ID,
      customer_id: CUSTOMER_ID,
      order_id: ORDER_ID,
    });
    expect(table.get(KEY)).toMatchObject({
      transcript_id: TRANSCRIPT_ID,
      status: "completed",
      request_id: "JyTvlh2PoAMEb5Q=",
      metadata: { customer_id: CUSTOMER_ID, order_id: ORDER_ID, campaign: "spring" },
    });
    expect(put(JSON_KEY)).toBeDefined();
  });

  it("stores the same record from a claim check as from the inline message", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });
    await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));
    const inline = table.get(KEY);
    table = new FakeTable();
    inbox(JSON.stringify(transcriptMessage()));

    await worker().handleBatch(sqsEvent({ body: claimCheckBody({ key: CLAIM_KEY, bytes: 1 }) }));

    expect(table.get(KEY)).toEqual({ ...inline, stored_at: expect.any(String) });
  });

  it("retries, and never deletes, a record whose claim object is missing", async () => {
    s3.on(GetObjectCommand).rejects(
      new NoSuchKey({ message: "The specified key does not exist.", $metadata: {} }),
    );

    const result = await worker().handleBatch(
      sqsEvent({ body: claimCheckBody({ key: CLAIM_KEY, bytes: 300_000 }), messageId: "claim-1" }),
    );

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: "claim-1" }]);
    expect(sqs).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, {
      ReceiptHandle: "receipt-claim-1",
    });
    expect(lines[0]).toMatchObject({
      outcome: "transient_failure",
      reason: expect.stringContaining(`claim check ${CLAIM_KEY} could not be read`),
    });
    // Not archived as malformed, not fetched, not written.
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(assemblyAi.requests).toHaveLength(0);
    expect(documents).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  it("never reads an object outside the inbox: such a claim is a malformed message", async () => {
    const body = claimCheckBody({ key: JSON_KEY, bytes: 1 });

    const result = await worker().handleBatch(sqsEvent({ body, messageId: "claim-2" }));

    expect(result.batchItemFailures).toEqual([]);
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
    expect(lines[0]).toMatchObject({
      outcome: "final_failure",
      reason: expect.stringContaining("malformed"),
    });
  });

  it("archives a claim-checked quarantine message whole, as it was written to the inbox", async () => {
    const serialized = serializeDeliveryMessage(quarantineMessage("y".repeat(400_000)));
    if (serialized.ok) throw new Error("expected a message over SQS's limit");
    inbox(serialized.body);

    const result = await worker().handleBatch(
      sqsEvent({ body: claimCheckBody({ key: CLAIM_KEY, bytes: serialized.bytes }) }),
    );

    expect(result.batchItemFailures).toEqual([]);
    expect(String(put(QUARANTINE_KEY)?.Body)).toBe(serialized.body);
    expect(outcomes(lines)).toEqual(["quarantine_archived"]);
  });
});

const QUARANTINE_KEY = "quarantine/2026-11-27/2026-11-27T05:52:00.250Z-T6XjYhVtPHcEJ8g=.json";

function quarantineMessage(body = "{not json") {
  return buildQuarantineMessage({
    receivedAt: new Date("2026-11-27T05:52:00.250Z"),
    sourceIp: "44.238.19.20",
    requestId: "T6XjYhVtPHcEJ8g=",
    reason: "invalid_json",
    reasonMessage: "the body is not valid JSON",
    rawQuery: "customer_id=cust-1234&order_id=order-5678",
    headers: { "content-type": "application/json" },
    body,
    bodyEncoding: "utf8",
  });
}

describe("quarantined requests", () => {
  it("archives the request whole under quarantine/, fetching and recording nothing", async () => {
    const body = JSON.stringify(quarantineMessage());

    const result = await worker().handleBatch(sqsEvent({ body }));

    expect(result.batchItemFailures).toEqual([]);
    expect(puts()).toEqual([
      expect.objectContaining({
        Bucket: "transcripts-bucket",
        Key: QUARANTINE_KEY,
        Body: body,
        ContentType: "application/json",
      }),
    ]);
    expect(assemblyAi.requests).toHaveLength(0);
    expect(documents).not.toHaveReceivedAnyCommand();
    expect(lines[0]).toMatchObject({
      outcome: "quarantine_archived",
      Outcome: "quarantine_archived",
      reason: "the body is not valid JSON",
      s3_key: QUARANTINE_KEY,
      request_id: "T6XjYhVtPHcEJ8g=",
    });
    expect(lines[0]).not.toHaveProperty("customer_id");
  });

  it("retries a quarantine message whose archive write fails, so it is never lost", async () => {
    s3.on(PutObjectCommand).rejects(new Error("SlowDown"));

    const result = await worker().handleBatch(sqsEvent({ body: quarantineMessage(), messageId: "q-1" }));

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: "q-1" }]);
    expect(lines[0]).toMatchObject({ outcome: "transient_failure" });
  });
});

describe("metadata as URLs carry it", () => {
  const NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty"];
  /** The fixture message with extra parameters named like Object.prototype members, as JSON text. */
  const hostileBody = () =>
    JSON.stringify(transcriptMessage()).replace(
      '"params":{',
      `"params":{${NAMES.map((name) => `${JSON.stringify(name)}:${JSON.stringify(`${name}-value`)}`).join(",")},"tag":["a","b"],`,
    );

  it("writes parameters named __proto__, constructor, toString and hasOwnProperty as own keys of the record", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });

    const result = await worker().handleBatch(sqsEvent({ body: hostileBody() }));

    expect(result.batchItemFailures).toEqual([]);
    expect(outcomes(lines)).toEqual(["stored"]);
    const [update] = documents.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);
    const values = Object.values(update?.ExpressionAttributeValues ?? {});
    const metadata = values.find((value) => value.M !== undefined && Object.hasOwn(value.M, "campaign"))?.M;
    if (metadata === undefined) throw new Error("no metadata map in the update");
    for (const name of NAMES) {
      expect(Object.hasOwn(metadata, name)).toBe(true);
      expect(Object.getOwnPropertyDescriptor(metadata, name)?.value).toEqual({ S: `${name}-value` });
    }
    expect(metadata.tag).toEqual({ L: [{ S: "a" }, { S: "b" }] });
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
  });

  it("handles a second delivery for an order whose record holds such keys", async () => {
    assemblyAi.route = transcriptRoute({ [TRANSCRIPT_ID]: completedTranscript() });
    await worker().handleBatch(sqsEvent({ body: hostileBody() }));

    const second = await worker().handleBatch(sqsEvent({ body: hostileBody() }));

    expect(second.batchItemFailures).toEqual([]);
    expect(outcomes(lines)).toEqual(["stored", "duplicate"]);
  });
});

/**
 * Writes `total` bytes in 64 KiB chunks (chunked encoding), respecting backpressure and stopping when the
 * client goes away. Returns a live count of the bytes written: read it after the worker is done.
 */
function streamBytes(response: ServerResponse, total: number): { readonly sent: number } {
  const chunk = Buffer.alloc(64 * 1024, 1);
  const state = { sent: 0 };
  response.on("error", () => undefined);
  const pump = (): void => {
    while (state.sent < total && !response.destroyed) {
      state.sent += chunk.length;
      if (!response.write(chunk)) {
        response.once("drain", pump);
        return;
      }
    }
    if (!response.destroyed) response.end();
  };
  pump();
  return state;
}
