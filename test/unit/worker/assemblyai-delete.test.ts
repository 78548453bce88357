/**
 * The worker with `deleteFromAssemblyAi` and `retentionDays`: the DELETE follows the record's write, a failed
 * one is retried (within the invocation, then by a delayed message of its own) and given up with a reason on
 * the record and a metric, and every record write carries its expiry.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { fromAttributeMap, toAttributeMap } from "../../../functions/shared/attribute-values";
import { buildAssemblyAiDeleteMessage } from "../../../functions/shared/contract/delivery";
import { parseDeliveryMessage } from "../../../functions/shared/contract/delivery-schema";
import type { WorkerConfig } from "../../../functions/worker/config";
import { MAX_QUEUED_DELETE_ATTEMPTS } from "../../../functions/worker/lifecycle";
import { ASSEMBLYAI_DELETE_FAILED_METRIC } from "../../../functions/worker/report";
import { createWorker } from "../../../functions/worker/worker";
import { setWriter, type Writer } from "../../support/telemetry";
import {
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
  redactedAudioMessage,
  sqsEvent,
  TRANSCRIPT_ID,
  testConfig,
  transcriptMessage,
} from "./support";

const documents = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
const sqs = mockClient(SQSClient);
const secrets = mockClient(SecretsManagerClient);
const assemblyAi = new FakeAssemblyAi();
const KEY = { customer_id: CUSTOMER_ID, order_id: ORDER_ID };
const NOW = Date.parse("2025-11-27T06:10:00.000Z");
const AUDIO_PATH = `/api.assembly.ai.usw2/redacted-audio/${TRANSCRIPT_ID}.wav`;

let table: FakeTable;
let lines: Line[];
let metricLines: Line[];
let previousWriter: Writer;
/** Every table write and every DELETE, in the order they happened. */
let events: string[];
let pauses: number[];

function worker(overrides: Partial<WorkerConfig> = {}) {
  return createWorker(testConfig(assemblyAi.baseUrl, { deleteFromAssemblyAi: true, ...overrides }), {
    random: () => 0.5,
    now: () => NOW,
    sleep: async (ms) => {
      pauses.push(ms);
    },
  });
}

/** The transcript as GET answers it, and DELETE answered by `deleteAnswer` (200 by default). */
function serve(
  transcript: Record<string, unknown> = completedTranscript(),
  deleteAnswer: (response: ServerResponse, attempt: number) => void = (response) =>
    json(response, 200, { ...transcript, text: "Deleted by user." }),
): void {
  let deletes = 0;
  assemblyAi.route = (request: IncomingMessage, response: ServerResponse) => {
    if (request.url?.startsWith(AUDIO_PATH)) {
      response.writeHead(200, { "content-type": "audio/wav" });
      response.end(Buffer.from("RIFF...."));
      return;
    }
    if (request.method === "DELETE") {
      events.push("DELETE");
      deletes += 1;
      deleteAnswer(response, deletes);
      return;
    }
    json(response, 200, transcript);
  };
}

function sentMessages(): { body: Record<string, unknown>; delaySeconds: number | undefined }[] {
  return sqs.commandCalls(SendMessageCommand).map((call) => ({
    body: JSON.parse(call.args[0].input.MessageBody ?? "{}") as Record<string, unknown>,
    delaySeconds: call.args[0].input.DelaySeconds,
  }));
}

function deleteMessage(attempt: number): string {
  const delivery = fixture<Record<string, unknown>>("transcript-delivery.json");
  return JSON.stringify(
    buildAssemblyAiDeleteMessage({
      delivery: delivery as never,
      transcriptId: TRANSCRIPT_ID,
      region: "us",
      attempt,
      lastError: "AssemblyAI delete answered HTTP 500",
      queuedAt: new Date(NOW),
    }),
  );
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
  events = [];
  pauses = [];
  documents.on(GetItemCommand).callsFake((input) => {
    const item = table.get(fromAttributeMap(input.Key ?? {}));
    return { Item: item === undefined ? undefined : toAttributeMap(item) };
  });
  documents.on(UpdateItemCommand).callsFake((input) => {
    table.update(plainUpdate(input));
    events.push("UpdateItem");
    return {};
  });
  s3.on(PutObjectCommand).resolves({ ETag: '"etag"' });
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "upload-1" });
  s3.on(UploadPartCommand).resolves({ ETag: '"part"' });
  s3.on(CompleteMultipartUploadCommand).resolves({});
  s3.on(AbortMultipartUploadCommand).resolves({});
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: "retry-1" });
  secrets.on(GetSecretValueCommand).resolves({ SecretString: "test-assemblyai-key-0123456789" });
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

