/**
 * `npm run bench`: runs the benchmark sections, prints progress to stderr and the table to stdout, writes
 * bench/results.json and regenerates docs/PERFORMANCE.md.
 *
 *   npm run bench                                    everything, defaults
 *   npm run bench -- --only cold-start --runs 15     one section (comma-separate several)
 *   npm run bench -- --deliveries 500 --rate 40      a shorter pipeline run
 *
 * Options: --only <sections> (cold-start, receiver, pipeline, sync, large, customers, cost), --runs N (cold-start
 * processes per variant, default 15), --deliveries N (2000), --rate N (webhooks offered per second, 40),
 * --pipeline-runs N (1), --warm-iterations N (2000), --sync-runs N (5), --large-runs N (3),
 * --no-write (print only). Benchmarks never run under `npm test` (Jest's roots are test/ only).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../lib/bundling";
import { progress } from "./lib/proc";
import { type Machine, performanceMarkdown, textTable } from "./lib/report";
import { type BenchOptions, type Row, SECTIONS, type SectionName, type SectionResult } from "./lib/types";
import { coldStart } from "./sections/cold-start";
import { type CostInputs, cost } from "./sections/cost";
import { customers } from "./sections/customers";
import { largeTranscripts } from "./sections/large";
import { type PipelineRun, pipeline, synchronous } from "./sections/pipeline";
import { receiverOverhead } from "./sections/receiver";

const USAGE = `npm run bench [-- options]
  --only <sections>      comma-separated: ${SECTIONS.join(", ")} (default: all)
  --runs N               cold-start processes per variant (15)
  --deliveries N         pipeline deliveries (2000)
  --rate N               webhooks offered per second, pipeline and floor alike (40)
  --pipeline-runs N      pipeline and floor runs, alternating (1)
  --warm-iterations N    warm receiver calls per run (2000)
  --sync-runs N          deliveries per delay and handler in the synchronous comparison (5)
  --large-runs N         processes per transcript size (3)
  --no-write             print the table only; leave results.json and docs/PERFORMANCE.md alone
`;

function positive(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new Error(`--${name} must be a positive number`);
  return number;
}

function parseOptions(argv: string[], workDir: string): BenchOptions & { write: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: "string" },
      runs: { type: "string" },
      deliveries: { type: "string" },
      rate: { type: "string" },
      "pipeline-runs": { type: "string" },
      "warm-iterations": { type: "string" },
      "sync-runs": { type: "string" },
      "large-runs": { type: "string" },
      "no-write": { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const only = (values.only?.split(",").map((name) => name.trim()) ?? [...SECTIONS]) as SectionName[];
  for (const name of only) {
    if (!(SECTIONS as readonly string[]).includes(name)) {
      throw new Error(`--only: unknown section "${name}" (choose from ${SECTIONS.join(", ")})`);
    }
  }
  return {
    only,
    runs: Math.round(positive(values.runs, 15, "runs")),
    deliveries: Math.round(positive(values.deliveries, 2000, "deliveries")),
    rate: positive(values.rate, 40, "rate"),
    pipelineRuns: Math.round(positive(values["pipeline-runs"], 1, "pipeline-runs")),
    warmIterations: Math.round(positive(values["warm-iterations"], 2000, "warm-iterations")),
    syncRuns: Math.round(positive(values["sync-runs"], 5, "sync-runs")),
    largeRuns: Math.round(positive(values["large-runs"], 3, "large-runs")),
    workDir,
    write: !values["no-write"],
  };
}

function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg(),
    date: new Date().toISOString(),
  };
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), "aai-bench-"));
  const options = parseOptions(process.argv.slice(2), workDir);
  const started = performance.now();
  const info = machine();
  progress(`${info.cpu}, ${info.cores} cores, Node.js ${info.node}; sections: ${options.only.join(", ")}`);
  const results: Partial<Record<SectionName, SectionResult>> = {};
  try {
    const runners: Record<Exclude<SectionName, "cost">, () => Promise<SectionResult>> = {
      "cold-start": () => coldStart(options),
      receiver: () => receiverOverhead(options),
      pipeline: () => pipeline(options),
      sync: () => synchronous(options),
      large: () => largeTranscripts(options),
      customers: () => customers(options),
    };
    for (const name of SECTIONS) {
      if (name === "cost" || !options.only.includes(name)) continue;
      const sectionStarted = performance.now();
      results[name] = await runners[name]();
      progress(`${name}: done in ${((performance.now() - sectionStarted) / 1000).toFixed(0)} s`);
    }
    if (options.only.includes("cost")) results.cost = cost(costInputs(results));
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }

  const sections = SECTIONS.filter((name) => results[name] !== undefined);
  const rows: Row[] = sections.flatMap((name) => results[name]?.rows ?? []);
  const notes = sections.flatMap((name) => results[name]?.notes ?? []);
  const durationSeconds = (performance.now() - started) / 1000;
  process.stdout.write(`\n${textTable(rows)}\n\n`);
  for (const row of rows.filter((candidate) => candidate.verdict === "MISSED")) {
    process.stdout.write(`target MISSED: ${row.metric}: ${row.ours} (target ${row.target})\n`);
  }
  if (!options.write) return;
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const { workDir: _ignored, ...recorded } = options;
  writeFileSync(
    path.join(PROJECT_ROOT, "bench", "results.json"),
    `${JSON.stringify(
      {
        machine: info,
        command,
        options: recorded,
        durationSeconds,
        table: rows,
        notes,
        sections: Object.fromEntries(sections.map((name) => [name, results[name]?.data])),
      },
      null,
      2,
    )}\n`,
  );
  mkdirSync(path.join(PROJECT_ROOT, "docs"), { recursive: true });
  writeFileSync(
    path.join(PROJECT_ROOT, "docs", "PERFORMANCE.md"),
    performanceMarkdown({ machine: info, command, rows, notes, durationSeconds }),
  );
  progress(`wrote bench/results.json and docs/PERFORMANCE.md (${durationSeconds.toFixed(0)} s in all)`);
}

/** Cost inputs come only from sections measured in this run. */
function costInputs(results: Partial<Record<SectionName, SectionResult>>): CostInputs | undefined {
  const receiver = results.receiver?.data as { oursP50?: number } | undefined;
  const pipelines = (results.pipeline?.data as { pipelines?: PipelineRun[] } | undefined)?.pipelines;
  // The run with the median throughput stands for the pipeline.
  const byThroughput = [...(pipelines ?? [])].sort((a, b) => a.throughputPerSecond - b.throughputPerSecond);
  const run = byThroughput[Math.floor((byThroughput.length - 1) / 2)];
  if (receiver?.oursP50 === undefined || run === undefined) return undefined;
  return {
    receiverMs: receiver.oursP50,
    workerBilledMsPerDelivery: Number(run.workerBilledMsPerDelivery),
    batchSizeMean: Number(run.workerBatchSizeMean),
    receiverLogBytesPerDelivery: Number(run.receiverLogBytesPerDelivery),
    workerLogBytesPerDelivery: Number(run.workerLogBytesPerDelivery),
    itemBytes: Number(run.itemBytesP50),
    eventsPerDelivery: Number(run.eventsPublished) / Math.max(1, run.stored),
    eventBytes: Number(run.eventBytesP50),
    publisherInvocationsPerDelivery: Number(run.publisherInvocations) / Math.max(1, run.stored),
    publisherBilledMsPerDelivery: Number(run.publisherBilledMsPerDelivery),
    publisherLogBytesPerDelivery: Number(run.publisherLogBytesPerDelivery),
  };
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
