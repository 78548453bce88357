import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DynamoDBClient, GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import {
  QueryCommand as DocumentQueryCommand,
  DynamoDBDocumentClient,
  ScanCommand,
} from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-jest";
import { formatReport, reconcileExitCode } from "../../../cli/commands/reconcile";
import { batchExitCode, checkReplayOptions } from "../../../cli/commands/replay";
import { oldestMessageHint } from "../../../cli/commands/status";
import { EXIT } from "../../../cli/output";
import { normalizeSecretInput } from "../../../cli/secret-input";
import type { ReconcileReport } from "../../../functions/reconciler/types";
import { fakeTarget, runCli } from "./support";

const documents = mockClient(DynamoDBDocumentClient);
/** get and list read through TranscriptStoreClient, on the low-level client. */
const dynamodb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
const secrets = mockClient(SecretsManagerClient);

beforeEach(() => {
  documents.reset();
  dynamodb.reset();
  sqs.reset();
  secrets.reset();
});

const RECORD = {
  customer_id: "acme",
  order_id: "o-1",
  transcript_id: "t-1",
  status: "completed",
  text: "hello",
  received_at: "2026-11-27T12:00:00.000Z",
  source: "webhook",
};

describe("usage", () => {
  it.each([
    [["get", "x".repeat(2049), "o-1"], "is invalid for argument 'customer_id'"],
    [["frobnicate"], "unknown command 'frobnicate'"],
    [
      ["submit", "https://example.com/a.mp3", "--order-id", "o-1"],
      "required option '--customer-id <id>' not specified",
    ],
    [["status", "--failures", "0"], "must be a whole number of at least 1"],
    [["--local", "--profile", "dev", "status"], "cannot be used with option '--local'"],
  ])("exits 2 with commander's message for %j", async (args, message) => {
    const result = await runCli(args);

    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(message);
  });

  it("exits 2 and shows the group's help for a command group alone", async () => {
    const result = await runCli(["dlq"]);

    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("Usage: aai-webhooks dlq");
  });

  it("documents the exit codes in every command's help", async () => {
    const result = await runCli(["replay", "--help"]);

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain("Usage: aai-webhooks replay [options] <transcript_id...>");
    expect(result.stdout).toContain("3    partial failure");
  });
});

describe("get", () => {
  it("prints the record's fields", async () => {
    dynamodb
      .on(GetItemCommand, {
        TableName: "transcripts",
        Key: marshall({ customer_id: "acme", order_id: "o-1" }),
      })
      .resolves({ Item: marshall(RECORD) });

    const result = await runCli(["get", "acme", "o-1"], { target: fakeTarget() });

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/^customer_id\s+acme$/m);
    expect(result.stdout).toMatch(/^status\s+completed$/m);
  });

  it("prints the record as JSON with --json", async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: marshall(RECORD) });

    const result = await runCli(["get", "acme", "o-1", "--json"], { target: fakeTarget() });

    expect(JSON.parse(result.stdout)).toEqual(RECORD);
  });

  it("exits 1 with one line, no stack trace, when nothing is stored", async () => {
    dynamodb.on(GetItemCommand).resolves({});

    const result = await runCli(["get", "acme", "o-9"], { target: fakeTarget() });

    expect(result).toEqual({
      code: EXIT.error,
      stdout: "",
      stderr: "error: no record for customer acme order o-9\n",
    });
  });

  it("explains that a record without a transcript has no full JSON", async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: marshall({ ...RECORD, status: "fetch_failed" }) });

    const result = await runCli(["get", "acme", "o-1", "--full"], { target: fakeTarget() });

    expect(result.code).toBe(EXIT.error);
    expect(result.stderr).toBe(
      "error: the record for customer acme order o-1 has no stored transcript (status fetch_failed)\n",
    );
  });
});

