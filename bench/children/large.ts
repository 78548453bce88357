/**
 * One large transcript through the worker as deployed, in a fresh process: load the bundle, hand it an SQS
 * event with one delivery, and report the handler's time and the process's peak resident memory (what
 * Lambda reports as "Max Memory Used"). Usage: node large.mjs <worker bundle> <message.json>
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { lambdaContext, sqsEvent } from "../lib/events";
import { reportResult } from "../lib/proc";

function vmHwmKb(): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const [bundle, messageFile] = process.argv.slice(2);
  if (!bundle || !messageFile) throw new Error("usage: large.mjs <worker bundle> <message.json>");
  const body = readFileSync(messageFile, "utf8");
  const worker = (await import(pathToFileURL(bundle).href)) as {
    handler: (event: SQSEvent, context: unknown) => Promise<SQSBatchResponse>;
  };
  const rssAfterLoadKb = Math.round(process.memoryUsage.rss() / 1024);
  const started = performance.now();
  const answer = await worker.handler(sqsEvent([body]), lambdaContext("bench-worker", 512, 60_000));
  const workerMs = performance.now() - started;
  reportResult({
    workerMs,
    failures: answer.batchItemFailures.length,
    maxRssKb: process.resourceUsage().maxRSS,
    vmHwmKb: vmHwmKb(),
    rssAfterLoadKb,
  });
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
