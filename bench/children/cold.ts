/**
 * One cold start, in a fresh `node`: load a bundle the way Lambda's runtime does (`import()` for ESM,
 * `require()` for CommonJS), then answer one event against the local endpoints in the environment.
 * Usage: node cold.mjs <bundle> <esm|cjs> <event.json>
 * Reports { loadMs, firstAnswerMs, invokeMs, status } (ms from performance.now()).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { WORKER_TIMEOUT_SECONDS } from "../../functions/shared/contract/resources";
import { lambdaContext } from "../lib/events";
import { reportResult } from "../lib/proc";

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

async function main(): Promise<void> {
  const [bundle, format, eventFile] = process.argv.slice(2);
  if (!bundle || !eventFile || (format !== "esm" && format !== "cjs")) {
    throw new Error("usage: cold.mjs <bundle> <esm|cjs> <event.json>");
  }
  const event: unknown = JSON.parse(readFileSync(eventFile, "utf8"));
  // The worker's own timeout: it keeps DEADLINE_RESERVE_MS (5 s) back, so a 5 s context left it no time.
  const context = lambdaContext("bench", 256, WORKER_TIMEOUT_SECONDS * 1000);
  const load = createRequire(bundle);

  const t0 = performance.now();
  const module = (format === "cjs" ? load(bundle) : await import(pathToFileURL(bundle).href)) as {
    handler: Handler;
  };
  const t1 = performance.now();
  const answer = (await module.handler(event, context)) as Record<string, unknown> | undefined;
  const t2 = performance.now();

  const status =
    typeof answer?.statusCode === "number"
      ? answer.statusCode
      : Array.isArray(answer?.batchItemFailures)
        ? answer.batchItemFailures.length === 0
          ? "ok"
          : "failed"
        : "unknown";
  reportResult({ loadMs: t1 - t0, firstAnswerMs: t2 - t0, invokeMs: t2 - t1, status, bootMs: t0 });
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