describe("list", () => {
  it("follows Query pages and prints one row per record", async () => {
    dynamodb
      .on(QueryCommand)
      .resolvesOnce({
        Items: [marshall(RECORD)],
        LastEvaluatedKey: marshall({ customer_id: "acme", order_id: "o-1" }),
      })
      .resolvesOnce({
        Items: [marshall({ ...RECORD, order_id: "o-2", status: "error", error: "bad audio" })],
      });

    const result = await runCli(["list", "acme"], { target: fakeTarget() });

    expect(dynamodb).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(dynamodb).toHaveReceivedNthSpecificCommandWith(2, QueryCommand, {
      ExclusiveStartKey: marshall({ customer_id: "acme", order_id: "o-1" }),
    });
    expect(result.stdout).toMatch(/^ORDER\s+STATUS\s+TRANSCRIPT/m);
    expect(result.stdout).toMatch(/^o-2\s+error\s+t-1.*bad audio$/m);
    expect(result.stdout).toContain("2 records");
  });

  it("says so, and succeeds, when the customer has no records", async () => {
    dynamodb.on(QueryCommand).resolves({ Items: [] });

    const result = await runCli(["list", "nobody"], { target: fakeTarget() });

    expect(result).toMatchObject({ code: EXIT.ok, stdout: "no records for customer nobody\n" });
  });
});

describe("replay options", () => {
  it("needs both ids or neither", () => {
    expect(() => checkReplayOptions(["t-1"], { customerId: "acme" })).toThrow("together");
  });

  it("refuses explicit ids for several transcripts, which would overwrite one another", () => {
    expect(() => checkReplayOptions(["t-1", "t-2"], { customerId: "a", orderId: "o" })).toThrow(
      /apply to one transcript/,
    );
  });

  it("exits 2 through the CLI for a contradictory combination", async () => {
    const result = await runCli(["replay", "t-1", "t-2", "--customer-id", "a", "--order-id", "o"], {
      target: fakeTarget(),
    });

    expect(result.code).toBe(EXIT.usage);
  });

  it("tells a partial batch (3) from a failed one (1)", () => {
    expect(batchExitCode([{ ok: true }, { ok: true }])).toBe(EXIT.ok);
    expect(batchExitCode([{ ok: true }, { ok: false }])).toBe(EXIT.partial);
    expect(batchExitCode([{ ok: false }])).toBe(EXIT.error);
  });
});

