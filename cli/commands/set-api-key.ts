/**
 * `set-api-key`: store the AssemblyAI API key in the stack's secret, read without echo and never printed.
 *
 * A wrong key is worse than none: the worker would fetch every transcript with it and store each as a final
 * `fetch_failed`. So the new key is first checked against the stack's AssemblyAI API (one list request),
 * and a key already in the secret is only replaced with `--force` or a confirmation on the terminal.
 */
import { PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import type { Command } from "commander";
import {
  API_KEY_PLACEHOLDER_PREFIX,
  DEFAULT_SECRET_CACHE_TTL_SECONDS,
} from "../../functions/shared/contract/environment";
import { readApiKey } from "../../functions/shared/secrets";
import type { CommandContext } from "../context";
import { CliError, EXIT, formatFields } from "../output";
import { confirm, readSecretValue } from "../secret-input";
import type { StackTarget } from "../stack";
import type { Runner } from "./runner";

/** How long the key check may take before it counts as "AssemblyAI unreachable". */
export const VERIFY_TIMEOUT_MS = 15_000;

export interface SetApiKeyOptions {
  /** Check the key against AssemblyAI first (`--no-verify` skips the check). */
  readonly verify: boolean;
  /** Replace a key the secret already holds without asking. */
  readonly force: boolean;
}

/** What AssemblyAI made of a key. */
export type KeyCheck =
  | { readonly outcome: "valid" }
  | { readonly outcome: "rejected"; readonly status: number }
  | { readonly outcome: "unverified"; readonly reason: string };

/** The cause of a failed fetch as a short phrase (`ECONNREFUSED`, `timed out after 15 s`); never the key. */
function fetchFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return `timed out after ${timeoutMs / 1000} s`;
  }
  for (let current: unknown = error, depth = 0; current && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.message.split("\n")[0] || error.name : String(error);
}

/**
 * One `GET /v2/transcript?limit=1` with the key, the cheapest authenticated request: 2xx means the key
 * works, 401/403 that AssemblyAI refuses it, anything else (or no answer) that the check could not tell.
 */
export async function checkApiKey(
  baseUrl: string,
  apiKey: string,
  timeoutMs = VERIFY_TIMEOUT_MS,
): Promise<KeyCheck> {
  // Appended, not resolved: a base URL with a path (the simulator's EU region, `…/eu`) keeps it.
  const url = new URL(`${baseUrl.replace(/\/+$/, "")}/v2/transcript`);
  url.searchParams.set("limit", "1");
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: apiKey, accept: "application/json" },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return { outcome: "unverified", reason: fetchFailure(error, timeoutMs) };
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.ok) return { outcome: "valid" };
  if (response.status === 401 || response.status === 403) {
    return { outcome: "rejected", status: response.status };
  }
  return { outcome: "unverified", reason: `HTTP ${response.status}` };
}

/** What the secret holds now: a key (not the placeholder), or whether it could not be read. */
type CurrentKey =
  | { readonly state: "none" }
  | { readonly state: "key"; readonly value: string }
  | { readonly state: "unreadable"; readonly reason: string };

async function currentKey(target: StackTarget): Promise<CurrentKey> {
  let value: string | undefined;
  try {
    // A secret without a value (as the stack creates it) reads as the placeholder; a missing secret too,
    // and then PutSecretValue below fails with Secrets Manager's own message.
    value = (await readApiKey(target.secrets, target.apiKeySecretId))?.trim();
  } catch (error) {
    // A role that may write the secret but not read it: treat the secret as holding a key.
    const reason = error instanceof Error ? error.name || error.message : String(error);
    return { state: "unreadable", reason };
  }
  if (!value || value.startsWith(API_KEY_PLACEHOLDER_PREFIX)) return { state: "none" };
  return { state: "key", value };
}

async function setApiKey(context: CommandContext, options: SetApiKeyOptions): Promise<void> {
  const target = await context.target();
  const apiKey = await readSecretValue(context.stdin, context.prompt, "AssemblyAI API key (not shown): ");
  if (apiKey.startsWith(API_KEY_PLACEHOLDER_PREFIX)) {
    throw new CliError(
      `a key starting with ${API_KEY_PLACEHOLDER_PREFIX} is the placeholder the worker waits on`,
      EXIT.usage,
    );
  }

  const current = await currentKey(target);
  const replacing = current.state === "unreadable" || (current.state === "key" && current.value !== apiKey);
  const holds =
    current.state === "unreadable"
      ? `may already hold an API key (reading it failed: ${current.reason})`
      : "already holds an API key";
  if (replacing && !options.force && context.stdin.isTTY !== true) {
    throw new CliError(
      `secret ${target.apiKeySecretId} ${holds}: pass --force to replace it; nothing was stored`,
    );
  }

  if (options.verify) {
    const check = await checkApiKey(target.assemblyAiBaseUrl, apiKey);
    if (check.outcome === "rejected") {
      throw new CliError(
        `AssemblyAI at ${target.assemblyAiBaseUrl} rejected the key (HTTP ${check.status}): ` +
          "check it for typos and that it is for this region (--assemblyai-region); nothing was stored",
      );
    }
    if (check.outcome === "unverified") {
      throw new CliError(
        `could not check the key against AssemblyAI at ${target.assemblyAiBaseUrl} (${check.reason}): ` +
          "nothing was stored; try again, or pass --no-verify to store it unchecked",
      );
    }
  } else {
    context.out.warn("the key was not checked against AssemblyAI (--no-verify)");
  }

  if (replacing && !options.force) {
    const yes = await confirm(
      context.stdin,
      context.prompt,
      `Secret ${target.apiKeySecretId} ${holds}. Replace it?`,
    );
    if (!yes) throw new CliError("not confirmed: nothing was stored");
  }

  const stored = await target.secrets.send(
    new PutSecretValueCommand({ SecretId: target.apiKeySecretId, SecretString: apiKey }),
  );
  const result = {
    secret: stored.ARN ?? target.apiKeySecretId,
    version_id: stored.VersionId ?? null,
    verified: options.verify,
    replaced: replacing,
  };
  context.out.result(result, () =>
    formatFields([
      ["stored in", result.secret],
      ["version", result.version_id],
      ["checked", options.verify ? `accepted by ${target.assemblyAiBaseUrl}` : "no (--no-verify)"],
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
      "store the AssemblyAI API key in the stack's secret (prompted without echo, or piped on stdin), " +
        "after checking that AssemblyAI accepts it",
    )
    .option("--no-verify", "store the key without checking it against AssemblyAI (e.g. when unreachable)")
    .option(
      "-f, --force",
      "replace a key the secret already holds without asking (the only way to when stdin is not a terminal)",
    )
    .addHelpText(
      "after",
      "\nThe key is checked with one request to the stack's AssemblyAI API (GET /v2/transcript?limit=1):\n" +
        "a key AssemblyAI refuses (401/403) is never stored; if AssemblyAI cannot be reached, nothing is\n" +
        "stored unless --no-verify. A key already in the secret is replaced only after a confirmation on\n" +
        "the terminal, or with --force.\n" +
        "\nExamples:\n  aai-webhooks set-api-key                      # prompts, nothing is shown\n" +
        '  printf %s "$AAI_KEY" | aai-webhooks set-api-key --force',
    )
    .action((options: { verify?: boolean; force?: boolean }, command: Command) =>
      run(command, (context) =>
        setApiKey(context, { verify: options.verify !== false, force: options.force === true }),
      ),
    );
}
