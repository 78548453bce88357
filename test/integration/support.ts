/**
 * Integration test support: runs the whole local stack (`local/start.ts`: moto, the receiver and worker
 * bundles, the SQS poller and the AssemblyAI simulator) as a child process, reads its contract
 * (`stack.json`), and gives tests clients and helpers for every part of it.
 *
 * One stack per test file: `const stack = useLocalStack();` registers beforeAll/afterAll and returns a
 * handle whose properties are usable inside tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { gunzipSync } from "node:zlib";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { AssemblyAI, type Transcript } from "assemblyai";
import { fromAttributeMap, toAttributeMap } from "../../functions/shared/attribute-values";
import type { LocalStackContract } from "../../local/start";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** Emulators accept any credentials; the SDK only needs some to sign with. */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

const STARTUP_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const OUTPUT_LIMIT = 64 * 1024;

// ---------------------------------------------------------------------------------------------------------
// Types

/** The DynamoDB item the worker writes for one customer/order. */
export interface TranscriptRecord {
  readonly customer_id: string;
  readonly order_id: string;
  readonly transcript_id?: string;
  readonly status?: "completed" | "error" | "fetch_failed";
  readonly text?: string;
  readonly text_s3_key?: string;
  readonly error?: string;
  readonly audio_duration?: number;
  readonly language_code?: string;
  readonly confidence?: number;
  readonly metadata?: Record<string, string>;
  readonly received_at?: string;
  readonly stored_at?: string;
  readonly transcript_s3_key?: string;
  readonly redacted_audio_s3_key?: string;
  readonly redacted_audio_stored_at?: string;
  readonly redacted_audio_error?: string;
  readonly [attribute: string]: unknown;
}

/** One webhook attempt as the simulator serves it at `GET /__simulator/deliveries`. */
export interface DeliveryAttempt {
  /** The transcript's id; for a streaming session, the session's. */
  readonly transcriptId: string;
  readonly kind: "transcript" | "redacted_audio" | "streaming_session";
  readonly attempt: number;
  readonly url: string;
  readonly body: string;
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly outcome: "delivered" | "retrying" | "failed";
  readonly durationMs: number;
  readonly at: string;
}

export interface SimulatorStats {
  readonly total: number;
  readonly byRoute: Readonly<Record<string, number>>;
  readonly byTranscript: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface FaultInput {
  readonly status: 429 | 500 | 404;
  readonly times?: number;
  readonly transcriptId?: string;
  readonly retryAfterSeconds?: number;
  readonly route?: string;
}

/** What the simulator answers when a streaming session ends (`POST /__simulator/streaming-sessions`). */
export interface EndedSession {
  readonly session_id: string;
  readonly turns: number;
  readonly messages: number;
  /** The formatted turns joined by a space: the text the record should hold. */
  readonly text: string;
}

export interface QueueDepth {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
  readonly total: number;
}

/** One JSON log line the stack printed (receiver and worker handlers write one per delivery/record). */
export type LogLine = Readonly<Record<string, unknown>>;

export interface SubmitOptions {
  /** Audio URL; its query string carries the simulator controls (`words=`, `simulate=error`, `delay_ms=`). */
  readonly audioUrl?: string;
  /** The webhook auth header value to register; defaults to the stack's secret. */
  readonly authHeaderValue?: string;
  readonly redactPiiAudio?: boolean;
  /** The webhook URL to register, for URLs `webhookUrl` cannot write (raw query strings); see `webhookUrlWithQuery`. */
  readonly webhookUrl?: string;
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

/** Polls `probe` until it returns something other than undefined; throws with `describe()` on timeout. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; describe: () => string | Promise<string> },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await sleep(options.intervalMs ?? 150);
  }
  const detail = lastError === undefined ? "" : ` (last error: ${String(lastError)})`;
  throw new Error(`timed out after ${options.timeoutMs} ms: ${await options.describe()}${detail}`);
}

/** A unique id for customer/order keys, so tests never see each other's records. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** An audio URL the simulator treats as opaque apart from its query-string controls. */
export function audioUrl(controls: Record<string, string | number> = {}): string {
  const query = new URLSearchParams({ n: randomUUID() });
  for (const [key, value] of Object.entries(controls)) query.set(key, String(value));
  return `https://audio.example.com/calls/recording.mp3?${query}`;
}

async function bodyBytes(body: { transformToByteArray(): Promise<Uint8Array> } | undefined): Promise<Buffer> {
  if (body === undefined) throw new Error("S3 returned no body");
  return Buffer.from(await body.transformToByteArray());
}

// ---------------------------------------------------------------------------------------------------------
// The running stack

export class LocalStack {
  readonly assemblyAi: AssemblyAI;
  readonly dynamodb: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  private readonly exitPromise: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly contract: LocalStackContract,
    readonly child: ChildProcess,
    readonly stateDir: string,
    private readonly output: OutputCapture,
  ) {
    const aws = { endpoint: contract.awsEndpoint, region: contract.region, credentials: LOCAL_CREDENTIALS };
    this.assemblyAi = new AssemblyAI({
      apiKey: contract.assemblyAiApiKey,
      baseUrl: contract.assemblyAiBaseUrl,
    });
    // Through the stack's DynamoDB proxy: moto can answer a read with an item half-way through an update.
    this.dynamodb = new DynamoDBClient({ ...aws, endpoint: contract.dynamodbEndpoint });
    this.documents = DynamoDBDocumentClient.from(this.dynamodb);
    this.s3 = new S3Client({ ...aws, forcePathStyle: true });
    this.sqs = new SQSClient(aws);
    this.exitPromise = exitOf(child);
  }

