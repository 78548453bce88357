/**
 * Everything the CLI writes: results (a table or `--json`), progress bars on stderr, and errors turned into
 * one line and an exit code. Formatting functions are pure so they are tested without a terminal.
 */
import type { Writable } from "node:stream";

/** The process exit codes, documented in `--help`. */
export const EXIT = {
  ok: 0,
  /** The command could not do its job: nothing found, a stack or service error, a refused value. */
  error: 1,
  /** Bad arguments or options (commander's usage errors). */
  usage: 2,
  /** A batch finished but some of its items failed (replay of several ids, redrive, reconcile). */
  partial: 3,
  /** Stopped with Ctrl-C. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = [
  "Exit codes:",
  "  0    success",
  "  1    failure: no such stack or record, AWS or AssemblyAI refused, invalid input value",
  "  2    usage error: unknown command or option, malformed argument",
  "  3    partial failure: some items of a batch failed (the table says which)",
  "  130  interrupted (Ctrl-C)",
].join("\n");

/** A failure the user can act on: printed as one line, without a stack trace. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.error,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Tables

export interface Column<Row> {
  readonly header: string;
  readonly value: (row: Row) => unknown;
  /** Longer cells are cut with an ellipsis. @default 60 */
  readonly maxWidth?: number;
  readonly align?: "left" | "right";
}

/** A cell as text: undefined and null as "-", numbers as they are, objects as compact JSON, one line. */
export function cellText(value: unknown): string {
  if (value === undefined || value === null || value === "") return "-";
  if (typeof value === "string") return value.replace(/\s+/g, " ");
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function truncate(text: string, maxWidth: number): string {
  return text.length > maxWidth ? `${text.slice(0, Math.max(1, maxWidth - 1))}…` : text;
}

/** A plain-text table: a header, a rule, one line per row, columns padded to their widest cell. */
export function formatTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) =>
    columns.map((column) => truncate(cellText(column.value(row)), column.maxWidth ?? 60)),
  );
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...cells.map((line) => (line[index] ?? "").length)),
  );
  const line = (texts: readonly string[]) =>
    texts
      .map((text, index) => {
        const width = widths[index] ?? 0;
        return columns[index]?.align === "right" ? text.padStart(width) : text.padEnd(width);
      })
      .join("  ")
      .trimEnd();
  return [
    line(columns.map((column) => column.header)),
    line(widths.map((width) => "-".repeat(width))),
    ...cells.map(line),
  ].join("\n");
}

/** Name/value pairs, one per line, names aligned: for a single record. */
export function formatFields(fields: ReadonlyArray<readonly [string, unknown]>): string {
  const width = Math.max(0, ...fields.map(([name]) => name.length));
  return fields.map(([name, value]) => `${name.padEnd(width)}  ${cellText(value)}`).join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// Progress

/** One frame of a progress bar: `label [#####·····] 5/10`, or a count when the total is unknown. */
export function renderProgress(label: string, done: number, total: number | undefined, width = 24): string {
  if (total === undefined || total <= 0) return `${label} ${done}`;
  const ratio = Math.min(1, Math.max(0, done / total));
  const filled = Math.round(ratio * width);
  return `${label} [${"#".repeat(filled)}${"·".repeat(width - filled)}] ${done}/${total}`;
}

export interface Progress {
  update(done: number, total?: number, detail?: string): void;
  /** Clears the bar (the result that follows is printed on stdout). */
  done(): void;
}

const silentProgress: Progress = { update: () => {}, done: () => {} };

// ---------------------------------------------------------------------------------------------------------
// Output

export interface TerminalStream extends Writable {
  readonly isTTY?: boolean;
}

/** Results go to stdout (JSON with `--json`), progress and notes to stderr, so pipes get clean data. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: TerminalStream,
    private readonly stderr: TerminalStream,
  ) {}

  /** Prints a command's result: `value` as JSON with `--json`, else what `human` renders. */
  result(value: unknown, human: () => string): void {
    const text = this.json ? JSON.stringify(value, null, 2) : human();
    if (text.length > 0) this.stdout.write(`${text}\n`);
  }

  /** A note for the person at the terminal (stderr; never mixed into the data on stdout). */
  note(text: string): void {
    if (!this.json) this.stderr.write(`${text}\n`);
  }

  /** An audit record: one JSON line on stderr, `audit: {…}`, whatever the output format (never content). */
  audit(line: Readonly<Record<string, unknown>>): void {
    this.stderr.write(`audit: ${JSON.stringify(line)}\n`);
  }

  warn(text: string): void {
    this.stderr.write(`warning: ${text}\n`);
  }

  error(text: string): void {
    this.stderr.write(`error: ${text}\n`);
  }

  /** A bar redrawn in place on stderr, only when stderr is a terminal. */
  progress(label: string, total?: number): Progress {
    if (this.stderr.isTTY !== true) return silentProgress;
    let last = 0;
    let known = total;
    const draw = (done: number, detail?: string) => {
      const now = Date.now();
      if (now - last < 80 && done !== known) return;
      last = now;
      const frame = renderProgress(label, done, known) + (detail ? `  ${detail}` : "");
      this.stderr.write(`\r\x1b[2K${frame}`);
    };
    draw(0);
    return {
      update: (done, newTotal, detail) => {
        if (newTotal !== undefined) known = newTotal;
        draw(done, detail);
      },
      done: () => this.stderr.write("\r\x1b[2K"),
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Errors

const CREDENTIAL_ERRORS = new Set(["CredentialsProviderError", "TokenProviderError"]);
const EXPIRED_ERRORS = new Set(["ExpiredToken", "ExpiredTokenException", "RequestExpired"]);
const DENIED_ERRORS = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
]);
const NETWORK_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "ECONNRESET", "ETIMEDOUT", "EAI_AGAIN"]);

export interface ErrorContext {
  /** Running against the local stack: a refused connection most likely means it is not running. */
  readonly local?: boolean;
}

function networkCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** What to print and which exit code to use, for anything a command threw. */
export function describeError(
  error: unknown,
  context: ErrorContext = {},
): { message: string; exitCode: ExitCode } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  if (CREDENTIAL_ERRORS.has(name)) {
    return {
      message: `no AWS credentials found (${message}): configure them, or pass --profile`,
      exitCode: EXIT.error,
    };
  }
  if (EXPIRED_ERRORS.has(name)) {
    return {
      message: `the AWS credentials have expired: refresh them (e.g. aws sso login)`,
      exitCode: EXIT.error,
    };
  }
  if (DENIED_ERRORS.has(name))
    return { message: `AWS refused the request: ${message}`, exitCode: EXIT.error };
  if (/region is missing/i.test(message)) {
    return { message: "no AWS region: pass --region or set AWS_REGION", exitCode: EXIT.error };
  }
  const code = networkCode(error);
  if (code !== undefined) {
    const hint = context.local ? " (is the local stack running? start it with npm start)" : "";
    return { message: `network error ${code}: ${message}${hint}`, exitCode: EXIT.error };
  }
  return { message: message.split("\n")[0] || name || "unknown error", exitCode: EXIT.error };
}
