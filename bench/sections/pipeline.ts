/**
 * 3. Pipeline: N deliveries through the local stack (simulator webhooks -> receiver -> queue -> worker ->
 * table) against the local floor (the same emulator operations issued directly), on the same arrival
 * schedule; each side in a fresh process with a fresh moto.
 * 4. Synchronous alternative: our receiver's answer time against a handler that fetches and stores inside
 * the request, with the simulator's transcript endpoint slowed to 1, 3 and 9 s.
 */
import * as path from "node:path";
import { DEFAULT_LOCAL_RECEIVER_CONCURRENCY } from "../../local/http-adapter";
import { buildAtCommit, buildChild, buildDeployed, buildWithDeployedOptions } from "../lib/build";
import { progress, runChild } from "../lib/proc";
import { median, ratio } from "../lib/stats";
import { type BenchOptions, ms, type Row, type SectionResult, x } from "../lib/types";
import { stackConfig } from "./config";

export const PIPELINE_MIN_RATIO = 0.5;
/**
 * The receiver before it used AssemblyAI's 10 s (1.5 s enqueue deadline, 500 ms attempts, the SDK's shared
 * retry quota): its 503s and duplicates are measured beside today's, in the same run.
 */
export const PREVIOUS_RECEIVER_COMMIT = "321a85d";
/** AssemblyAI's webhook timeout. */
export const ASSEMBLYAI_TIMEOUT_MS = 10_000;

export interface PipelineRun {
  readonly mode: string;
  readonly stored: number;
  readonly throughputPerSecond: number;
  readonly elapsedSeconds: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly [key: string]: unknown;
}

function builds(options: BenchOptions, section: string) {
  const dir = path.join(options.workDir, section);
  return {
    receiver: buildDeployed("receiver", path.join(dir, "receiver")).entry,
    worker: buildDeployed("worker", path.join(dir, "worker")).entry,
    publisher: buildDeployed("publisher", path.join(dir, "publisher")).entry,
    sync: buildWithDeployedOptions("bench/handlers/sync-receiver.ts", path.join(dir, "sync")).entry,
    child: buildChild("bench/children/stack.ts", path.join(dir, "stack.mjs")),
  };
}