describe("set-api-key", () => {
  /** A real HTTP server standing in for AssemblyAI: accepts GOOD_KEY, answers `status` to anything else. */
  const GOOD_KEY = "aai-key-0123";
  let server: Server;
  let baseUrl: string;
  let requests: Array<{ method?: string; url?: string; authorization?: string }>;
  let status: number;

  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push({
        method: request.method,
        url: request.url,
        authorization: request.headers.authorization,
      });
      const code = request.headers.authorization === GOOD_KEY ? 200 : status;
      response.writeHead(code, { "content-type": "application/json" });
      response.end(JSON.stringify(code === 200 ? { transcripts: [] } : { error: "Authentication error" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    requests = [];
    status = 401;
    secrets.on(PutSecretValueCommand).resolves({ ARN: "arn:secret", VersionId: "v2" });
    secrets.on(GetSecretValueCommand).resolves({
      SecretString: "PLACEHOLDER: set the AssemblyAI API key (README, Deploy)",
    });
  });

  const target = () => fakeTarget({ assemblyAiBaseUrl: baseUrl });

  /** A port nothing listens on: connecting is refused at once. */
  async function closedPort(): Promise<string> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return `http://127.0.0.1:${port}`;
  }

  it("checks the piped key with AssemblyAI, stores it trimmed, and never prints it", async () => {
    const result = await runCli(["set-api-key"], { target: target(), stdin: `${GOOD_KEY}\n` });

    expect(result).toMatchObject({ code: EXIT.ok });
    expect(requests).toEqual([{ method: "GET", url: "/v2/transcript?limit=1", authorization: GOOD_KEY }]);
    expect(secrets).toHaveReceivedCommandWith(PutSecretValueCommand, {
      SecretId: "api-key",
      SecretString: GOOD_KEY,
    });
    expect(result.stdout + result.stderr).not.toContain(GOOD_KEY);
    expect(result.stdout).toMatch(/^version\s+v2$/m);
    expect(result.stdout).toMatch(new RegExp(`^checked\\s+accepted by ${baseUrl}$`, "m"));
  });

  it.each([401, 403])(
    "refuses a key AssemblyAI answers %i to, in one line, and stores nothing",
    async (code) => {
      status = code;

      const result = await runCli(["set-api-key"], { target: target(), stdin: "aai-typo-0124" });

      expect(result.code).toBe(EXIT.error);
      expect(result.stderr).toBe(
        `error: AssemblyAI at ${baseUrl} rejected the key (HTTP ${code}): check it for typos and that it is ` +
          "for this region (--assemblyai-region); nothing was stored\n",
      );
      expect(result.stdout + result.stderr).not.toContain("aai-typo-0124");
      expect(secrets).not.toHaveReceivedCommand(PutSecretValueCommand);
    },
  );

  it("refuses when AssemblyAI cannot be reached or fails, unless --no-verify", async () => {
    const unreachable = fakeTarget({ assemblyAiBaseUrl: await closedPort() });
    status = 503;

    const refused = await runCli(["set-api-key"], { target: unreachable, stdin: GOOD_KEY });
    const failing = await runCli(["set-api-key"], { target: target(), stdin: "aai-other-key" });

    expect(refused.code).toBe(EXIT.error);
    expect(refused.stderr).toMatch(
      /^error: could not check the key against AssemblyAI at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): nothing was stored; try again, or pass --no-verify to store it unchecked\n$/,
    );
    expect(failing.code).toBe(EXIT.error);
    expect(failing.stderr).toContain("(HTTP 503): nothing was stored");
    expect(secrets).not.toHaveReceivedCommand(PutSecretValueCommand);

    const unchecked = await runCli(["--json", "set-api-key", "--no-verify"], {
      target: unreachable,
      stdin: GOOD_KEY,
    });

    expect(unchecked.code).toBe(EXIT.ok);
    expect(unchecked.stderr).toBe("warning: the key was not checked against AssemblyAI (--no-verify)\n");
    expect(JSON.parse(unchecked.stdout)).toMatchObject({ verified: false, replaced: false });
    expect(secrets).toHaveReceivedCommandTimes(PutSecretValueCommand, 1);
  });

  it("needs --force to replace a key the secret holds when stdin is not a terminal", async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: "aai-old-key-9999" });

    const refused = await runCli(["set-api-key"], { target: target(), stdin: GOOD_KEY });

    expect(refused.code).toBe(EXIT.error);
    expect(refused.stderr).toBe(
      "error: secret api-key already holds an API key: pass --force to replace it; nothing was stored\n",
    );
    expect(refused.stderr).not.toContain("aai-old-key-9999");
    expect(requests).toEqual([]);
    expect(secrets).not.toHaveReceivedCommand(PutSecretValueCommand);

    const forced = await runCli(["--json", "set-api-key", "--force"], { target: target(), stdin: GOOD_KEY });

    expect(forced.code).toBe(EXIT.ok);
    expect(JSON.parse(forced.stdout)).toEqual({
      secret: "arn:secret",
      version_id: "v2",
      verified: true,
      replaced: true,
    });
    expect(secrets).toHaveReceivedCommandWith(PutSecretValueCommand, { SecretString: GOOD_KEY });
  });

  it("does not need --force to store the key the secret already holds", async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: GOOD_KEY });

    const result = await runCli(["set-api-key"], { target: target(), stdin: GOOD_KEY });

    expect(result.code).toBe(EXIT.ok);
  });

  it("needs --force when the current value cannot be read (a write-only role)", async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error("not allowed"), { name: "AccessDeniedException" }));

    const refused = await runCli(["set-api-key"], { target: target(), stdin: GOOD_KEY });
    const forced = await runCli(["set-api-key", "--force"], { target: target(), stdin: GOOD_KEY });

    expect(refused.code).toBe(EXIT.error);
    expect(refused.stderr).toContain(
      "may already hold an API key (reading it failed: AccessDeniedException): pass --force",
    );
    expect(forced.code).toBe(EXIT.ok);
  });

  it("asks on a terminal before replacing a key, after checking the new one", async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: "aai-old-key-9999" });

    const declined = await runCli(["set-api-key"], {
      target: target(),
      tty: true,
      stdin: `${GOOD_KEY}\rn\r`,
    });

    expect(declined.code).toBe(EXIT.error);
    expect(declined.stderr).toContain(
      "Secret api-key already holds an API key. Replace it? [y/N] n\nerror: not confirmed: nothing was stored\n",
    );
    expect(declined.stderr).not.toContain(GOOD_KEY);
    expect(secrets).not.toHaveReceivedCommand(PutSecretValueCommand);

    const confirmed = await runCli(["set-api-key"], {
      target: target(),
      tty: true,
      stdin: `${GOOD_KEY}\ryes\r`,
    });

    expect(confirmed.code).toBe(EXIT.ok);
    expect(confirmed.stderr).toMatch(
      /^AssemblyAI API key \(not shown\): \nSecret api-key .* Replace it\? \[y\/N\] yes\n$/,
    );
    expect(requests).toHaveLength(2);
    expect(secrets).toHaveReceivedCommandWith(PutSecretValueCommand, { SecretString: GOOD_KEY });
  });

  it("does not ask on a terminal for a rejected key", async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: "aai-old-key-9999" });

    const result = await runCli(["set-api-key"], { target: target(), tty: true, stdin: "aai-typo\ry\r" });

    expect(result.code).toBe(EXIT.error);
    expect(result.stderr).toContain("rejected the key (HTTP 401)");
    expect(result.stderr).not.toContain("Replace it?");
    expect(secrets).not.toHaveReceivedCommand(PutSecretValueCommand);
  });

  it("refuses empty input and stores nothing", async () => {
    const result = await runCli(["set-api-key"], { target: target(), stdin: " \n" });

    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toBe("error: the API key is empty: nothing was stored\n");
    expect(secrets).not.toHaveReceivedCommand(PutSecretValueCommand);
  });

  it("refuses the placeholder value", async () => {
    const result = await runCli(["set-api-key"], { target: target(), stdin: "PLACEHOLDER:x" });

    expect(result.code).toBe(EXIT.usage);
    expect(requests).toEqual([]);
    expect(secrets).not.toHaveReceivedCommand(PutSecretValueCommand);
  });

  it("refuses a value with whitespace inside (a paste gone wrong)", () => {
    expect(() => normalizeSecretInput("abc def")).toThrow("whitespace");
  });
});

