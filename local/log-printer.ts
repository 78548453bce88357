/**
 * What a person sees while the local stack runs: one readable line per step of each delivery. The handlers
 * write the same single-line JSON they write on Lambda (Powertools' log lines, and EMF lines for the
 * metrics); this turns each log line into `time  source  message  key=value …` and leaves the EMF lines
 * out. LOG_FORMAT=json prints the raw lines instead.
 */

/**
 * Lines that matter to a program, not a person: the EMF (metric) lines and the reconciler's per-outcome lines
 * always, its run summary when the run found nothing to do (every minute or so locally), and the publisher's
 * lines for events it published (each event gets its own line from the events printer, local/event-printer.ts).
 */
function isRoutine(record: Record<string, unknown>): boolean {
  if ("_aws" in record || record.message === "reconciled deliveries") return true;
  if (record.message === "event published" || record.message === "stream batch published") return true;
  return record.message === "reconcile run" && record.queued === 0 && record.skipped === 0;
}

/** Fields worth showing, in this order; everything else stays in the JSON (LOG_FORMAT=json). */
const SHOWN_FIELDS = [
  "kind",
  "transcript_id",
  "queued",
  "alreadyStored",
  "customer_id",
  "order_id",
  "outcome",
  "status",
  "status_code",
  "statusCode",
  "error",
  "error_code",
  "reason",
  "attempt",
  "latency_ms",
];

export interface LogPrinter {
  say(source: string, text: string): void;
  banner(text: string): void;
  restore(): void;
}

export function createLogPrinter(format: "pretty" | "json"): LogPrinter {
  const original = process.stdout.write.bind(process.stdout);
  const out = (line: string) => original(`${line}\n`);
  const stamp = () => new Date().toISOString().slice(11, 23);

  if (format === "pretty") {
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      const lines = text.split("\n").filter((line) => line.length > 0);
      if (lines.length > 0 && lines.every((line) => line.startsWith("{"))) {
        for (const line of lines) {
          const pretty = prettify(line, stamp());
          if (pretty !== undefined) out(pretty);
        }
        const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
        callback?.();
        return true;
      }
      return original(chunk as string, ...(rest as []));
    }) as typeof process.stdout.write;
  }

  return {
    say: (source, text) => out(`${stamp()}  ${source.padEnd(10)} ${text}`),
    banner: (text) => out(text),
    restore: () => {
      process.stdout.write = original as typeof process.stdout.write;
    },
  };
}

function prettify(line: string, time: string): string | undefined {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (isRoutine(record)) return undefined;
  // Powertools' `service` is the function's name (functions/*/handler.ts).
  const source = typeof record.service === "string" ? record.service : sourceOf(record);
  const details = SHOWN_FIELDS.filter((key) => record[key] !== undefined && record[key] !== null)
    .map((key) => `${key}=${String(record[key])}`)
    .join(" ");
  return `${time}  ${source.padEnd(10)} ${String(record.message ?? "")}${details ? `  ${details}` : ""}`;
}

function sourceOf(record: Record<string, unknown>): string {
  const message = String(record.message ?? "");
  if (message.startsWith("delivery")) return "receiver";
  return /reconcile/.test(message) ? "reconciler" : "worker";
}