export async function pipeline(options: BenchOptions): Promise<SectionResult> {
  const built = builds(options, "pipeline");
  const config = stackConfig();
  const base = {
    deliveries: options.deliveries,
    rate: options.rate,
    concurrency: config.workerMaxConcurrency,
    batchSize: config.workerBatchSize,
    recordConcurrency: 4,
    receiverBundle: built.receiver,
    receiverConcurrency: DEFAULT_LOCAL_RECEIVER_CONCURRENCY,
    workerBundle: built.worker,
    publisherBundle: built.publisher,
    syncBundle: built.sync,
    delaysMs: [],
    runs: 0,
  };
  const floors: PipelineRun[] = [];
  const pipelines: PipelineRun[] = [];
  for (let run = 0; run < options.pipelineRuns; run++) {
    for (const mode of run % 2 === 0 ? (["floor", "pipeline"] as const) : (["pipeline", "floor"] as const)) {
      progress(
        `pipeline: ${mode}, run ${run + 1} of ${options.pipelineRuns}: ${options.deliveries} deliveries at ${options.rate}/s`,
      );
      const { result } = await runChild<PipelineRun>(built.child, [JSON.stringify({ ...base, mode })], {
        forwardStderr: true,
        timeoutMs: 15 * 60_000,
      });
      (mode === "floor" ? floors : pipelines).push(result);
      progress(
        `pipeline: ${mode}: ${result.stored} stored, ${result.throughputPerSecond.toFixed(1)}/s, ` +
          `p50 ${result.latencyP50Ms} ms, p99 ${result.latencyP99Ms} ms` +
          (mode === "pipeline"
            ? `; ${String(result.eventsPublished)} events, delivery-to-event p50 ${String(result.eventLatencyP50Ms)} ms`
            : ""),
      );
    }
  }
  const med = (runs: PipelineRun[], key: keyof PipelineRun) => median(runs.map((run) => Number(run[key])));
  const throughput = med(pipelines, "throughputPerSecond");
  const floorThroughput = med(floors, "throughputPerSecond");
  const throughputRatio = ratio(throughput, floorThroughput);
  const lost = options.deliveries - med(pipelines, "stored");
  /** A latency row: the pipeline runs' `key` against `baselineRuns`' `baselineKey`. */
  const latencyRow = (
    metric: string,
    key: keyof PipelineRun,
    baselineRuns: PipelineRun[],
    baselineKey: keyof PipelineRun,
    baselineName: string,
  ): Row => ({
    section: "3 pipeline",
    metric,
    ours: ms(med(pipelines, key), 0),
    baseline: `${ms(med(baselineRuns, baselineKey), 0)} ${baselineName}`,
    ratio: x(ratio(med(pipelines, key), med(baselineRuns, baselineKey))),
    target: "",
    verdict: "",
  });
  const rows: Row[] = [
    {
      section: "3 pipeline",
      metric: `throughput, ${options.deliveries} deliveries offered at ${options.rate}/s`,
      ours: `${throughput.toFixed(1)}/s`,
      baseline: `${floorThroughput.toFixed(1)}/s local floor`,
      ratio: x(throughputRatio),
      target: ">= 0.50x",
      verdict: throughputRatio >= PIPELINE_MIN_RATIO && lost === 0 ? "met" : "MISSED",
    },
    latencyRow("delivery-to-stored latency p50", "latencyP50Ms", floors, "latencyP50Ms", "local floor"),
    latencyRow("delivery-to-stored latency p99", "latencyP99Ms", floors, "latencyP99Ms", "local floor"),
    {
      ...latencyRow(
        "delivery-to-event latency p50",
        "eventLatencyP50Ms",
        pipelines,
        "latencyP50Ms",
        "delivery-to-stored",
      ),
      target: "one event per stored record",
      verdict: pipelines.every((run) => Number(run.eventsPublished) === run.stored) ? "met" : "MISSED",
    },
    latencyRow(
      "delivery-to-event latency p99",
      "eventLatencyP99Ms",
      pipelines,
      "latencyP99Ms",
      "delivery-to-stored",
    ),
  ];
  rows.push(...(await retriesAndDuplicates(options, built.child, base, pipelines[0])));
  const notes = [
    `Pipeline: ${options.deliveries} simulator jobs whose webhooks fire on a fixed schedule (${options.rate}/s); the ` +
      "receiver and worker bundles as deployed behind local/http-adapter and local/sqs-poller (batch " +
      `${config.workerBatchSize}, ${config.workerMaxConcurrency} pollers), moto_server as AWS. Throughput = ` +
      "stored deliveries / (first webhook sent -> last record stored); latency = first webhook attempt -> the " +
      "worker's `record stored` line; delivery-to-event = first webhook attempt -> the publisher's `event published` " +
      "line (its PutEvents answered), the publisher as deployed fed by local/stream-poller (which polls each shard " +
      "4 times a second, as Lambda does). The floor sends the same queue messages on the same schedule and does the " +
      "worker's emulator calls itself (ReceiveMessage, GetItem, GET transcript, PutObject, UpdateItem, " +
      "DeleteMessageBatch; same concurrency), with no HTTP API, validation, gzip or logging. The simulator " +
      "retries a non-2xx webhook after 1 s here (AssemblyAI: 10 s). moto, not our code, bounds both sides: " +
      `${options.pipelineRuns === 1 ? "one run per side (use --pipeline-runs to repeat); latencies are percentiles over all deliveries." : `median of ${options.pipelineRuns} runs per side.`}`,
  ];
  if (throughput >= 0.95 * options.rate && floorThroughput >= 0.95 * options.rate) {
    notes.push(
      `Pipeline: both sides kept pace with the offered ${options.rate}/s, so the throughput ratio says the pipeline ` +
        "lost nothing at this rate; it is a lower bound on capacity, not the knee. Past what moto serves on the " +
        "machine (the floor falls behind the offered rate), the receiver's SendMessage waits behind the worker's " +
        "moto calls, passes its deadlines and answers 503, and AssemblyAI's retries add load (raise --rate to see it).",
    );
  }
  const pipelineRun = pipelines[0];
  if (pipelineRun && (Number(pipelineRun.rejectedDeliveries) > 0 || lost > 0)) {
    notes.push(
      `Pipeline: the receiver answered ${String(pipelineRun.rejectedDeliveries)} webhook attempts with an error ` +
        `(${JSON.stringify(pipelineRun.rejections)}) and ${lost} deliveries were not stored by the end: ` +
        "moto saturated and SendMessage outlasted the receiver's enqueue deadline (6 s, 3 attempts).",
    );
  }
  if (pipelineRun && Number(pipelineRun.failedWebhooks) > 0) {
    notes.push(
      `Pipeline: ${String(pipelineRun.failedWebhooks)} webhooks failed for good (${String(pipelineRun.timedOutAttempts)} ` +
        `of ${String(pipelineRun.webhookAttempts)} attempts timed out): the emulator served fewer deliveries per ` +
        "second than offered, the receiver's backlog outlasted the simulator's 10 s webhook timeout and the " +
        "retries added load; the run ended once nothing more could be stored. Lower --rate or --deliveries.",
    );
  }
  return { rows, notes, data: { floors, pipelines } };
}

/**
 * 503s the receiver answered and duplicate deliveries queued, per 1,000 deliveries, at the offered rate and
 * at twice it, for today's receiver and the previous one: a 503 for a message that was in fact queued makes
 * AssemblyAI post again, a duplicate the worker must collapse, and more load.
 */
