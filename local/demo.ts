/**
 * `npm run demo`, with `npm start` running: submits a handful of sample jobs through the AssemblyAI
 * simulator with the official SDK, has it end a streaming session, shows progress until each is stored,
 * and prints the stored records.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { AssemblyAI } from "assemblyai";
import { PROJECT_ROOT } from "../lib/bundling";
import { clientConfig } from "./resources";
import type { LocalStackContract } from "./start";

interface SampleJob {
  readonly orderId: string;
  /** A pre-recorded job's audio URL; without it, a streaming session of `turns` turns ends instead. */
  readonly audio?: string;
  readonly turns?: number;
  readonly redactPiiAudio?: boolean;
  readonly note: string;
}

const SAMPLES: readonly SampleJob[] = [
  { orderId: "demo-short", audio: "https://example.com/audio/welcome.mp3?words=40", note: "a short call" },
  {
    orderId: "demo-long",
    audio: "https://example.com/audio/board-meeting.mp3?words=30000",
    note: "2.5 hours",
  },
  {
    orderId: "demo-error",
    audio: "https://example.com/audio/broken.mp3?simulate=error",
    note: "fails at AssemblyAI",
  },
  {
    orderId: "demo-redacted",
    audio: "https://example.com/audio/support-call.mp3?words=80",
    redactPiiAudio: true,
    note: "with redacted audio",
  },
  { orderId: "demo-streaming", turns: 6, note: "a streaming session, posted whole" },
];

const TIMEOUT_MS = 60_000;

function readContract(): LocalStackContract {
  const file = path.resolve(PROJECT_ROOT, process.env.LOCAL_STATE_DIR ?? ".local", "stack.json");
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LocalStackContract;
  } catch {
    console.error(`No local stack found (${path.relative(process.cwd(), file)}). Start it first: npm start`);
    process.exit(2);
  }
}

/** Has the simulator end a streaming session whose webhook is the local stack's; answers its session id. */
async function endStreamingSession(
  stack: LocalStackContract,
  request: Record<string, unknown>,
): Promise<string> {
  const response = await fetch(`${stack.assemblyAiBaseUrl}/__simulator/streaming-sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(request),
  });
  const answer = (await response.json()) as { session_id?: string; error?: string };
  if (!response.ok || answer.session_id === undefined) {
    throw new Error(`the simulator answered ${response.status}: ${answer.error ?? "no session_id"}`);
  }
  return answer.session_id;
}

async function main(): Promise<void> {
  // The SDK's notice that later versions need Node.js 22 is known (Lambda runs 24); keep the console readable.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const stack = readContract();
  const customerId = `demo-${new Date().toISOString().slice(11, 19).replaceAll(":", "")}`;
  const assemblyAi = new AssemblyAI({ apiKey: stack.assemblyAiApiKey, baseUrl: stack.assemblyAiBaseUrl });
  const table = DynamoDBDocumentClient.from(
    new DynamoDBClient(clientConfig({ endpoint: stack.dynamodbEndpoint, region: stack.region })),
  );

  console.log(`Submitting ${SAMPLES.length} jobs for customer ${customerId} to ${stack.assemblyAiBaseUrl}`);
  for (const job of SAMPLES) {
    const webhook = {
      webhook_url: `${stack.webhookUrl}?customer_id=${customerId}&order_id=${job.orderId}`,
      webhook_auth_header_name: stack.authHeaderName,
      webhook_auth_header_value: stack.authHeaderValue,
    };
    const id =
      job.audio === undefined
        ? await endStreamingSession(stack, { ...webhook, turns: job.turns })
        : (
            await assemblyAi.transcripts.submit({
              audio: job.audio,
              ...webhook,
              redact_pii_audio: job.redactPiiAudio ?? false,
            })
          ).id;
    console.log(`  ${job.orderId.padEnd(14)} ${id}  (${job.note})`);
  }

  const records = new Map<string, Record<string, unknown>>();
  const started = Date.now();
  while (records.size < SAMPLES.length && Date.now() - started < TIMEOUT_MS) {
    for (const job of SAMPLES) {
      const { Item } = await table.send(
        new GetCommand({
          TableName: stack.tableName,
          Key: { customer_id: customerId, order_id: job.orderId },
        }),
      );
      const complete = Item?.status && (!job.redactPiiAudio || Item.redacted_audio_s3_key);
      if (Item && complete) records.set(job.orderId, Item);
    }
    process.stdout.write(
      `\r  stored ${records.size}/${SAMPLES.length}  (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    if (records.size < SAMPLES.length) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  process.stdout.write("\n\n");

  console.table(
    SAMPLES.map((job) => {
      const record = records.get(job.orderId);
      return {
        order_id: job.orderId,
        status: record?.status ?? "not stored yet",
        words:
          typeof record?.text === "string"
            ? record.text.split(" ").length
            : record?.text_s3_key
              ? "(in S3)"
              : "",
        error: String(record?.error ?? "").slice(0, 48),
        redacted_audio: record?.redacted_audio_s3_key ? "yes" : "",
      };
    }),
  );
  if (records.size < SAMPLES.length) {
    console.error("Some jobs were not stored in time; see the npm start window for why.");
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