describe("dlq redrive", () => {
  function depth(visible: number) {
    sqs.on(GetQueueAttributesCommand).resolves({
      Attributes: {
        ApproximateNumberOfMessages: String(visible),
        ApproximateNumberOfMessagesNotVisible: "0",
        ApproximateNumberOfMessagesDelayed: "0",
        QueueArn: "arn:aws:sqs:us-east-1:123456789012:q",
      },
    });
  }

  it("locally, sends each message to the queue before deleting it from the DLQ", async () => {
    depth(2);
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { MessageId: "m-1", Body: "one", ReceiptHandle: "r-1" },
          { MessageId: "m-2", Body: "two", ReceiptHandle: "r-2" },
        ],
      })
      .resolves({ Messages: [] });
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [
        { Id: "0", MessageId: "n-1", MD5OfMessageBody: "" },
        { Id: "1", MessageId: "n-2", MD5OfMessageBody: "" },
      ],
      Failed: [],
    });
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: "0" }, { Id: "1" }], Failed: [] });
    const target = fakeTarget({ mode: "local" });

    const result = await runCli(["dlq", "redrive"], { target });

    expect(result.code).toBe(EXIT.ok);
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, {
      QueueUrl: target.queueUrl,
      Entries: [
        { Id: "0", MessageBody: "one" },
        { Id: "1", MessageBody: "two" },
      ],
    });
    expect(sqs).toHaveReceivedCommandWith(DeleteMessageBatchCommand, {
      QueueUrl: target.dlqUrl,
      Entries: [
        { Id: "0", ReceiptHandle: "r-1" },
        { Id: "1", ReceiptHandle: "r-2" },
      ],
    });
    expect(result.stdout).toContain("2 messages moved back to the delivery queue");
  });

  it("keeps in the DLQ what the queue refused, and exits 3", async () => {
    depth(2);
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { Body: "one", ReceiptHandle: "r-1" },
          { Body: "two", ReceiptHandle: "r-2" },
        ],
      })
      .resolves({ Messages: [] });
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [{ Id: "1", MessageId: "n-2", MD5OfMessageBody: "" }],
      Failed: [{ Id: "0", Code: "InternalError", SenderFault: false }],
    });
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: "0" }] });

    const result = await runCli(["dlq", "redrive"], { target: fakeTarget({ mode: "local" }) });

    expect(sqs).toHaveReceivedCommandWith(DeleteMessageBatchCommand, {
      Entries: [{ Id: "0", ReceiptHandle: "r-2" }],
    });
    expect(result.code).toBe(EXIT.partial);
    expect(result.stdout).toContain("1 could not be moved");
  });

  it("on AWS, starts a message move task back to the source queue and follows it to the end", async () => {
    sqs.on(GetQueueAttributesCommand, { QueueUrl: fakeTarget().dlqUrl }).resolves({
      Attributes: { ApproximateNumberOfMessages: "3", QueueArn: "arn:dlq" },
    });
    sqs
      .on(GetQueueAttributesCommand, { QueueUrl: fakeTarget().queueUrl })
      .resolves({ Attributes: { QueueArn: "arn:queue" } });
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: "task-1" });
    sqs.on(ListMessageMoveTasksCommand).resolves({
      Results: [
        {
          TaskHandle: "task-1",
          Status: "COMPLETED",
          ApproximateNumberOfMessagesMoved: 3,
          ApproximateNumberOfMessagesToMove: 3,
        },
      ],
    });

    const result = await runCli(["dlq", "redrive", "--json"], { target: fakeTarget({ mode: "aws" }) });

    expect(sqs).toHaveReceivedCommandWith(StartMessageMoveTaskCommand, {
      SourceArn: "arn:dlq",
      DestinationArn: "arn:queue",
    });
    expect(JSON.parse(result.stdout)).toEqual({
      method: "move-task",
      moved: 3,
      failed: 0,
      status: "COMPLETED",
      task_handle: "task-1",
    });
    expect(result.code).toBe(EXIT.ok);
  });

  it("does nothing when the DLQ is empty", async () => {
    depth(0);

    const result = await runCli(["dlq", "redrive"], { target: fakeTarget() });

    expect(result.stdout).toBe("the dead-letter queue is empty: nothing to redrive\n");
    expect(sqs).not.toHaveReceivedCommand(ReceiveMessageCommand);
  });
});

