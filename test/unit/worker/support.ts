/**
 * Test support for the worker: a real HTTP server standing in for AssemblyAI, SQS events built from fixture
 * files, an in-memory table behind the mocked DynamoDB document client, and captured telemetry lines.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type AttributeValue, ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { DEFAULT_REDACTED_AUDIO_HOSTS } from "../../../functions/shared/assemblyai";
import { fromAttributeMap } from "../../../functions/shared/attribute-values";
import { parseHostRules } from "../../../functions/shared/redacted-audio-hosts";
import type { WorkerConfig } from "../../../functions/worker/config";

const FIXTURES = join(__dirname, "..", "..", "fixtures", "worker");

export function fixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as T;
}

export const TRANSCRIPT_ID = "5552493-16d8-42d8-8feb-c2a16b56f6e8";
export const CUSTOMER_ID = "cust-1234";
export const ORDER_ID = "order-5678";
export const API_KEY = "test-assemblyai-key-0123456789";

/** The worker's configuration for tests; redacted audio may also come from the stand-in server (`baseUrl`). */
export function testConfig(baseUrl: string, overrides: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    stackName: "test-stack",
    tableName: "transcripts",
    bucketName: "transcripts-bucket",
    queueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/assemblyai-transcripts",
    apiKeySecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:assemblyai-api-key-AbCdEf",
    assemblyAiBaseUrl: baseUrl,
    inlineTextMaxBytes: 100_000,
    assemblyAiTimeoutMs: 1_000,
    secretCacheTtlSeconds: 300,
    redactedAudioHosts: parseHostRules([...DEFAULT_REDACTED_AUDIO_HOSTS, baseUrl], "REDACTED_AUDIO_HOSTS"),
    retryBaseSeconds: 30,
    maxRedactedAudioBytes: 2 * 1024 * 1024 * 1024,
    deleteFromAssemblyAi: false,
    retentionDays: undefined,
    ...overrides,
    assemblyAiRegions: overrides.assemblyAiRegions ?? [
      {
        region: "us",
        baseUrl: overrides.assemblyAiBaseUrl ?? baseUrl,
        apiKeySecretArn:
          overrides.apiKeySecretArn ??
          "arn:aws:secretsmanager:us-east-1:123456789012:secret:assemblyai-api-key-AbCdEf",
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Messages and events

export function transcriptMessage(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...fixture("transcript-delivery.json"), ...overrides };
}

export function redactedAudioMessage(
  url: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const message = fixture("redacted-audio-delivery.json");
  return {
    ...message,
    redacted_audio_url: url,
    payload: { redacted_audio_url: url, status: "redacted_audio_ready" },
    ...overrides,
  };
}

export const SESSION_ID = "273e79fd-1b4a-4e0e-9d7c-3f1c2b7a5d9e";

/** A streaming session's end-of-session delivery (two turns, each unformatted then formatted). */
export function sessionMessage(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...fixture("streaming-session-delivery.json"), ...overrides };
}

export function unknownMessage(): Record<string, unknown> {
  return fixture("unknown-delivery.json");
}

export interface RecordSpec {
  readonly body: unknown;
  readonly messageId?: string;
  readonly receiveCount?: number;
}

let sequence = 0;

export function sqsRecord(spec: RecordSpec): SQSRecord {
  const template = fixture<SQSRecord>("sqs-record.json");
  sequence += 1;
  return {
    ...template,
    messageId: spec.messageId ?? `message-${sequence}`,
    receiptHandle: `receipt-${spec.messageId ?? sequence}`,
    body: typeof spec.body === "string" ? spec.body : JSON.stringify(spec.body),
    attributes: { ...template.attributes, ApproximateReceiveCount: String(spec.receiveCount ?? 1) },
  };
}

export function sqsEvent(...specs: RecordSpec[]): SQSEvent {
  return { Records: specs.map(sqsRecord) };
}

// ---------------------------------------------------------------------------------------------------------
// The AssemblyAI stand-in

export type Route = (request: IncomingMessage, response: ServerResponse) => void;

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
}

/** A real HTTP server on 127.0.0.1; each test sets `route`. Unrouted requests answer 404 like the API. */
export class FakeAssemblyAi {
  readonly requests: SeenRequest[] = [];
  route: Route = (_request, response) => json(response, 404, { error: "Transcript not found" });
  private server: Server | undefined;
  baseUrl = "";

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      this.requests.push({
        method: request.method ?? "",
        path: request.url ?? "",
        authorization: request.headers.authorization,
      });
      this.route(request, response);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
  }

  reset(): void {
    this.requests.length = 0;
    this.route = (_request, response) => json(response, 404, { error: "Transcript not found" });
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  transcriptRequests(): SeenRequest[] {
    return this.requests.filter((request) => request.path.startsWith("/v2/transcript/"));
  }
}

export function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(text);
}

