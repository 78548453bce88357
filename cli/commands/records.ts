/** `get <customer_id> <order_id> [--full]` and `list <customer_id>`: what the worker stored. */
import type { Command } from "commander";
import { parseCustomerId, parseOrderId, parsePositiveInteger } from "../args";
import type { CommandContext } from "../context";
import { type Column, formatFields, formatTable } from "../output";
import { fullTranscript, getRecord, listRecords, type StoredRecord } from "../records";
import type { Runner } from "./runner";

/** Attributes shown first, in the README's order; any others follow. */
const FIELD_ORDER = [
  "customer_id",
  "order_id",
  "transcript_id",
  "status",
  "error",
  "text",
  "text_s3_key",
  "audio_duration",
  "language_code",
  "confidence",
  "metadata",
  "received_at",
  "stored_at",
  "transcript_s3_key",
  "redacted_audio_s3_key",
  "source",
  "request_id",
];

const SHOWN_TEXT = 300;

/** The record as name/value lines, long text cut (all of it is in `--json`). */
export function formatRecord(record: StoredRecord): string {
  const fields: Readonly<Record<string, unknown>> = { ...record };
  const names = [
    ...FIELD_ORDER.filter((name) => Object.hasOwn(fields, name)),
    ...Object.keys(fields)
      .filter((name) => !FIELD_ORDER.includes(name))
      .sort(),
  ];
  return formatFields(
    names.map((name) => {
      const value = fields[name];
      if (name === "text" && typeof value === "string" && value.length > SHOWN_TEXT) {
        return [
          name,
          `${value.slice(0, SHOWN_TEXT)}… (${value.length} characters; --json shows all)`,
        ] as const;
      }
      return [name, value] as const;
    }),
  );
}

export const RECORD_COLUMNS: readonly Column<StoredRecord>[] = [
  { header: "ORDER", value: (record) => record.order_id, maxWidth: 40 },
  { header: "STATUS", value: (record) => record.status },
  { header: "TRANSCRIPT", value: (record) => record.transcript_id, maxWidth: 40 },
  { header: "DURATION", value: (record) => record.audio_duration, align: "right" },
  { header: "SOURCE", value: (record) => record.source },
  { header: "RECEIVED", value: (record) => record.received_at },
  { header: "STORED", value: (record) => record.stored_at },
  { header: "ERROR", value: (record) => record.error, maxWidth: 50 },
];

async function get(
  context: CommandContext,
  customerId: string,
  orderId: string,
  full: boolean,
): Promise<void> {
  const target = await context.target();
  if (full) {
    const transcript = await fullTranscript(target, customerId, orderId);
    // JSON either way: the full transcript has no useful table form.
    context.out.result(transcript, () => JSON.stringify(transcript, null, 2));
    return;
  }
  const record = await getRecord(target, customerId, orderId);
  context.out.result(record, () => formatRecord(record));
}

async function list(context: CommandContext, customerId: string, limit: number | undefined): Promise<void> {
  const target = await context.target();
  const progress = context.out.progress(`reading ${customerId}`);
  const records = await listRecords(target, customerId, limit, (count) => progress.update(count));
  progress.done();
  context.out.result(records, () =>
    records.length === 0
      ? `no records for customer ${customerId}`
      : `${formatTable(RECORD_COLUMNS, records)}\n\n${records.length} record${records.length === 1 ? "" : "s"}`,
  );
}

export function registerRecordCommands(program: Command, run: Runner): void {
  program
    .command("get")
    .description("show the stored record of one customer/order")
    .argument("<customer_id>", "the job's customer_id", parseCustomerId)
    .argument("<order_id>", "the job's order_id", parseOrderId)
    .option("--full", "print the whole transcript JSON (words, utterances, …) from the bucket")
    .action((customerId: string, orderId: string, options: { full?: boolean }, command: Command) =>
      run(command, (context) => get(context, customerId, orderId, options.full === true)),
    );

  program
    .command("list")
    .description("list a customer's records, ordered by order_id")
    .argument("<customer_id>", "the customer_id", parseCustomerId)
    .option("--limit <n>", "show at most n records", parsePositiveInteger)
    .action((customerId: string, options: { limit?: number }, command: Command) =>
      run(command, (context) => list(context, customerId, options.limit)),
    );
}