  get contractPath(): string {
    return path.join(this.stateDir, "stack.json");
  }

  /** The child's output so far (its tail), for failure messages. */
  outputTail(): string {
    return this.output.tail();
  }

  /** Every JSON log line the stack printed so far. */
  logs(): readonly LogLine[] {
    return this.output.jsonLines;
  }

  /** Resolves with the exit code and signal once the child has exited. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exitPromise;
  }

  // --- webhook ------------------------------------------------------------------------------------------

  webhookUrl(customerId: string, orderId: string): string {
    const url = new URL(this.contract.webhookUrl);
    url.searchParams.set("customer_id", customerId);
    url.searchParams.set("order_id", orderId);
    return url.toString();
  }

  /** The webhook URL with a query string exactly as written (no encoding added). */
  webhookUrlWithQuery(rawQuery: string): string {
    const url = new URL(this.contract.webhookUrl);
    return `${url.origin}${url.pathname}?${rawQuery}`;
  }

  /** A hand-made delivery to the receiver, as AssemblyAI would send it (with the right secret by default). */
  async postWebhook(
    url: string,
    body: string | Record<string, unknown>,
    options: {
      authHeaderValue?: string | null;
      method?: string;
      contentType?: string;
      /** How long to wait for the answer. @default 15000 */
      timeoutMs?: number;
    } = {},
  ): Promise<{ status: number; headers: Headers; text: string; json: unknown }> {
    const headers: Record<string, string> = { "content-type": options.contentType ?? "application/json" };
    const secret =
      options.authHeaderValue === undefined ? this.contract.authHeaderValue : options.authHeaderValue;
    if (secret !== null) headers[this.contract.authHeaderName] = secret;
    const method = options.method ?? "POST";
    const response = await fetch(url, {
      method,
      headers,
      ...(method === "GET" || method === "HEAD"
        ? {}
        : { body: typeof body === "string" ? body : JSON.stringify(body) }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  /** Submits a job through the official SDK with this stack's webhook URL and auth header. */
  submit(customerId: string, orderId: string, options: SubmitOptions = {}): Promise<Transcript> {
    return this.assemblyAi.transcripts.submit({
      audio: options.audioUrl ?? audioUrl(),
      webhook_url: options.webhookUrl ?? this.webhookUrl(customerId, orderId),
      webhook_auth_header_name: this.contract.authHeaderName,
      webhook_auth_header_value: options.authHeaderValue ?? this.contract.authHeaderValue,
      ...(options.redactPiiAudio === undefined ? {} : { redact_pii_audio: options.redactPiiAudio }),
    });
  }

  /**
   * Has the simulator end a streaming session whose webhook is this stack's, for customer/order: it posts
   * the whole session (`{session_id, messages}`) with the stack's auth header, retrying as AssemblyAI does.
   */
  async endStreamingSession(
    customerId: string,
    orderId: string,
    content: { readonly text?: string; readonly turns?: number; readonly partials?: boolean } = {},
  ): Promise<EndedSession> {
    return (await this.simulator("POST", "/__simulator/streaming-sessions", {
      webhook_url: this.webhookUrl(customerId, orderId),
      webhook_auth_header_name: this.contract.authHeaderName,
      webhook_auth_header_value: this.contract.authHeaderValue,
      ...content,
    })) as EndedSession;
  }

  // --- DynamoDB and S3 ----------------------------------------------------------------------------------

  async getRecord(customerId: string, orderId: string): Promise<TranscriptRecord | undefined> {
    // The worker's codec, not the document client's: it keeps metadata named __proto__ (attribute-values.ts).
    const result = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.contract.tableName,
        Key: toAttributeMap({ customer_id: customerId, order_id: orderId }),
        ConsistentRead: true,
      }),
    );
    return result.Item === undefined ? undefined : (fromAttributeMap(result.Item) as TranscriptRecord);
  }

  /** Every item of one customer (all pages). */
  async recordsOf(customerId: string): Promise<TranscriptRecord[]> {
    const items: TranscriptRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.contract.tableName,
          KeyConditionExpression: "customer_id = :customer",
          ExpressionAttributeValues: { ":customer": customerId },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...((page.Items ?? []) as TranscriptRecord[]));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  /** Polls GetItem until the record exists and satisfies `predicate`. */
  waitForRecord(
    customerId: string,
    orderId: string,
    predicate: (record: TranscriptRecord) => boolean = (record) => record.status !== undefined,
    timeoutMs = 15_000,
  ): Promise<TranscriptRecord> {
    let last: TranscriptRecord | undefined;
    return eventually(
      async () => {
        last = await this.getRecord(customerId, orderId);
        return last !== undefined && predicate(last) ? last : undefined;
      },
      {
        timeoutMs,
        intervalMs: 200,
        describe: () =>
          `record ${customerId}/${orderId}; last seen: ${JSON.stringify(last)}\n--- stack output ---\n${this.outputTail()}`,
      },
    );
  }

  async getObject(key: string): Promise<Buffer> {
    const result = await this.s3.send(new GetObjectCommand({ Bucket: this.contract.bucketName, Key: key }));
    return bodyBytes(result.Body);
  }

  async objectExists(key: string): Promise<{ size: number; contentType: string | undefined } | undefined> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.contract.bucketName, Key: key }));
      return { size: head.ContentLength ?? 0, contentType: head.ContentType };
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "NotFound" || name === "NoSuchKey") return undefined;
      throw error;
    }
  }

  /** The archived transcript JSON (gzip) at `key`, parsed. */
  async getTranscriptJson(key: string): Promise<Record<string, unknown>> {
    return JSON.parse(gunzipSync(await this.getObject(key)).toString("utf8")) as Record<string, unknown>;
  }

  // --- SQS ----------------------------------------------------------------------------------------------

  async queueDepth(queueUrl: string): Promise<QueueDepth> {
    const result = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: [
          "ApproximateNumberOfMessages",
          "ApproximateNumberOfMessagesNotVisible",
          "ApproximateNumberOfMessagesDelayed",
        ],
      }),
    );
    const count = (name: string) => Number(result.Attributes?.[name as keyof typeof result.Attributes] ?? 0);
    const visible = count("ApproximateNumberOfMessages");
    const inFlight = count("ApproximateNumberOfMessagesNotVisible");
    const delayed = count("ApproximateNumberOfMessagesDelayed");
    return { visible, inFlight, delayed, total: visible + inFlight + delayed };
  }

  mainQueueDepth(): Promise<QueueDepth> {
    return this.queueDepth(this.contract.queueUrl);
  }

  dlqDepth(): Promise<QueueDepth> {
    return this.queueDepth(this.contract.dlqUrl);
  }

  /** Waits until the main queue holds nothing (visible, in flight or delayed). */
  async waitForQueueDrained(timeoutMs = 15_000): Promise<void> {
    let last: QueueDepth | undefined;
    await eventually(
      async () => {
        last = await this.mainQueueDepth();
        return last.total === 0 ? true : undefined;
      },
      {
        timeoutMs,
        intervalMs: 200,
        describe: () => {
          const failures = this.logs()
            .filter((line) => line.outcome === "transient_failure")
            .slice(-5)
            .map((line) => `${line.order_id}: ${line.reason}`);
          return `main queue not drained: ${JSON.stringify(last)}; last transient failures:\n${failures.join("\n")}`;
        },
      },
    );
  }

  // --- logs ---------------------------------------------------------------------------------------------

  /** Waits for a JSON log line that matches. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 15_000, what = "a matching log line") {
    return eventually(async () => this.logs().find(predicate), {
      timeoutMs,
      intervalMs: 100,
      describe: () => `${what}\n--- stack output ---\n${this.outputTail()}`,
    });
  }

  // --- the AssemblyAI simulator -------------------------------------------------------------------------

  private async simulator(method: string, route: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.contract.assemblyAiBaseUrl}${route}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`simulator ${method} ${route} answered ${response.status}: ${text}`);
    return JSON.parse(text) as unknown;
  }

  /** Adds a fault switch (by default on `GET /v2/transcript/:id`). */
  async addFault(fault: FaultInput): Promise<void> {
    await this.simulator("POST", "/__simulator/faults", fault);
  }

  async clearFaults(): Promise<void> {
    await this.simulator("DELETE", "/__simulator/faults");
  }

  async simulatorStats(): Promise<SimulatorStats> {
    return (await this.simulator("GET", "/__simulator/stats")) as SimulatorStats;
  }

  /** `GET /v2/transcript/:id` requests the simulator received for one transcript. */
  async transcriptFetches(transcriptId: string): Promise<number> {
    return (await this.simulatorStats()).byTranscript[transcriptId]?.["GET /v2/transcript/:id"] ?? 0;
  }

  async deliveries(transcriptId?: string): Promise<DeliveryAttempt[]> {
    const { deliveries } = (await this.simulator("GET", "/__simulator/deliveries")) as {
      deliveries: DeliveryAttempt[];
    };
    return transcriptId === undefined
      ? deliveries
      : deliveries.filter((attempt) => attempt.transcriptId === transcriptId);
  }

  /** Waits until a webhook of `kind` for the transcript has a final attempt (delivered or failed). */
  waitForSettledDelivery(
    transcriptId: string,
    kind: DeliveryAttempt["kind"] = "transcript",
    timeoutMs = 15_000,
  ): Promise<DeliveryAttempt[]> {
    let last: DeliveryAttempt[] = [];
    return eventually(
      async () => {
        last = (await this.deliveries(transcriptId)).filter((attempt) => attempt.kind === kind);
        return last.some((attempt) => attempt.outcome !== "retrying") ? last : undefined;
      },
      { timeoutMs, describe: () => `settled ${kind} webhook for ${transcriptId}: ${JSON.stringify(last)}` },
    );
  }

  // --- lifecycle ----------------------------------------------------------------------------------------

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it exited. */
  async stop(graceMs = STOP_GRACE_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
      this.child.kill("SIGTERM");
      try {
        await this.exitPromise;
      } finally {
        clearTimeout(timer);
      }
    }
    for (const client of [this.dynamodb, this.s3, this.sqs]) client.destroy();
    return this.exitPromise;
  }

  /** Removes the temporary state directory (after stop). */
  cleanUp(): void {
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

class OutputCapture {
  private text = "";
  private partial = "";
  readonly jsonLines: LogLine[] = [];

  add(chunk: Buffer, stream: "stdout" | "stderr"): void {
    const text = chunk.toString("utf8");
    this.text = (this.text + text).slice(-OUTPUT_LIMIT);
    if (stream !== "stdout") return;
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith("{")) continue;
      try {
        this.jsonLines.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log record
      }
    }
  }

  tail(): string {
    return this.text;
  }
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