async function retriesAndDuplicates(
  options: BenchOptions,
  child: string,
  base: Record<string, unknown>,
  atRate: PipelineRun | undefined,
): Promise<Row[]> {
  const previous = buildAtCommit(
    PREVIOUS_RECEIVER_COMMIT,
    "receiver",
    path.join(options.workDir, "pipeline", `receiver-${PREVIOUS_RECEIVER_COMMIT}`),
  );
  const run = async (label: string, receiverBundle: string, rate: number): Promise<PipelineRun> => {
    progress(`pipeline: ${label} receiver, ${options.deliveries} deliveries at ${rate}/s`);
    const { result } = await runChild<PipelineRun>(
      child,
      [JSON.stringify({ ...base, mode: "pipeline", rate, receiverBundle })],
      { forwardStderr: true, timeoutMs: 15 * 60_000 },
    );
    return result;
  };
  const perThousand = (value: unknown) => (1000 * Number(value)) / options.deliveries;
  const rows: Row[] = [];
  for (const rate of [options.rate, options.rate * 2]) {
    const ours =
      rate === options.rate && atRate ? atRate : await run("today's", String(base.receiverBundle), rate);
    const before = previous
      ? await run(`previous (${PREVIOUS_RECEIVER_COMMIT})`, previous.entry, rate)
      : undefined;
    for (const [metric, key] of [
      ["503 answers", "answered503"],
      ["duplicate deliveries", "duplicateDeliveries"],
    ] as const) {
      const value = perThousand(ours[key]);
      const baseline = before ? perThousand(before[key]) : Number.NaN;
      rows.push({
        section: "3 pipeline",
        metric: `${metric} per 1,000 deliveries at ${rate}/s`,
        ours: value.toFixed(1),
        baseline: before
          ? `${baseline.toFixed(1)} receiver of ${PREVIOUS_RECEIVER_COMMIT}`
          : "previous receiver not in this clone",
        ratio: before ? x(ratio(value, baseline)) : "",
        target: "no more than before",
        verdict: before ? (value <= baseline ? "met" : "MISSED") : "",
      });
    }
  }
  return rows;
}

interface SyncResult {
  results: Array<{ delayMs: number; ours: number[]; sync: number[]; syncStatuses: number[] }>;
}

export async function synchronous(options: BenchOptions): Promise<SectionResult> {
  const built = builds(options, "sync");
  const delaysMs = [1_000, 3_000, 9_000];
  progress(`synchronous alternative: transcript endpoint slowed to ${delaysMs.join(", ")} ms`);
  const { result } = await runChild<SyncResult>(
    built.child,
    [
      JSON.stringify({
        mode: "sync",
        deliveries: 0,
        rate: 0,
        concurrency: 0,
        batchSize: 0,
        recordConcurrency: 0,
        receiverBundle: built.receiver,
        workerBundle: built.worker,
        syncBundle: built.sync,
        delaysMs,
        runs: options.syncRuns,
      }),
    ],
    { forwardStderr: true, timeoutMs: 5 * 60_000 },
  );
  const rows: Row[] = result.results.map((entry) => {
    const ours = median(entry.ours);
    const sync = median(entry.sync);
    const failed = entry.syncStatuses.filter((status) => status !== 200).length;
    return {
      section: "4 synchronous",
      metric: `answer time, transcript endpoint +${entry.delayMs / 1000} s`,
      ours: ms(ours),
      baseline: `${ms(sync, 0)} fetch+store in request${failed ? ` (${failed} non-200)` : ""}`,
      ratio: x(ratio(ours, sync)),
      target: "flat; sync < 10 s",
      verdict: "",
    };
  });
  const oursMedians = result.results.map((entry) => median(entry.ours));
  const flat = Math.max(...oursMedians) < 100;
  const last = result.results[result.results.length - 1];
  const worstSync = last ? Math.max(...last.sync) : Number.NaN;
  const notes = [
    `Synchronous alternative: ${options.syncRuns} deliveries per delay to each handler, both as HTTP servers on ` +
      "local/http-adapter against moto; the transcript endpoint is slowed by a proxy in front of the simulator " +
      "(the simulator's delay_ms slows job processing, not GET /v2/transcript/:id). The alternative " +
      "(bench/handlers/sync-receiver.ts) is AssemblyAI's sample shape: SDK transcripts.get, then S3 and DynamoDB, " +
      `then 200. Ours stays ${flat ? "flat" : "NOT flat"} (${oursMedians.map((value) => ms(value)).join(", ")}); ` +
      `the slowest synchronous answer at +9 s took ${ms(worstSync, 0)}, ${(ASSEMBLYAI_TIMEOUT_MS - worstSync).toFixed(0)} ms ` +
      "inside AssemblyAI's 10 s timeout: one slower fetch or store and AssemblyAI counts the delivery as failed and retries it.",
  ];
  return { rows, notes, data: result as unknown as Record<string, unknown> };
}
