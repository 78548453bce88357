/**
 * Warm latency of the receiver against the floor, in one process: both bundles loaded, warmed up, then
 * called alternately so that both see the same machine state. SQS and Secrets Manager are the no-op
 * endpoint in AWS_ENDPOINT_URL. Usage: node receiver-warm.mjs <receiver> <floor> <iterations> <warmup> <event.json>
 * Reports the per-call latencies (ms) of each.
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { lambdaContext } from "../lib/events";
import { reportResult } from "../lib/proc";

type Handler = (event: APIGatewayProxyEventV2, context: unknown) => Promise<{ statusCode?: number }>;

async function main(): Promise<void> {
  const [receiverPath, floorPath, iterationsArg, warmupArg, eventFile] = process.argv.slice(2);
  if (!receiverPath || !floorPath || !eventFile) throw new Error("missing arguments");
  const iterations = Number(iterationsArg);
  const warmup = Number(warmupArg);
  const template = JSON.parse(readFileSync(eventFile, "utf8")) as APIGatewayProxyEventV2;
  const receiver = ((await import(pathToFileURL(receiverPath).href)) as { handler: Handler }).handler;
  const floor = ((await import(pathToFileURL(floorPath).href)) as { handler: Handler }).handler;
  const context = lambdaContext("bench-receiver", 256, 5_000);

  const ours: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < warmup + iterations; i++) {
    const event = {
      ...template,
      requestContext: { ...template.requestContext, requestId: `bench-${i}`, timeEpoch: Date.now() },
    };
    // Alternate which goes first, so neither always follows the other's garbage.
    const order: Array<[Handler, number[]]> =
      i % 2 === 0
        ? [
            [receiver, ours],
            [floor, base],
          ]
        : [
            [floor, base],
            [receiver, ours],
          ];
    for (const [handler, samples] of order) {
      const started = performance.now();
      const answer = await handler(event, context);
      const elapsed = performance.now() - started;
      if (answer.statusCode !== 200) throw new Error(`a handler answered ${answer.statusCode}`);
      if (i >= warmup) samples.push(elapsed);
    }
  }
  reportResult({ ours, floor: base });
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
