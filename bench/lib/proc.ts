/**
 * Child processes for the benchmark: each child writes exactly one `BENCH_RESULT {json}` line to stderr;
 * stdout (the handlers' JSON log lines) is kept for checks or discarded.
 */
import { spawn } from "node:child_process";

export const RESULT_PREFIX = "BENCH_RESULT ";

export interface ChildRun<T> {
  readonly result: T;
  readonly stdout: string;
  readonly wallMs: number;
}

export interface ChildOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly execArgv?: readonly string[];
  /** Keep the child's stdout (handler logs) in memory; otherwise it goes to /dev/null. */
  readonly captureStdout?: boolean;
  readonly timeoutMs?: number;
  /** Forward the child's progress lines (stderr, other than the result) to ours. */
  readonly forwardStderr?: boolean;
}

/** Runs `node [execArgv] script ...args` and resolves with its result line. */
export function runChild<T>(
  script: string,
  args: readonly string[],
  options: ChildOptions = {},
): Promise<ChildRun<T>> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...(options.execArgv ?? []), script, ...args], {
      env: options.env ?? process.env,
      stdio: ["ignore", options.captureStdout ? "pipe" : "ignore", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let result: T | undefined;
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    let pending = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.startsWith(RESULT_PREFIX)) result = JSON.parse(line.slice(RESULT_PREFIX.length)) as T;
        else {
          stderr = `${stderr}${line}\n`.slice(-4000);
          if (options.forwardStderr && line.startsWith("[")) process.stderr.write(`    ${line}\n`);
        }
        newline = pending.indexOf("\n");
      }
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill("SIGKILL");
          }, options.timeoutMs);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (result === undefined) {
        reject(
          new Error(
            `${script} ${args.join(" ")} exited ${code ?? signal} without a result:\n${stderr.trim().slice(-2000)}`,
          ),
        );
        return;
      }
      resolve({ result, stdout, wallMs: performance.now() - started });
    });
  });
}

/** For children: report the result (one line on stderr, never mixed with handler logs on stdout). */
export function reportResult(result: unknown): void {
  process.stderr.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

/** Progress for people, on stderr. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
