/**
 * What the functions' telemetry writes, as the tests see it: Powertools' Logger and Metrics write whole JSON
 * lines to stdout (functions/shared/telemetry.ts), so a test takes those lines from stdout while it runs.
 * Anything else written to stdout passes through.
 */
export type Writer = (line: string) => void;

const original = process.stdout.write.bind(process.stdout);

/** Passes lines through to the real stdout: what is in place until a test sets a writer. */
const passThrough: Writer = (line) => {
  original(`${line}\n`);
};

let writer: Writer = passThrough;
let partial = "";

function tap(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
  const text = partial + (typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
  const lines = text.split("\n");
  partial = lines.pop() ?? "";
  for (const line of lines) {
    if (line.startsWith("{")) writer(line);
    else original(`${line}\n`);
  }
  const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
  callback?.();
  return true;
}

/** Sends the JSON lines written to stdout to `next` from now on; returns the previous writer. */
export function setWriter(next: Writer): Writer {
  const previous = writer;
  writer = next;
  if (next === passThrough) {
    if (partial) original(partial);
    partial = "";
    process.stdout.write = original as typeof process.stdout.write;
  } else {
    process.stdout.write = tap as typeof process.stdout.write;
  }
  return previous;
}

/** The JSON lines of one function's telemetry, split into log lines and EMF lines (those with `_aws`). */
export interface CapturedTelemetry {
  /** Every JSON line, in the order written. */
  readonly lines: string[];
  /** The parsed lines that are not EMF: the log lines. */
  logs(): Array<Record<string, unknown>>;
  /** The parsed EMF lines. */
  metrics(): Array<Record<string, unknown>>;
  restore(): void;
}

/** Collects the telemetry lines written until `restore`. */
export function captureTelemetry(): CapturedTelemetry {
  const lines: string[] = [];
  const previous = setWriter((line) => lines.push(line));
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    lines,
    logs: () => records().filter((record) => !("_aws" in record)),
    metrics: () => records().filter((record) => "_aws" in record),
    restore: () => {
      setWriter(previous);
    },
  };
}
