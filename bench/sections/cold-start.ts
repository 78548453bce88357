/**
 * 1. Cold start: size, cold module load, and cold start to first answer (load plus the first invocation
 * against local endpoints), each in a fresh `node` process, for the receiver and the worker as deployed, as
 * CDK's default bundling would build them, and for an empty handler (the floor). Variants are run round-robin
 * so that drift on the machine touches all of them alike.
 */

import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { startSimulator } from "../../local/simulator";
import {
  type Built,
  buildCdkDefault,
  buildChild,
  buildDeployed,
  buildWithDeployedOptions,
} from "../lib/build";
import { deliveryMessageBody, sqsEvent, webhookEvent } from "../lib/events";
import { functionVariables } from "../lib/local-stack";
import { NOOP_REGION, startNoopAws } from "../lib/noop-aws";
import { progress, runChild } from "../lib/proc";
import { median, ratio } from "../lib/stats";
import { type BenchOptions, kb, ms, type Row, type SectionResult, x } from "../lib/types";

const WEBHOOK_SECRET = "bench-webhook-secret-value";
const API_KEY = "bench-api-key";
/** Targets from the issues: the receiver's code and its cold start against the CDK-default bundle (issue 13). */
export const RECEIVER_MAX_BYTES = 400 * 1024;
export const RECEIVER_MAX_COLD_RATIO = 0.75;

interface ColdSample {
  loadMs: number;
  firstAnswerMs: number;
  invokeMs: number;
  status: number | string;
}

interface Variant {
  readonly id: string;
  readonly fn: "receiver" | "worker" | "empty";
  readonly build: Built;
  readonly eventFile: string;
}

