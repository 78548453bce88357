/**
 * `erase --customer-id C [--order-id O] [--dry-run] [--yes] [--also-assemblyai]`: removes what the stack
 * keeps about a customer (cli/erase.ts says what and in which order), after a confirmation; writes one
 * audit line to stderr and puts a `Customer Erased` event on the stack's bus.
 */
import type { Command } from "commander";
import { parseCustomerId, parseOrderId } from "../args";
import type { CommandContext } from "../context";
import {
  assemblyAiDeleter,
  type DeleteTranscript,
  executeErasure,
  planErasure,
  publishErased,
} from "../erase";
import { auditLine, describePlan, dryRunSummary, type ErasureSummary, formatSummary } from "../erasure-plan";
import { CliError, EXIT, type ExitCode } from "../output";
import { confirm } from "../secret-input";
import type { Runner } from "./runner";

export interface EraseOptions {
  readonly customerId: string;
  readonly orderId?: string;
  readonly dryRun?: boolean;
  readonly yes?: boolean;
  readonly alsoAssemblyai?: boolean;
}

/** Replaces AssemblyAI's DELETE (tests). */
export interface EraseDependencies {
  readonly deleteTranscript?: DeleteTranscript;
}

export async function erase(
  context: CommandContext,
  options: EraseOptions,
  dependencies: EraseDependencies = {},
): Promise<ExitCode> {
  const target = await context.target();
  const scope = { customerId: options.customerId, orderId: options.orderId };
  const alsoAssemblyAi = options.alsoAssemblyai === true;
  const plan = await planErasure(target, scope);
  const summaryOut = (summary: ErasureSummary) => context.out.result(summary, () => formatSummary(summary));

  if (options.dryRun) {
    context.out.note(describePlan(plan, alsoAssemblyAi));
    summaryOut(dryRunSummary(plan, alsoAssemblyAi));
    return EXIT.ok;
  }
  if (!options.yes) {
    if (context.stdin.isTTY !== true) {
      throw new CliError(
        "erase asks for confirmation and there is no terminal to ask on: nothing was erased; check with " +
          "--dry-run, then pass --yes",
        EXIT.usage,
      );
    }
    context.prompt.write(`${describePlan(plan, alsoAssemblyAi)}\n`);
    const yes = await confirm(context.stdin, context.prompt, "This cannot be undone. Erase?");
    if (!yes) throw new CliError("not confirmed: nothing was erased");
  }

  // Read the key only when it is needed, and before anything is deleted: a missing key stops here.
  const deleteTranscript =
    dependencies.deleteTranscript ??
    (alsoAssemblyAi ? assemblyAiDeleter(await target.assemblyAi()) : undefined);
  const progress = context.out.progress("erasing");
  const summary = await executeErasure(target, plan, {
    alsoAssemblyAi,
    ...(deleteTranscript !== undefined ? { deleteTranscript } : {}),
    now: () => context.now(),
    onProgress: (done, total, detail) => progress.update(done, total, detail),
  });
  progress.done();

  const at = context.now();
  const published = await publishErased(target, summary, at);
  const failures = published.failure ? [...summary.failures, published.failure] : summary.failures;
  const final: ErasureSummary = { ...summary, event: published.event, failures };
  // One line per erasure, whatever the output format: who, when, what counts; never content.
  context.out.audit(auditLine(final, at, target));
  summaryOut(final);
  return final.failures.length > 0 ? EXIT.partial : EXIT.ok;
}

export function registerErase(program: Command, run: Runner): void {
  program
    .command("erase")
    .description(
      "erase a customer (or one order): its records, every version of its objects, its usage counters",
    )
    .requiredOption("--customer-id <id>", "the customer to erase", parseCustomerId)
    .option("--order-id <id>", "only this order", parseOrderId)
    .option("--dry-run", "list what would go, change nothing")
    .option("-y, --yes", "do not ask for confirmation (needed without a terminal)")
    .option("--also-assemblyai", "also delete each transcript at AssemblyAI (DELETE /v2/transcript/{id})")
    .addHelpText(
      "after",
      "\nEach erased order keeps a tombstone for 35 days, so a late webhook retry, a redrive or a replay is\n" +
        "dropped instead of stored again. Not found by key, so not erased: quarantined requests (by day),\n" +
        "claim checks in inbox/ (expire after 35 days), dead-letter messages, logs. Exit 3 when any\n" +
        "deletion failed (each is listed).",
    )
    .action((options: EraseOptions, command: Command) => run(command, (context) => erase(context, options)));
}
