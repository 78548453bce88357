/** `usage [--since 30d] [--customer-id C] [--csv]`: audio hours and transcript counts per customer. */
import { type Command, InvalidArgumentError } from "commander";
import { parseCustomerId, parseSince } from "../args";
import type { CommandContext } from "../context";
import { CliError, EXIT } from "../output";
import {
  aggregateUsage,
  dayOf,
  formatUsageCsv,
  formatUsageTable,
  type ReadCost,
  readUsageDays,
} from "../usage";
import type { Runner } from "./runner";

interface UsageOptions {
  readonly since: string;
  readonly customerId?: string;
  readonly csv?: boolean;
}

async function usage(context: CommandContext, options: UsageOptions): Promise<void> {
  let since: Date;
  try {
    since = parseSince(options.since, context.now());
  } catch (error) {
    if (error instanceof InvalidArgumentError) {
      throw new CliError(`--since ${options.since} ${error.message}`, EXIT.usage);
    }
    throw error;
  }
  if (options.csv && context.out.json) throw new CliError("--csv and --json: choose one", EXIT.usage);
  const target = await context.target();
  const sinceDay = dayOf(since);
  const cost: ReadCost = { requests: 0, itemsRead: 0 };
  const days = await readUsageDays(target, sinceDay, options.customerId, cost);
  const report = aggregateUsage(days, sinceDay);
  if (options.csv) {
    context.out.result(undefined, () => formatUsageCsv(report));
    return;
  }
  context.out.result({ ...report, read: { requests: cost.requests, items: cost.itemsRead } }, () =>
    formatUsageTable(report),
  );
}

export function registerUsage(program: Command, run: Runner): void {
  program
    .command("usage")
    .description(
      "audio hours and transcript counts per customer, from the usage counters the worker keeps per day",
    )
    .option(
      "--since <when>",
      "from this day on (UTC): a duration (30d, 1w) or a date (2026-11-01); the whole day counts",
      "30d",
    )
    .option("--customer-id <id>", "only this customer (one Query of its days)", parseCustomerId)
    .option("--csv", "print CSV (one line per customer, no totals) instead of the table")
    .addHelpText(
      "after",
      "\nCounted: each transcript stored as completed, by its audio_duration, on the day it was stored (a\n" +
        "newer transcript replacing a stored one counts too); streaming sessions apart, by duration_ms.\n" +
        "Duplicates and replays of a stored transcript never count. --json adds what the call read.",
    )
    .action((options: UsageOptions, command: Command) => run(command, (context) => usage(context, options)));
}