export async function coldStart(options: BenchOptions): Promise<SectionResult> {
  const dir = path.join(options.workDir, "cold-start");
  progress("cold start: building the deployed bundles, CDK-default bundles and the empty handler");
  const builds = {
    receiver: buildDeployed("receiver", path.join(dir, "receiver-deployed")),
    receiverCdk: buildCdkDefault("receiver", path.join(dir, "receiver-cdk")),
    worker: buildDeployed("worker", path.join(dir, "worker-deployed")),
    workerCdk: buildCdkDefault("worker", path.join(dir, "worker-cdk")),
    empty: buildWithDeployedOptions("bench/handlers/empty.ts", path.join(dir, "empty")),
  };
  const runner = buildChild("bench/children/cold.ts", path.join(dir, "cold.mjs"));

  const aws = await startNoopAws({ secrets: { "webhook-secret": WEBHOOK_SECRET, "api-key": API_KEY } });
  const simulator = await startSimulator({ apiKey: API_KEY, processingDelayMs: 0 });
  try {
    const created = await fetch(`${simulator.url}/v2/transcript`, {
      method: "POST",
      headers: { authorization: API_KEY, "content-type": "application/json" },
      body: JSON.stringify({ audio_url: "https://bench.invalid/cold.mp3" }),
    });
    const transcriptId = ((await created.json()) as { id: string }).id;
    await simulator.settled(transcriptId, 10_000);

    const receiverEventFile = path.join(dir, "receiver-event.json");
    writeFileSync(
      receiverEventFile,
      JSON.stringify(
        webhookEvent({ secret: WEBHOOK_SECRET, transcriptId, customerId: "bench", orderId: "cold" }),
      ),
    );
    const workerEventFile = path.join(dir, "worker-event.json");
    writeFileSync(
      workerEventFile,
      JSON.stringify(sqsEvent([deliveryMessageBody({ transcriptId, customerId: "bench", orderId: "cold" })])),
    );
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_ENDPOINT_URL: aws.url,
      AWS_REGION: NOOP_REGION,
      AWS_ACCESS_KEY_ID: "bench",
      AWS_SECRET_ACCESS_KEY: "bench",
      ...functionVariables(
        {
          queueUrl: aws.queueUrl("deliveries"),
          webhookSecretArn: aws.secretArn("webhook-secret"),
          tableName: "transcripts",
          bucketName: "bench-bucket",
          apiKeySecretArn: aws.secretArn("api-key"),
        },
        simulator.url,
      ),
    };
    const variants: Variant[] = [
      { id: "receiver", fn: "receiver", build: builds.receiver, eventFile: receiverEventFile },
      { id: "receiverCdk", fn: "receiver", build: builds.receiverCdk, eventFile: receiverEventFile },
      { id: "worker", fn: "worker", build: builds.worker, eventFile: workerEventFile },
      { id: "workerCdk", fn: "worker", build: builds.workerCdk, eventFile: workerEventFile },
      { id: "empty", fn: "empty", build: builds.empty, eventFile: receiverEventFile },
    ];
    const samples = new Map<string, ColdSample[]>(variants.map((variant) => [variant.id, []]));
    // One untimed pass first: the page cache then holds every bundle, as on a warm Lambda host.
    for (const variant of variants) {
      await runChild(runner, [variant.build.entry, variant.build.format, variant.eventFile], { env });
    }
    for (let run = 0; run < options.runs; run++) {
      progress(`cold start: round ${run + 1} of ${options.runs}`);
      const order = run % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        const { result } = await runChild<ColdSample>(
          runner,
          [variant.build.entry, variant.build.format, variant.eventFile],
          { env, timeoutMs: 30_000 },
        );
        const expected = variant.fn === "worker" ? "ok" : 200;
        if (result.status !== expected) {
          throw new Error(
            `${variant.id} answered ${result.status} on its first request (expected ${expected})`,
          );
        }
        samples.get(variant.id)?.push(result);
      }
    }

    const stat = (id: string, key: "loadMs" | "firstAnswerMs") =>
      median((samples.get(id) ?? []).map((sample) => sample[key]));
    const figures = Object.fromEntries(
      variants.map((variant) => [
        variant.id,
        {
          format: variant.build.format,
          codeBytes: variant.build.codeBytes,
          staticBytes: variant.build.staticBytes,
          files: variant.build.files,
          loadMsMedian: stat(variant.id, "loadMs"),
          firstAnswerMsMedian: stat(variant.id, "firstAnswerMs"),
          samples: samples.get(variant.id),
        },
      ]),
    );

    const rows: Row[] = [];
    const notes: string[] = [];
    for (const fn of ["receiver", "worker"] as const) {
      const ours = `${fn}` as const;
      const cdk = `${fn}Cdk` as const;
      const size = builds[ours].codeBytes;
      const loaded = builds[ours].staticBytes;
      // The budget is on what a cold start loads: the receiver's S3 client (claim checks, for messages over
      // SQS's limit only) is a chunk imported on first use, deployed but not loaded by the usual path.
      const sizeMet = fn === "receiver" ? (loaded <= RECEIVER_MAX_BYTES ? "met" : "MISSED") : "";
      rows.push({
        section: "1 cold start",
        metric: `${fn} code loaded at cold start (all chunks deployed)`,
        ours: `${kb(loaded)} (${kb(size)})`,
        baseline: `${kb(builds[cdk].codeBytes)} CDK default`,
        ratio: x(ratio(loaded, builds[cdk].codeBytes)),
        target: fn === "receiver" ? "<= 400 KB" : "",
        verdict: sizeMet,
      });
      const load = stat(ours, "loadMs");
      const loadCdk = stat(cdk, "loadMs");
      rows.push({
        section: "1 cold start",
        metric: `${fn} cold module load`,
        ours: ms(load),
        baseline: `${ms(loadCdk)} CDK default; ${ms(stat("empty", "loadMs"), 2)} empty`,
        ratio: x(ratio(load, loadCdk)),
        target: "",
        verdict: "",
      });
      const first = stat(ours, "firstAnswerMs");
      const firstCdk = stat(cdk, "firstAnswerMs");
      const coldRatio = ratio(first, firstCdk);
      rows.push({
        section: "1 cold start",
        metric: `${fn} cold start to first answer`,
        ours: ms(first),
        baseline: `${ms(firstCdk)} CDK default; ${ms(stat("empty", "firstAnswerMs"), 2)} empty`,
        ratio: x(coldRatio),
        target: fn === "receiver" ? `<= ${RECEIVER_MAX_COLD_RATIO.toFixed(2)}x` : "",
        verdict: fn === "receiver" ? (coldRatio <= RECEIVER_MAX_COLD_RATIO ? "met" : "MISSED") : "",
      });
    }
    notes.push(
      `Cold start: medians of ${options.runs} fresh \`node ${process.version}\` processes per variant, round-robin, after one untimed pass. ` +
        "ESM bundles are loaded with `import()`, CommonJS with `require()`, as Lambda's runtime does; the first " +
        "answer goes to a no-op AWS endpoint (SQS, Secrets Manager, DynamoDB, S3) and the AssemblyAI simulator. " +
        "CDK default = NodejsFunction's defaults for Node.js 24 (CommonJS, unminified, target node24, platform " +
        "node, no source map, no splitting) with `externalModules: []` so the SDK is bundled on both sides. " +
        "Size counts every code file of the asset (source maps excluded); in brackets, the part loaded at start " +
        "(the entry and its static imports; dynamically imported credential-provider chunks load only on demand).",
    );
    return { rows, notes, data: { transcriptId, variants: figures } };
  } finally {
    await simulator.close();
    await aws.close();
  }
}
