/**
 * 2. Receiver overhead: warm, in-process latency of the deployed receiver with SQS and Secrets Manager
 * answered by a no-op local endpoint, against the floor: the same SendMessage call, same client settings,
 * none of our code (bench/handlers/sqs-floor.ts, bundled with the deployed options).
 */

import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { buildChild, buildDeployed, buildWithDeployedOptions } from "../lib/build";
import { webhookEvent } from "../lib/events";
import { receiverVariables } from "../lib/local-stack";
import { NOOP_REGION, startNoopAws } from "../lib/noop-aws";
import { progress, runChild } from "../lib/proc";
import { median, percentile, ratio } from "../lib/stats";
import { type BenchOptions, ms, type Row, type SectionResult, x } from "../lib/types";

const SECRET = "bench-webhook-secret-value";

export async function receiverOverhead(options: BenchOptions): Promise<SectionResult> {
  const dir = path.join(options.workDir, "receiver");
  const receiver = buildDeployed("receiver", path.join(dir, "receiver"));
  const floor = buildWithDeployedOptions("bench/handlers/sqs-floor.ts", path.join(dir, "floor"));
  const child = buildChild("bench/children/receiver-warm.ts", path.join(dir, "receiver-warm.mjs"));
  const aws = await startNoopAws({ secrets: { "webhook-secret": SECRET } });
  try {
    const eventFile = path.join(dir, "event.json");
    writeFileSync(
      eventFile,
      JSON.stringify(
        webhookEvent({
          secret: SECRET,
          transcriptId: "5551722-f677-48a6-8bd0-7fa1a9e41c1f",
          customerId: "bench",
          orderId: "warm",
        }),
      ),
    );
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      AWS_ENDPOINT_URL: aws.url,
      AWS_REGION: NOOP_REGION,
      AWS_ACCESS_KEY_ID: "bench",
      AWS_SECRET_ACCESS_KEY: "bench",
      ...receiverVariables({
        queueUrl: aws.queueUrl("deliveries"),
        webhookSecretArn: aws.secretArn("webhook-secret"),
        bucketName: "bench-bucket",
      }),
    };
    const runs = Math.max(3, Math.round(options.runs / 5));
    const perRun: Array<{ oursP50: number; oursP99: number; floorP50: number; floorP99: number }> = [];
    for (let run = 0; run < runs; run++) {
      progress(`receiver overhead: run ${run + 1} of ${runs} (${options.warmIterations} warm calls each)`);
      const { result } = await runChild<{ ours: number[]; floor: number[] }>(
        child,
        [receiver.entry, floor.entry, String(options.warmIterations), "200", eventFile],
        { env, timeoutMs: 300_000 },
      );
      perRun.push({
        oursP50: percentile(result.ours, 50),
        oursP99: percentile(result.ours, 99),
        floorP50: percentile(result.floor, 50),
        floorP99: percentile(result.floor, 99),
      });
    }
    const pick = (key: keyof (typeof perRun)[number]) => median(perRun.map((run) => run[key]));
    const figures = {
      oursP50: pick("oursP50"),
      oursP99: pick("oursP99"),
      floorP50: pick("floorP50"),
      floorP99: pick("floorP99"),
    };
    const rows: Row[] = [
      {
        section: "2 receiver (warm)",
        metric: "handler latency p50",
        ours: ms(figures.oursP50, 2),
        baseline: `${ms(figures.floorP50, 2)} bare SendMessage`,
        ratio: x(ratio(figures.oursP50, figures.floorP50)),
        target: "",
        verdict: "",
      },
      {
        section: "2 receiver (warm)",
        metric: "handler latency p99",
        ours: ms(figures.oursP99, 2),
        baseline: `${ms(figures.floorP99, 2)} bare SendMessage`,
        ratio: x(ratio(figures.oursP99, figures.floorP99)),
        target: "",
        verdict: "",
      },
    ];
    const notes = [
      `Receiver overhead: ${options.warmIterations} warm calls per run after 200 untimed ones, the receiver and ` +
        `the floor alternating in one process; p50/p99 per run, median of ${runs} runs. The endpoint answers at ` +
        "once, so the difference is our code (route, constant-time auth against the cached secret, validation, " +
        "message building, the log line) plus the SDK work for a larger message.",
    ];
    return { rows, notes, data: { runs: perRun, ...figures, counts: Object.fromEntries(aws.counts) } };
  } finally {
    await aws.close();
  }
}
