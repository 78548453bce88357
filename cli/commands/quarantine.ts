/**
 * `quarantine list` and `quarantine show <key>`: authenticated requests the pipeline could not route (bad
 * JSON, no customer_id or order_id, a malformed transcript_id ...), which the receiver answered with a 2xx
 * and the worker kept whole under quarantine/ in the bucket. Once the owner is known, a quarantined
 * transcript is routed with `replay <transcript_id> --customer-id … --order-id …`.
 */
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { Command } from "commander";
import { type QuarantineDelivery, TRANSCRIPT_ID_PATTERN } from "../../functions/shared/contract/delivery";
import { parseDeliveryMessage } from "../../functions/shared/contract/delivery-schema";
import { BUCKET_PREFIXES } from "../../functions/shared/contract/resources";
import { isRecord } from "../../functions/shared/values";
import { parsePositiveInteger } from "../args";
import type { CommandContext } from "../context";
import { CliError, type Column, formatTable } from "../output";
import type { StackTarget } from "../stack";
import type { Runner } from "./runner";

export interface QuarantineEntry {
  readonly key: string;
  readonly received_at?: string;
  readonly reason?: string;
  readonly message?: string;
  /** The body's transcript_id, when it has a well-formed one: what `replay` needs. */
  readonly transcript_id?: string;
  readonly query?: string;
  readonly source_ip?: string;
  readonly body_bytes?: number;
  /** Set when the archived object itself could not be read as a quarantine message. */
  readonly problem?: string;
}

const COLUMNS: readonly Column<QuarantineEntry>[] = [
  { header: "RECEIVED", value: (entry) => entry.received_at },
  { header: "REASON", value: (entry) => entry.reason ?? "unreadable" },
  { header: "TRANSCRIPT", value: (entry) => entry.transcript_id, maxWidth: 40 },
  { header: "QUERY", value: (entry) => entry.query, maxWidth: 50 },
  { header: "DETAIL", value: (entry) => entry.problem ?? entry.message, maxWidth: 60 },
  { header: "KEY", value: (entry) => entry.key, maxWidth: 90 },
];

/** What one archived object says, read with the worker's parser; pure. */
export function summarizeQuarantined(key: string, text: string): QuarantineEntry {
  const parsed = parseDeliveryMessage(text);
  if (!parsed.ok || parsed.message.kind !== "quarantine") {
    return { key, problem: parsed.ok ? `a ${parsed.message.kind} message` : parsed.reason };
  }
  const message = parsed.message;
  const transcriptId = transcriptIdOf(message);
  return {
    key,
    received_at: message.received_at,
    reason: message.reason,
    message: message.reason_message,
    ...(transcriptId !== undefined ? { transcript_id: transcriptId } : {}),
    query: message.raw_query,
    source_ip: message.source_ip,
    body_bytes: Buffer.byteLength(message.body, message.body_encoding === "base64" ? "base64" : "utf8"),
  };
}

function transcriptIdOf(message: QuarantineDelivery): string | undefined {
  if (message.body_encoding !== "utf8") return undefined;
  try {
    const body: unknown = JSON.parse(message.body);
    const id = isRecord(body) ? body.transcript_id : undefined;
    return typeof id === "string" && TRANSCRIPT_ID_PATTERN.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

async function readText(target: StackTarget, key: string): Promise<string> {
  const object = await target.s3.send(new GetObjectCommand({ Bucket: target.bucketName, Key: key }));
  if (object.Body === undefined) throw new CliError(`s3://${target.bucketName}/${key} has no body`);
  return object.Body.transformToString("utf8");
}

/** The newest `max` keys: keys start with the day and the arrival time, so they sort by time. */
async function newestKeys(target: StackTarget, max: number): Promise<{ keys: string[]; total: number }> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await target.s3.send(
      new ListObjectsV2Command({
        Bucket: target.bucketName,
        Prefix: BUCKET_PREFIXES.quarantine,
        ContinuationToken: token,
      }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  keys.sort().reverse();
  return { keys: keys.slice(0, max), total: keys.length };
}

async function list(context: CommandContext, max: number): Promise<void> {
  const target = await context.target();
  const { keys, total } = await newestKeys(target, max);
  const progress = context.out.progress("reading", keys.length);
  const entries: QuarantineEntry[] = [];
  for (const key of keys) {
    try {
      entries.push(summarizeQuarantined(key, await readText(target, key)));
    } catch (error) {
      entries.push({ key, problem: error instanceof Error ? error.message : String(error) });
    }
    progress.update(entries.length);
  }
  progress.done();
  context.out.result({ total, shown: entries.length, requests: entries }, () => {
    if (entries.length === 0) return "nothing is quarantined";
    const more = total > entries.length ? ` of ${total} (--max shows more)` : "";
    const hint = entries.some((entry) => entry.transcript_id !== undefined)
      ? "\n\nRoute one whose owner you know: replay <transcript_id> --customer-id <id> --order-id <id>"
      : "";
    return `${formatTable(COLUMNS, entries)}\n\n${entries.length} quarantined request${entries.length === 1 ? "" : "s"}${more}, newest first; quarantine show <key> prints one whole${hint}`;
  });
}

async function show(context: CommandContext, key: string): Promise<void> {
  if (!key.startsWith(BUCKET_PREFIXES.quarantine)) {
    throw new CliError(`a quarantine key starts with ${BUCKET_PREFIXES.quarantine}`);
  }
  const target = await context.target();
  const text = await readText(target, key);
  const parsed = parseDeliveryMessage(text);
  if (!parsed.ok) throw new CliError(`${key} is not a quarantined request: ${parsed.reason}`);
  context.out.result(parsed.message, () => JSON.stringify(parsed.message, null, 2));
}

export function registerQuarantine(program: Command, run: Runner): void {
  const quarantine = program
    .command("quarantine")
    .description("authenticated requests the pipeline could not route, kept whole (answered 2xx)");
  quarantine
    .command("list")
    .description("the newest quarantined requests, with why")
    .option("--max <n>", "show at most this many", parsePositiveInteger, 20)
    .action((options: { max: number }, command: Command) =>
      run(command, (context) => list(context, options.max)),
    );
  quarantine
    .command("show")
    .description("one quarantined request: reason, query string, headers (no secret) and body")
    .argument("<key>", "its key, as `quarantine list` shows it")
    .action((key: string, _options: unknown, command: Command) =>
      run(command, (context) => show(context, key)),
    );
}