describe("deleting a stored transcript at AssemblyAI", () => {
  it("deletes it after the record is written, and records when", async () => {
    serve();

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(result.batchItemFailures).toEqual([]);
    expect(events).toEqual(["UpdateItem", "DELETE", "UpdateItem"]);
    expect(table.get(KEY)).toMatchObject({
      transcript_id: TRANSCRIPT_ID,
      status: "completed",
      text: completedTranscript().text,
      assemblyai_deleted: true,
      assemblyai_deleted_at: new Date(NOW).toISOString(),
    });
    expect(lines[0]).toMatchObject({ outcome: "stored", assemblyai_delete: "deleted" });
  });

  it("deletes nothing with the setting off", async () => {
    serve();

    await worker({ deleteFromAssemblyAi: false }).handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(events).toEqual(["UpdateItem"]);
    expect(table.get(KEY)?.assemblyai_deleted).toBeUndefined();
    expect(sentMessages()).toEqual([]);
  });

  it("tries again within the invocation while AssemblyAI says the job is still processing", async () => {
    serve(completedTranscript(), (response, attempt) =>
      attempt === 1
        ? json(response, 400, { error: "Transcript is still processing and cannot be deleted" })
        : json(response, 200, {}),
    );

    await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(events).toEqual(["UpdateItem", "DELETE", "DELETE", "UpdateItem"]);
    expect(pauses).toEqual([250]);
    expect(table.get(KEY)).toMatchObject({ assemblyai_deleted: true });
    expect(table.get(KEY)?.assemblyai_delete_error).toBeUndefined();
  });

  it("queues a delayed retry when the deletes fail, leaving the record as stored with the reason", async () => {
    serve(completedTranscript(), (response) => json(response, 500, { error: "Internal server error" }));

    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));
    const [retry] = sentMessages();

    expect(result.batchItemFailures).toEqual([]);
    expect(events.filter((event) => event === "DELETE")).toHaveLength(3);
    expect(retry?.delaySeconds).toBe(60);
    expect(parseDeliveryMessage(JSON.stringify(retry?.body))).toMatchObject({
      ok: true,
      message: {
        kind: "assemblyai_delete",
        transcript_id: TRANSCRIPT_ID,
        attempt: 1,
        assemblyai_region: "us",
      },
    });
    expect(table.get(KEY)).toMatchObject({
      status: "completed",
      text: completedTranscript().text,
      assemblyai_delete_error: "AssemblyAI delete answered HTTP 500: Internal server error",
      assemblyai_delete_attempts: 3,
    });
    expect(table.get(KEY)?.assemblyai_deleted).toBeUndefined();
    expect(lines[0]).toMatchObject({ outcome: "stored", assemblyai_delete: "retry_queued" });
  });

  it("waits for the redacted audio of a transcript with redact_pii_audio, and deletes once it is stored", async () => {
    serve(completedTranscript({ redact_pii_audio: true }));
    const handler = worker();

    await handler.handleBatch(sqsEvent({ body: transcriptMessage() }));
    const before = [...events];
    await handler.handleBatch(
      sqsEvent({ body: redactedAudioMessage(`${assemblyAi.baseUrl}${AUDIO_PATH}?X-Amz-Signature=abc`) }),
    );

    expect(before).toEqual(["UpdateItem"]);
    expect(lines[0]).toMatchObject({ outcome: "stored", assemblyai_delete: "waiting_for_redacted_audio" });
    expect(events).toEqual(["UpdateItem", "UpdateItem", "DELETE", "UpdateItem"]);
    expect(lines[1]).toMatchObject({ outcome: "redacted_audio_stored", assemblyai_delete: "deleted" });
    expect(table.get(KEY)).toMatchObject({
      assemblyai_deleted: true,
      redacted_audio_s3_key: expect.any(String),
    });
  });

  it("deletes at once when the redacted audio was stored before the transcript", async () => {
    serve(completedTranscript({ redact_pii_audio: true }));
    const handler = worker();

    await handler.handleBatch(
      sqsEvent({ body: redactedAudioMessage(`${assemblyAi.baseUrl}${AUDIO_PATH}?X-Amz-Signature=abc`) }),
    );
    await handler.handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(outcomes(lines)).toEqual(["redacted_audio_stored", "stored"]);
    expect(lines[0]).toMatchObject({ assemblyai_delete: "waiting_for_transcript" });
    expect(lines[1]).toMatchObject({ assemblyai_delete: "deleted" });
    expect(events.filter((event) => event === "DELETE")).toHaveLength(1);
  });
});

describe("a transcript the worker deleted at AssemblyAI", () => {
  it("is never stored again as its tombstone, nor deleted twice", async () => {
    const stored = {
      ...KEY,
      transcript_id: TRANSCRIPT_ID,
      status: "completed",
      text: "the real text",
      received_at: "2025-11-27T06:00:00.000Z",
      assemblyai_deleted: true,
      assemblyai_deleted_at: "2025-11-27T06:00:02.000Z",
    };
    table.put(stored);
    serve(completedTranscript({ text: "Deleted by user.", words: [] }));

    // Another status for the same transcript: not a duplicate, so the worker fetches the tombstone.
    const result = await worker().handleBatch(sqsEvent({ body: transcriptMessage({ status: "error" }) }));

    expect(result.batchItemFailures).toEqual([]);
    expect(outcomes(lines)).toEqual(["deleted_skipped"]);
    expect(table.get(KEY)).toEqual(stored);
    expect(events).toEqual([]);
  });
});

