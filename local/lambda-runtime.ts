/**
 * Runs a deployed function bundle the way Lambda gives it an execution environment: in a thread of its
 * own, with exactly its own environment variables (its configuration and its own AWS credentials), loaded
 * once (the cold start) and then invoked with events. Its log lines reach this process's stdout whole, one
 * per line. A crash (an error nothing caught) fails the invocations in flight and the next invocation gets
 * a fresh environment, as on Lambda.
 *
 * Unlike Lambda, one environment serves concurrent invocations (the adapters in front bound how many).
 */
import { createInterface } from "node:readline";
import { Worker } from "node:worker_threads";
import type { Context } from "aws-lambda";

export interface LocalFunctionOptions {
  /** The function's name, as in its Lambda context and log lines. */
  readonly name: string;
  /** Path of the bundle's entry (`index.mjs`), which exports `handler`. */
  readonly bundle: string;
  /** The function's whole environment: nothing of this process's leaks in. */
  readonly env: Readonly<Record<string, string>>;
  /** Called with each line the function writes to stdout or stderr. */
  readonly onLine?: (line: string, stream: "stdout" | "stderr") => void;
}

/** The handler's signature, as the adapters call it; the context's clock is carried across. */
export type LocalHandler<E, R> = (event: E, context: Context) => Promise<R>;

export interface LocalFunction<E, R> {
  readonly handler: LocalHandler<E, R>;
  /**
   * Kills the execution environment at once, as a crash would: the invocations in flight fail, and the next
   * one gets a fresh environment (a cold start).
   */
  crash(): Promise<void>;
  close(): Promise<void>;
}

/** Raised in this thread for an invocation that threw in the function. */
export class FunctionError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly functionStack?: string,
  ) {
    super(message);
  }
}

interface Invocation {
  readonly id: number;
  readonly event: unknown;
  readonly context: {
    readonly functionName: string;
    readonly memoryLimitInMB: string;
    readonly awsRequestId: string;
    readonly invokedFunctionArn: string;
    readonly logGroupName: string;
    readonly deadline: number;
  };
}

type Reply =
  | { readonly ready: true }
  | { readonly initError: { name: string; message: string; stack?: string } }
  | { readonly id: number; readonly result: unknown }
  | { readonly id: number; readonly error: { name: string; message: string; stack?: string } };

/** The thread's program: load the bundle, then answer invocations. CommonJS, as eval workers run. */
const RUNTIME = `
const { parentPort, workerData } = require("node:worker_threads");
const { pathToFileURL } = require("node:url");
const describe = (e) => ({ name: e && e.name || "Error", message: e && e.message || String(e), stack: e && e.stack });
import(pathToFileURL(workerData.bundle).href).then((mod) => {
  parentPort.on("message", async ({ id, event, context }) => {
    const ctx = {
      ...context,
      functionVersion: "$LATEST",
      logStreamName: "local",
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, context.deadline - Date.now()),
      done() {}, fail() {}, succeed() {},
    };
    delete ctx.deadline;
    try {
      parentPort.postMessage({ id, result: await mod.handler(event, ctx) });
    } catch (error) {
      parentPort.postMessage({ id, error: describe(error) });
    }
  });
  parentPort.postMessage({ ready: true });
}, (error) => parentPort.postMessage({ initError: describe(error) }));
`;

export async function startFunction<E, R>(options: LocalFunctionOptions): Promise<LocalFunction<E, R>> {
  let nextId = 0;
  const pending = new Map<number, { resolve: (value: R) => void; reject: (error: unknown) => void }>();
  let environment: Promise<Worker> | undefined;
  let closing = false;

  const forward = (stream: NodeJS.ReadableStream, name: "stdout" | "stderr") => {
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
      if (options.onLine) options.onLine(line, name);
      else (name === "stdout" ? process.stdout : process.stderr).write(`${line}\n`);
    });
  };

  const boot = (): Promise<Worker> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(RUNTIME, {
        eval: true,
        env: { ...options.env },
        workerData: { bundle: options.bundle },
        stdout: true,
        stderr: true,
      });
      forward(worker.stdout, "stdout");
      forward(worker.stderr, "stderr");
      let ready = false;
      worker.on("message", (reply: Reply) => {
        if ("ready" in reply) {
          ready = true;
          resolve(worker);
        } else if ("initError" in reply) {
          reject(
            new FunctionError(
              reply.initError.name,
              `${options.name} failed to initialise: ${reply.initError.message}`,
            ),
          );
          void worker.terminate();
        } else {
          const waiting = pending.get(reply.id);
          pending.delete(reply.id);
          if ("error" in reply)
            waiting?.reject(new FunctionError(reply.error.name, reply.error.message, reply.error.stack));
          else waiting?.resolve(reply.result as R);
        }
      });
      const lost = (why: string) => {
        environment = undefined;
        if (!ready) reject(new Error(`${options.name} ${why} while initialising`));
        for (const [id, waiting] of pending) {
          pending.delete(id);
          waiting.reject(new Error(`${options.name}'s execution environment ${why}`));
        }
      };
      worker.on("error", (error) => lost(`crashed: ${error.message}`));
      worker.on("exit", (code) => {
        if (!closing) lost(`exited (code ${code})`);
      });
    });

  const handler: LocalHandler<E, R> = async (event, context) => {
    environment ??= boot();
    const worker = await environment;
    const id = nextId++;
    const invocation: Invocation = {
      id,
      event,
      context: {
        functionName: context.functionName,
        memoryLimitInMB: context.memoryLimitInMB,
        awsRequestId: context.awsRequestId,
        invokedFunctionArn: context.invokedFunctionArn,
        logGroupName: context.logGroupName,
        deadline: Date.now() + context.getRemainingTimeInMillis(),
      },
    };
    return new Promise<R>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage(invocation);
    });
  };

  // The cold start happens now, so a configuration error fails `npm start` at once, as a deploy's init would.
  environment = boot();
  await environment;
  return {
    handler,
    async crash() {
      const worker = await environment?.catch(() => undefined);
      await worker?.terminate();
    },
    async close() {
      closing = true;
      const worker = await environment?.catch(() => undefined);
      await worker?.terminate();
    },
  };
}
