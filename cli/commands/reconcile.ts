/**
 * `reconcile [--since TIME]`: find finished transcripts whose webhook points at this stack but that are not
 * stored, and queue them. The decisions and the I/O are the reconciler's own (functions/reconciler/, shared
 * with the scheduled Lambda); this file points them at the target, draws the progress and prints the report.
 * Unlike the Lambda it keeps no checkpoint: `--since` says how far back to look.
 */
import type { Command } from "commander";
import { AssemblyAiApi } from "../../functions/reconciler/assemblyai";
import { reconcile } from "../../functions/reconciler/core";
import { createReconcileDeps } from "../../functions/reconciler/store";
import type { ReconcileDeps, ReconciledTranscript, ReconcileReport } from "../../functions/reconciler/types";
import { parsePositiveInteger, parseSince } from "../args";
import type { CommandContext } from "../context";
import { type Column, EXIT, type ExitCode, formatFields, formatTable } from "../output";
import type { AssemblyAiAccess, StackTarget } from "../stack";
import type { Runner } from "./runner";

/** How long one AssemblyAI request may take before the run stops with an error. */
const ASSEMBLYAI_TIMEOUT_MS = 30_000;

/**
 * The core's dependencies on a stack, built by the reconciler's own factory (the Lambda uses the same):
 * AssemblyAI over fetch with the API key, DynamoDB reads, SQS SendMessage.
 */
export function reconcileDeps(target: StackTarget, access: AssemblyAiAccess): ReconcileDeps {
  return createReconcileDeps({
    assemblyAi: new AssemblyAiApi({
      baseUrl: access.baseUrl.replace(/\/+$/, ""),
      timeoutMs: ASSEMBLYAI_TIMEOUT_MS,
      apiKey: async () => access.apiKey,
    }),
    documents: target.documents,
    sqs: target.sqs,
    tableName: target.tableName,
    queueUrl: target.queueUrl,
  });
}

/** The stack's webhook URL as the core matches it: no query string. */
export function webhookBase(webhookUrl: string): string {
  const url = new URL(webhookUrl);
  url.search = "";
  url.hash = "";
  return url.toString();
}

const DECISION_COLUMNS: readonly Column<ReconciledTranscript>[] = [
  { header: "TRANSCRIPT", value: (row) => row.transcriptId, maxWidth: 40 },
  { header: "OUTCOME", value: (row) => row.outcome },
  { header: "CUSTOMER", value: (row) => row.customerId, maxWidth: 30 },
  { header: "ORDER", value: (row) => row.orderId, maxWidth: 30 },
  { header: "DETAIL", value: (row) => row.reason ?? row.requestId, maxWidth: 70 },
];

const STOP_REASONS: Readonly<Record<string, string>> = {
  budget: "stopped at --max-api-calls before reaching --since: run again (or raise the limit) to finish",
  time: "stopped early (time limit)",
  failure: "stopped by an error",
};

export function formatReport(report: ReconcileReport): string {
  const lines: string[] = [];
  if (report.transcripts.length > 0) lines.push(formatTable(DECISION_COLUMNS, report.transcripts), "");
  lines.push(
    formatFields([
      ["examined", report.examined],
      ["for this stack", report.matched],
      ["already stored", report.alreadyStored],
      ["delivered, not yet stored", report.delivered],
      ["queued", report.queued],
      ["superseded", report.superseded],
      ["skipped", report.skipped],
      ["not read (AssemblyAI failed)", report.unreadRetrying + report.unreadAbandoned],
      ["still pending", report.pending],
      ["API calls", report.apiCalls],
      ["next checkpoint", report.nextCheckpoint],
    ]),
  );
  if (report.stopReason) {
    lines.push("", STOP_REASONS[report.stopReason] ?? `stopped: ${report.stopReason}`);
    if (report.failure) lines.push(`error: ${report.failure}`);
  }
  // The CLI keeps no checkpoint, so nothing retries them by itself (the scheduled reconciler does its own).
  const unread = report.unreadRetrying + report.unreadAbandoned;
  if (unread > 0) {
    lines.push("", `${unread} transcripts could not be read: run reconcile again to retry them`);
  }
  if (report.queued > 0)
    lines.push("", "the worker stores the queued transcripts shortly (list <customer_id>)");
  return lines.join("\n");
}

/**
 * 0 when the window was covered; 3 when it stopped early but queued something, or some transcripts could not
 * be read; 1 when it failed outright.
 */
export function reconcileExitCode(report: ReconcileReport): ExitCode {
  if (report.stopReason === undefined) {
    return report.unreadRetrying + report.unreadAbandoned > 0 ? EXIT.partial : EXIT.ok;
  }
  if (report.stopReason === "failure" && report.queued === 0) return EXIT.error;
  return EXIT.partial;
}

interface ReconcileCommandOptions {
  readonly since: Date;
  readonly maxApiCalls: number;
}

async function runReconcile(context: CommandContext, options: ReconcileCommandOptions): Promise<ExitCode> {
  const target = await context.target();
  const access = await target.assemblyAi();
  const progress = context.out.progress("reconciling");
  let report: ReconcileReport;
  try {
    report = await reconcile(reconcileDeps(target, access), {
      since: options.since,
      webhookUrl: webhookBase(target.webhookUrl),
      maxApiCalls: options.maxApiCalls,
      now: context.now(),
      onProgress: (partial) => progress.update(partial.examined, undefined, `${partial.queued} queued`),
    });
  } finally {
    progress.done();
  }
  context.out.result(report, () => formatReport(report));
  return reconcileExitCode(report);
}

export function registerReconcile(program: Command, run: Runner): void {
  program
    .command("reconcile")
    .description("queue finished transcripts addressed to this stack that were never stored")
    .option(
      "--since <time>",
      "look at transcripts created since: ISO-8601 or a duration back from now (30m, 6h, 2d, 1w)",
      (value: string) => parseSince(value),
    )
    .option("--max-api-calls <n>", "stop after this many AssemblyAI requests", parsePositiveInteger, 1000)
    .addHelpText("after", "\n--since defaults to 24h.")
    .action((options: { since?: Date; maxApiCalls: number }, command: Command) =>
      run(command, (context) =>
        runReconcile(context, {
          since: options.since ?? parseSince("24h", context.now()),
          maxApiCalls: options.maxApiCalls,
        }),
      ),
    );
}
