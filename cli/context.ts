/**
 * What every command receives: its output, the stack target (resolved on first use), the clock and a way
 * to wait, stdin and where to prompt.
 */
import type { Readable } from "node:stream";
import type { Output } from "./output";
import type { StackTarget } from "./stack";

export interface InputStream extends Readable {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface CommandContext {
  readonly out: Output;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: InputStream;
  /** Where interactive prompts go (stderr): never mixed into the results on stdout. */
  readonly prompt: NodeJS.WritableStream;
  /** Resolved once per run, on first use, so `--help` and usage errors never touch AWS. */
  target(): Promise<StackTarget>;
  now(): Date;
  /** Waits; tests pass one that moves their clock instead. */
  sleep(ms: number): Promise<void>;
}