describe("a repeated delivery of a stored transcript", () => {
  it("deletes it when the worker that stored it stopped before the delete", async () => {
    table.put({ ...KEY, transcript_id: TRANSCRIPT_ID, status: "completed", text: "hello" });
    serve();

    await worker().handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(outcomes(lines)).toEqual(["duplicate"]);
    expect(lines[0]).toMatchObject({ assemblyai_delete: "deleted" });
    expect(events).toEqual(["DELETE", "UpdateItem"]);
    expect(table.get(KEY)).toMatchObject({ text: "hello", assemblyai_deleted: true });
  });

  it("leaves a transcript alone that still waits for its redacted audio", async () => {
    serve(completedTranscript({ redact_pii_audio: true }));
    const handler = worker();

    await handler.handleBatch(sqsEvent({ body: transcriptMessage() }));
    await handler.handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(outcomes(lines)).toEqual(["stored", "duplicate"]);
    expect(table.get(KEY)?.assemblyai_delete_waits_for).toBe("redacted_audio");
    expect(events).toEqual(["UpdateItem"]);
  });
});

describe("a queued delete retry", () => {
  function storedRecord(): void {
    table.put({ ...KEY, transcript_id: TRANSCRIPT_ID, status: "completed", text: "hello" });
  }

  it("records the deletion when AssemblyAI accepts it", async () => {
    storedRecord();
    serve();

    const result = await worker().handleBatch(sqsEvent({ body: deleteMessage(1) }));

    expect(result.batchItemFailures).toEqual([]);
    expect(outcomes(lines)).toEqual(["assemblyai_deleted"]);
    expect(table.get(KEY)).toEqual({
      ...KEY,
      transcript_id: TRANSCRIPT_ID,
      status: "completed",
      text: "hello",
      assemblyai_deleted: true,
      assemblyai_deleted_at: new Date(NOW).toISOString(),
    });
  });

  it("queues the next retry, later, while it fails", async () => {
    storedRecord();
    serve(completedTranscript(), (response) => json(response, 503, { error: "unavailable" }));

    await worker().handleBatch(sqsEvent({ body: deleteMessage(2) }));

    expect(outcomes(lines)).toEqual(["assemblyai_delete_retrying"]);
    expect(sentMessages().map((sent) => [sent.body.attempt, sent.delaySeconds])).toEqual([[3, 240]]);
    expect(table.get(KEY)?.assemblyai_deleted).toBeUndefined();
    expect(metricLines.some((line) => ASSEMBLYAI_DELETE_FAILED_METRIC in line)).toBe(false);
  });

  it("gives up after its last attempt: the record says so and why, and a metric counts it", async () => {
    storedRecord();
    serve(completedTranscript(), (response) => json(response, 503, { error: "unavailable" }));

    const result = await worker().handleBatch(sqsEvent({ body: deleteMessage(MAX_QUEUED_DELETE_ATTEMPTS) }));

    expect(result.batchItemFailures).toEqual([]);
    expect(sentMessages()).toEqual([]);
    expect(table.get(KEY)).toMatchObject({
      status: "completed",
      text: "hello",
      assemblyai_deleted: false,
      assemblyai_delete_error: "AssemblyAI delete answered HTTP 503: unavailable",
    });
    expect(outcomes(lines)).toContain("assemblyai_delete_failed");
    expect(metricLines.filter((line) => line[ASSEMBLYAI_DELETE_FAILED_METRIC] === 1)).toHaveLength(1);
  });

  it("changes nothing on a record that holds another transcript now", async () => {
    table.put({ ...KEY, transcript_id: "other-transcript-1", status: "completed", text: "newer" });
    serve();

    await worker().handleBatch(sqsEvent({ body: deleteMessage(1) }));

    expect(table.get(KEY)).toEqual({
      ...KEY,
      transcript_id: "other-transcript-1",
      status: "completed",
      text: "newer",
    });
  });
});

describe("retentionDays", () => {
  it("sets the record's expiry on every write, that many days after it", async () => {
    serve();

    await worker({ retentionDays: 30 }).handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(table.get(KEY)?.expires_at).toBe(Math.floor(NOW / 1000) + 30 * 86_400);
  });

  it("sets no expiry without it", async () => {
    serve();

    await worker({ deleteFromAssemblyAi: false }).handleBatch(sqsEvent({ body: transcriptMessage() }));

    expect(table.get(KEY)?.expires_at).toBeUndefined();
  });
});
