/** Fakes for driving the CLI in-process: streams that collect what is written, a target over mocked clients. */
import { PassThrough, Writable } from "node:stream";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { InputStream } from "../../../cli/context";
import { type CliIo, main } from "../../../cli/program";
import type { StackTarget } from "../../../cli/stack";

export class Collector extends Writable {
  text = "";
  constructor(readonly isTTY = false) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString("utf8");
    callback();
  }
}

const LOCAL = {
  endpoint: "http://127.0.0.1:1",
  region: "us-east-1",
  credentials: { accessKeyId: "x", secretAccessKey: "x" },
};

/** A target whose clients are real SDK clients (to be intercepted with aws-sdk-client-mock). */
export function fakeTarget(overrides: Partial<StackTarget> = {}): StackTarget {
  const dynamodb = new DynamoDBClient(LOCAL);
  return {
    mode: "local",
    description: "a test stack",
    webhookUrl: "https://hooks.example.com/webhook",
    authHeaderName: "X-Webhook-Secret",
    tableName: "transcripts",
    bucketName: "transcripts-bucket",
    queueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries",
    dlqUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries-dlq",
    apiKeySecretId: "api-key",
    webhookSecretId: "webhook-secret",
    assemblyAiBaseUrl: "http://127.0.0.1:1",
    dynamodb,
    documents: DynamoDBDocumentClient.from(dynamodb),
    s3: new S3Client(LOCAL),
    sqs: new SQSClient(LOCAL),
    secrets: new SecretsManagerClient(LOCAL),
    events: new EventBridgeClient(LOCAL),
    webhookSecret: async () => "webhook-secret-value",
    assemblyAi: async () => ({ apiKey: "key", baseUrl: "http://127.0.0.1:1" }),
    close: () => {},
    ...overrides,
  };
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `aai-webhooks <args>` in-process against `target` (or with stack resolution failing loudly). */
export async function runCli(
  args: readonly string[],
  options: {
    target?: StackTarget;
    stdin?: string;
    /** stdin is a terminal (raw mode a no-op): `stdin` is what is typed, Enter as `\r`. */
    tty?: boolean;
    env?: NodeJS.ProcessEnv;
    now?: Date | (() => Date);
    sleep?: (ms: number) => Promise<void>;
    /** stderr is a terminal, so progress bars are drawn on it. */
    stderrTty?: boolean;
  } = {},
): Promise<CliRun> {
  const stdout = new Collector();
  const stderr = new Collector(options.stderrTty === true);
  const stdin = new PassThrough() as PassThrough & InputStream;
  if (options.tty) Object.assign(stdin, { isTTY: true, setRawMode: () => stdin });
  stdin.end(options.stdin ?? "");
  const io: CliIo = {
    stdout,
    stderr,
    stdin,
    env: options.env ?? {},
    resolveTarget: async () => {
      if (options.target === undefined) throw new Error("this test must not resolve a stack");
      return options.target;
    },
    ...(options.now instanceof Date ? { now: () => options.now as Date } : {}),
    ...(typeof options.now === "function" ? { now: options.now } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  };
  const code = await main(args, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