/** Answers GET /v2/transcript/{id} from a map of transcripts; anything else is a 404. */
export function transcriptRoute(transcripts: Record<string, unknown>): Route {
  return (request, response) => {
    const id = decodeURIComponent((request.url ?? "").replace(/^\/v2\/transcript\//, ""));
    const transcript = transcripts[id];
    if (transcript === undefined) json(response, 404, { error: "Transcript not found" });
    else json(response, 200, transcript);
  };
}

/**
 * Adds AssemblyAI's list endpoint to a route, for transcripts created in the order given (oldest first,
 * a second apart): `before_id`/`after_id` with `limit=1`, as the worker's times lookup asks.
 */
export function withListing(createdInOrder: readonly string[], route: Route = transcriptRoute({})): Route {
  const created = (index: number) => `2025-11-27T04:00:${String(index).padStart(2, "0")}.000001`;
  return (request, response) => {
    const url = new URL(request.url ?? "", "http://fake");
    if (url.pathname !== "/v2/transcript") return route(request, response);
    const before = url.searchParams.get("before_id");
    const after = url.searchParams.get("after_id");
    const at = createdInOrder.indexOf(before ?? after ?? "");
    const index = before !== null ? at - 1 : at + 1;
    const id = at >= 0 ? createdInOrder[index] : undefined;
    const transcripts =
      id === undefined
        ? []
        : [{ id, status: "completed", created: created(index), completed: created(index + 30) }];
    json(response, 200, { page_details: { limit: 1, result_count: transcripts.length }, transcripts });
  };
}

export function completedTranscript(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...fixture("transcript-completed.json"), ...overrides };
}

/**
 * A 10-hour transcript as AssemblyAI would send it: about 120,000 words with timings, confidence and
 * speaker, in `words` and again inside `utterances`. Built as a string, like the wire format.
 */
export function tenHourTranscriptJson(id: string, wordCount = 120_000): string {
  const vocabulary = [
    "the",
    "wildfire",
    "smoke",
    "is",
    "moving",
    "south",
    "toward",
    "several",
    "cities",
    "today",
  ];
  const words: string[] = [];
  const texts: string[] = [];
  for (let index = 0; index < wordCount; index++) {
    const text = vocabulary[index % vocabulary.length] as string;
    texts.push(text);
    const start = index * 300;
    words.push(
      `{"text":"${text}","start":${start},"end":${start + 250},"confidence":0.9${index % 10},"speaker":"${index % 2 ? "B" : "A"}"}`,
    );
  }
  const utterances: string[] = [];
  const perUtterance = 1_000;
  for (let first = 0; first < wordCount; first += perUtterance) {
    const slice = words.slice(first, first + perUtterance);
    utterances.push(
      `{"speaker":"${(first / perUtterance) % 2 ? "B" : "A"}","start":${first * 300},"end":${(first + slice.length) * 300},` +
        `"confidence":0.93,"text":"${texts.slice(first, first + perUtterance).join(" ")}","words":[${slice.join(",")}]}`,
    );
  }
  return (
    `{"id":"${id}","status":"completed","audio_url":"https://example.com/ten-hours.mp3",` +
    `"audio_duration":36000,"language_code":"en_us","confidence":0.93,"acoustic_model":"assemblyai_default",` +
    `"language_model":"assemblyai_default","redact_pii":false,"auto_highlights":false,"summarization":false,` +
    `"webhook_auth":false,"language_confidence":null,"language_confidence_threshold":null,"speech_model":null,` +
    `"text":"${texts.join(" ")}","words":[${words.join(",")}],"utterances":[${utterances.join(",")}]}`
  );
}

// ---------------------------------------------------------------------------------------------------------
// An in-memory table for the mocked document client

type Item = Record<string, unknown>;

interface UpdateInput {
  readonly Key?: Record<string, unknown>;
  readonly UpdateExpression?: string;
  readonly ConditionExpression?: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, unknown>;
}

/**
 * Applies the subset of DynamoDB's update and condition expressions the worker writes (SET, if_not_exists,
 * REMOVE; =, <>, <=, IN, attribute_not_exists, AND, OR, NOT), and rejects unused or missing placeholders as
 * DynamoDB does, so a test sees the item the real table would hold.
 */
export class FakeTable {
  private readonly items = new Map<string, Item>();

  private static id(key: Record<string, unknown> | undefined): string {
    return JSON.stringify([key?.customer_id, key?.order_id]);
  }

  get(key: Record<string, unknown>): Item | undefined {
    const item = this.items.get(FakeTable.id(key));
    return item === undefined ? undefined : structuredClone(item);
  }

  put(item: Item): void {
    this.items.set(FakeTable.id(item), structuredClone(item));
  }

  update(input: UpdateInput): void {
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    const usedNames = new Set<string>();
    const usedValues = new Set<string>();
    const name = (token: string) => {
      const resolved = names[token];
      if (resolved === undefined) throw new Error(`ValidationException: undefined name ${token}`);
      usedNames.add(token);
      return resolved;
    };
    const value = (token: string) => {
      if (!(token in values)) throw new Error(`ValidationException: undefined value ${token}`);
      usedValues.add(token);
      return values[token];
    };
    const id = FakeTable.id(input.Key);
    const current = this.items.get(id);
    const item: Item = structuredClone(current ?? { ...input.Key });

    const conditionHolds =
      input.ConditionExpression === undefined ||
      evaluateCondition(input.ConditionExpression, current ?? {}, name, value);

    const expression = input.UpdateExpression ?? "";
    const match = /^SET (.+?)(?: REMOVE (.+))?$/.exec(expression);
    if (!match?.[1]) throw new Error(`ValidationException: unsupported update ${expression}`);
    const touched = new Set<string>();
    const touch = (attribute: string) => {
      if (touched.has(attribute)) throw new Error(`ValidationException: overlapping paths (${attribute})`);
      touched.add(attribute);
    };
    const assignment = /(#\w+) = (?:if_not_exists\((#\w+), (:\w+)\)|(:\w+))(?:, |$)/gy;
    let consumed = 0;
    for (const part of match[1].matchAll(assignment)) {
      consumed += part[0].length;
      const target = name(part[1] as string);
      touch(target);
      if (part[2] !== undefined) {
        if (name(part[2]) !== target) throw new Error("unsupported if_not_exists on another attribute");
        const fallback = value(part[3] as string);
        if (!(target in item)) item[target] = structuredClone(fallback);
      } else {
        item[target] = structuredClone(value(part[4] as string));
      }
    }
    if (consumed !== match[1].length) throw new Error(`ValidationException: unsupported SET ${match[1]}`);
    for (const token of match[2]?.split(", ") ?? []) {
      const target = name(token.trim());
      touch(target);
      delete item[target];
    }
    for (const token of Object.keys(names)) {
      if (!usedNames.has(token)) throw new Error(`ValidationException: unused name ${token}`);
    }
    for (const token of Object.keys(values)) {
      if (!usedValues.has(token)) throw new Error(`ValidationException: unused value ${token}`);
    }
    if (!conditionHolds) {
      throw new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
    }
    this.items.set(id, item);
  }
}

function evaluateCondition(
  expression: string,
  item: Item,
  name: (token: string) => string,
  value: (token: string) => unknown,
): boolean {
  const tokens = expression.match(/\(|\)|,|<>|<=|=|[#:][A-Za-z0-9_]+|[A-Za-z_]+/g) ?? [];
  let position = 0;
  const peek = () => tokens[position];
  const take = (expected?: string) => {
    const token = tokens[position++];
    if (token === undefined || (expected !== undefined && token !== expected)) {
      throw new Error(`ValidationException: bad condition near ${String(token)} in ${expression}`);
    }
    return token;
  };
  const operand = (token: string): { present: boolean; value: unknown } => {
    if (token.startsWith(":")) return { present: true, value: value(token) };
    const attribute = name(token);
    return { present: attribute in item, value: item[attribute] };
  };
  const primary = (): boolean => {
    const token = take();
    if (token === "(") {
      const result = or();
      take(")");
      return result;
    }
    if (token === "attribute_not_exists") {
      take("(");
      const attribute = name(take());
      take(")");
      return !(attribute in item);
    }
    const left = operand(token);
    const operator = take();
    if (operator === "IN") {
      take("(");
      const candidates = [operand(take()).value];
      while (peek() === ",") {
        take(",");
        candidates.push(operand(take()).value);
      }
      take(")");
      return left.present && candidates.includes(left.value);
    }
    const right = operand(take());
    // A comparison with a missing attribute is false, whatever the operator.
    if (!left.present || !right.present) return false;
    const [a, b] = [left.value as string | number, right.value as string | number];
    if (operator === "=") return a === b;
    if (operator === "<>") return a !== b;
    if (operator === "<=") return a <= b;
    throw new Error(`unsupported operator ${operator}`);
  };
  const not = (): boolean => {
    if (peek() === "NOT") {
      take("NOT");
      return !not();
    }
    return primary();
  };
  const and = (): boolean => {
    let result = not();
    while (peek() === "AND") {
      take("AND");
      result = not() && result;
    }
    return result;
  };
  const or = (): boolean => {
    let result = and();
    while (peek() === "OR") {
      take("OR");
      result = and() || result;
    }
    return result;
  };
  const result = or();
  if (position !== tokens.length) throw new Error(`ValidationException: trailing tokens in ${expression}`);
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Telemetry

export type Line = Record<string, unknown>;

export function outcomes(lines: readonly Line[]): unknown[] {
  return lines.map((line) => line.outcome);
}

/** A low-level UpdateItem input as the fake table reads it: keys and values unmarshalled. */
export function plainUpdate(input: {
  readonly Key?: Record<string, AttributeValue> | undefined;
  readonly ExpressionAttributeValues?: Record<string, AttributeValue> | undefined;
  readonly [other: string]: unknown;
}): UpdateInput {
  return {
    ...input,
    Key: input.Key === undefined ? undefined : fromAttributeMap(input.Key),
    ExpressionAttributeValues:
      input.ExpressionAttributeValues === undefined
        ? undefined
        : fromAttributeMap(input.ExpressionAttributeValues),
  } as UpdateInput;
}
