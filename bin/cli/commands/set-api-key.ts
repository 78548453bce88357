/** `set-api-key`: store the AssemblyAI API key in the stack's secret, read without echo and never printed. */
import { PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import type { Command } from "commander";
import { API_KEY_PLACEHOLDER_PREFIX, DEFAULT_SECRET_CACHE_TTL_SECONDS } from "../../../functions/shared/env";
import type { CommandContext } from "../context";
import { CliError, EXIT, formatFields } from "../output";
import { readSecretValue } from "../secret-input";
import type { Runner } from "./runner";

async function setApiKey(context: CommandContext): Promise<void> {
  const target = await context.target();
  const apiKey = await readSecretValue(context.stdin, process.stderr, "AssemblyAI API key (not shown): ");
  if (apiKey.startsWith(API_KEY_PLACEHOLDER_PREFIX)) {
    throw new CliError(
      `a key starting with ${API_KEY_PLACEHOLDER_PREFIX} is the placeholder the worker waits on`,
      EXIT.usage,
    );
  }
  const stored = await target.secrets.send(
    new PutSecretValueCommand({ SecretId: target.apiKeySecretId, SecretString: apiKey }),
  );
  const result = { secret: stored.ARN ?? target.apiKeySecretId, version_id: stored.VersionId ?? null };
  context.out.result(result, () =>
    formatFields([
      ["stored in", result.secret],
      ["version", result.version_id],
      [
        "note",
        `the worker reads it again within ${DEFAULT_SECRET_CACHE_TTL_SECONDS / 60} minutes; then replay any fetch_failed records`,
      ],
    ]),
  );
}

export function registerSetApiKey(program: Command, run: Runner): void {
  program
    .command("set-api-key")
    .description(
      "store the AssemblyAI API key in the stack's secret (prompted without echo, or piped on stdin)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  aai-webhooks set-api-key                      # prompts, nothing is shown\n" +
        '  printf %s "$AAI_KEY" | aai-webhooks set-api-key',
    )
    .action((_options: unknown, command: Command) => run(command, (context) => setApiKey(context)));
}