describe("status", () => {
  beforeEach(() => {
    documents.on(DocumentQueryCommand, { IndexName: "by-fetch-retry" }).resolves({ Count: 0 });
  });

  it("reads depths from attributes only and names the CloudWatch metric for the age", async () => {
    sqs.on(GetQueueAttributesCommand).resolves({
      Attributes: {
        ApproximateNumberOfMessages: "4",
        ApproximateNumberOfMessagesNotVisible: "2",
        ApproximateNumberOfMessagesDelayed: "0",
      },
    });
    documents
      .on(ScanCommand)
      .resolves({ Items: [{ ...RECORD, status: "fetch_failed", error: "401" }], ScannedCount: 10 });
    secrets.onAnyCommand().resolves({ SecretString: "PLACEHOLDER: x" });

    const result = await runCli(["status"], { target: fakeTarget({ mode: "aws" }) });

    expect(sqs).not.toHaveReceivedCommand(ReceiveMessageCommand);
    expect(result.stdout).toMatch(/^queue\s+6 \(4 waiting, 2 in flight\)$/m);
    expect(result.stdout).toContain("ApproximateAgeOfOldestMessage");
    expect(result.stdout).toContain("placeholder: not set yet (run set-api-key)");
    expect(result.stdout).toMatch(/^acme\s+o-1\s+fetch_failed/m);
  });

  it("counts the fetch_failed records waiting for the reconciler, every page of the retry index", async () => {
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: {} });
    documents.on(ScanCommand).resolves({ Items: [], ScannedCount: 0 });
    documents
      .on(DocumentQueryCommand, { IndexName: "by-fetch-retry" })
      .resolvesOnce({ Count: 2, LastEvaluatedKey: { customer_id: "acme", order_id: "o-2" } })
      .resolvesOnce({ Count: 1 });
    secrets.onAnyCommand().resolves({ SecretString: "a-real-key" });

    const result = await runCli(["status"], { target: fakeTarget({ mode: "aws" }) });
    documents.on(DocumentQueryCommand, { IndexName: "by-fetch-retry" }).resolves({ Count: 5 });
    const json = await runCli(["--json", "status"], { target: fakeTarget({ mode: "aws" }) });

    expect(result.stdout).toMatch(/^retries waiting\s+3 fetch_failed record\(s\)/m);
    expect(documents).toHaveReceivedCommandWith(DocumentQueryCommand, {
      IndexName: "by-fetch-retry",
      Select: "COUNT",
      ExpressionAttributeValues: { ":waiting": "waiting" },
    });
    expect(JSON.parse(json.stdout)).toMatchObject({ fetch_failed_waiting_retry: 5 });
  });

  it("reports an API key secret without a value, as the stack creates it, as not set yet", async () => {
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: {} });
    documents.on(ScanCommand).resolves({ Items: [], ScannedCount: 0 });
    secrets
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ message: "no value for AWSCURRENT", $metadata: {} }));

    const result = await runCli(["status"], { target: fakeTarget({ mode: "aws" }) });

    expect(result.stdout).toContain("placeholder: not set yet (run set-api-key)");
  });

  it("says the local emulator has no age metric", () => {
    expect(oldestMessageHint({ mode: "local", queueUrl: "http://x/q" })).toMatch(/^n\/a/);
  });
});