/**
 * Starts `local/start.ts` (through tsx, as `npx tsx local/start.ts` does) on free ports with a fresh state
 * directory, and resolves once `stack.json` is written. On failure the child is killed and the error carries
 * its output.
 */
export async function startLocalStack(extraEnv: Readonly<Record<string, string>> = {}): Promise<LocalStack> {
  const stateDir = mkdtempSync(path.join(tmpdir(), "aai-webhooks-it-"));
  const contractPath = path.join(stateDir, "stack.json");
  const tsxCli = path.join(PROJECT_ROOT, "node_modules", "tsx", "dist", "cli.mjs");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: "0",
    LOCAL_STATE_DIR: stateDir,
    SIMULATOR_PORT: "0",
    SIMULATOR_DELAY_MS: "100",
    SIMULATOR_WEBHOOK_RETRY_MS: "300",
    LOG_FORMAT: "json",
    NODE_NO_WARNINGS: "1",
    // Off unless a test file asks: a scheduled run would add fetches that tests count.
    RECONCILE_EVERY_SECONDS: "0",
    ...extraEnv,
  };
  // A hermetic stack: its own moto and simulator, whatever the developer's shell points at.
  for (const name of ["AWS_ENDPOINT_URL", "ASSEMBLYAI_API_KEY", "ASSEMBLYAI_BASE_URL", "AWS_PROFILE"]) {
    delete env[name];
  }
  const output = new OutputCapture();
  const child = spawn(process.execPath, [tsxCli, "local/start.ts"], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => output.add(chunk, "stdout"));
  child.stderr?.on("data", (chunk: Buffer) => output.add(chunk, "stderr"));
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
  });

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!existsSync(contractPath)) {
    if (
      spawnError !== undefined ||
      child.exitCode !== null ||
      child.signalCode !== null ||
      Date.now() > deadline
    ) {
      const why =
        spawnError !== undefined
          ? `could not be spawned: ${spawnError.message}`
          : child.exitCode !== null || child.signalCode !== null
            ? `exited (code ${child.exitCode}, signal ${child.signalCode}) before writing stack.json`
            : `did not write ${contractPath} within ${STARTUP_TIMEOUT_MS} ms`;
      await killAndWait(child);
      rmSync(stateDir, { recursive: true, force: true });
      throw new Error(`the local stack ${why}\n--- stack output ---\n${output.tail()}`);
    }
    await sleep(100);
  }
  // The file is written in one call; read until it parses, in case we caught it mid-write.
  const contract = await eventually(
    async () => JSON.parse(readFileSync(contractPath, "utf8")) as LocalStackContract,
    { timeoutMs: 5_000, describe: () => `readable ${contractPath}` },
  );
  return new LocalStack(contract, child, stateDir, output);
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = exitOf(child);
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * Registers beforeAll/afterAll for one stack per test file and returns an accessor. The accessor throws when
 * the stack did not start (beforeAll's error is the one to read).
 */
export function useLocalStack(extraEnv: Readonly<Record<string, string>> = {}): () => LocalStack {
  let stack: LocalStack | undefined;
  beforeAll(async () => {
    stack = await startLocalStack(extraEnv);
  }, STARTUP_TIMEOUT_MS + 15_000);
  afterAll(async () => {
    if (stack === undefined) return;
    await stack.stop();
    stack.cleanUp();
  }, STOP_GRACE_MS + 5_000);
  return () => {
    if (stack === undefined) throw new Error("the local stack is not running (see beforeAll)");
    return stack;
  };
}

// ---------------------------------------------------------------------------------------------------------
// Processes (for the shutdown test)

/** Every descendant process id of `pid` (Linux /proc); empty where /proc is not available. */
export function descendantPids(pid: number): number[] {
  const found: number[] = [];
  const visit = (parent: number) => {
    const taskDir = `/proc/${parent}/task`;
    if (!existsSync(taskDir)) return;
    for (const task of readdirSync(taskDir)) {
      let children = "";
      try {
        children = readFileSync(`${taskDir}/${task}/children`, "utf8");
      } catch {
        continue;
      }
      for (const child of children.split(/\s+/).filter(Boolean).map(Number)) {
        if (!found.includes(child)) {
          found.push(child);
          visit(child);
        }
      }
    }
  };
  visit(pid);
  return found;
}

/** The command line of a process, or undefined once it is gone. */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Whether anything accepts HTTP at `url` (any status counts as an answer). */
export async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}