describe("reconcile report", () => {
  const report: ReconcileReport = {
    examined: 4,
    matched: 3,
    alreadyStored: 1,
    delivered: 0,
    queued: 1,
    skipped: 1,
    superseded: 0,
    pending: 2,
    unreadRetrying: 0,
    unreadAbandoned: 0,
    fetchRetryWaiting: 0,
    fetchRetried: 0,
    fetchRetriesAbandoned: 0,
    nextUnread: [],
    nextFetchRetries: [],
    apiCalls: 5,
    budgetExhausted: false,
    nextCheckpoint: "2026-11-27T11:50:00.000Z",
    transcripts: [
      {
        transcriptId: "t-1",
        outcome: "queued",
        customerId: "acme",
        orderId: "o-1",
        requestId: "reconciler-1",
      },
      { transcriptId: "t-2", outcome: "skipped", reason: "query parameter order_id is required" },
    ],
  };

  it("lists the decisions, then the counts", () => {
    const text = formatReport(report);

    expect(text).toMatch(/^t-1\s+queued\s+acme\s+o-1\s+reconciler-1$/m);
    expect(text).toMatch(/^t-2\s+skipped.*order_id is required$/m);
    expect(text).toMatch(/^queued\s+1$/m);
    expect(text).toMatch(/^next checkpoint\s+2026-11-27T11:50:00.000Z$/m);
  });

  it("says how many transcripts could not be read, and to run again for them", () => {
    const text = formatReport({ ...report, unreadRetrying: 2 });

    expect(text).toMatch(/^not read \(AssemblyAI failed\)\s+2$/m);
    expect(text).toContain("2 transcripts could not be read: run reconcile again to retry them");
  });

  it("exits 3 when some transcripts could not be read, though the run covered the window", () => {
    expect(reconcileExitCode({ ...report, unreadRetrying: 1 })).toBe(EXIT.partial);
  });

  it("exits 0 for a complete run, 3 for one cut short, 1 for one that failed before queuing anything", () => {
    expect(reconcileExitCode(report)).toBe(EXIT.ok);
    expect(reconcileExitCode({ ...report, stopReason: "budget", budgetExhausted: true })).toBe(EXIT.partial);
    expect(reconcileExitCode({ ...report, queued: 0, stopReason: "failure", failure: "x" })).toBe(EXIT.error);
  });
});
