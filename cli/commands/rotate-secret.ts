/**
 * `rotate-secret`: a new webhook secret value with no moment at which a receiver refuses it or the old one.
 *
 * AssemblyAI treats a 401 as final, and each receiver instance caches the secret's stages for a TTL. So
 * the new value is first staged as AWSPENDING, which receivers accept beside AWSCURRENT and AWSPREVIOUS;
 * then the command waits until every instance can have re-read the secret; only then does it make the
 * value current (the old one becomes AWSPREVIOUS). Nobody can have sent the new value before that,
 * because it is only then that anyone is told to. The value is never printed.
 */
import {
  DescribeSecretCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import type { Command } from "commander";
import { SECRET_DEADLINE_MS, secretStagesSettleMs } from "../../functions/receiver/config";
import type { CommandContext } from "../context";
import { CliError, formatFields } from "../output";
import { generateSecretValue, promotionMoves, type StageMap, versionWith } from "../rotation";
import { SECRET_CACHE_TTL_OUTPUT_KEY, type StackTarget, updateLocalAuthHeaderValue } from "../stack";
import type { Runner } from "./runner";

/** How often the wait's progress is redrawn. */
const PROGRESS_TICK_MS = 1_000;

export interface RotationResult {
  readonly secret: string;
  /** The new value's version: AWSCURRENT (and AWSPENDING) now. */
  readonly version_id: string;
  /** The replaced value's version: AWSPREVIOUS now, accepted until the next rotation. */
  readonly previous_version_id: string;
  readonly cache_ttl_seconds: number;
  readonly waited_seconds: number;
  readonly next_steps: readonly string[];
}

function cacheTtlSeconds(target: StackTarget): number {
  const ttl = target.webhookSecretCacheTtlSeconds;
  if (ttl !== undefined) return ttl;
  throw new CliError(
    target.mode === "local"
      ? "the local stack's stack.json has no webhookSecretCacheTtlSeconds: restart it (npm start) with this version"
      : `${target.description} has no ${SECRET_CACHE_TTL_OUTPUT_KEY} output: its receiver predates staged rotation ` +
          "and would refuse the staged value; deploy this version first (npm run deploy)",
  );
}

async function stageMap(target: StackTarget): Promise<{ arn: string; stages: StageMap }> {
  const described = await target.secrets.send(
    new DescribeSecretCommand({ SecretId: target.webhookSecretId }),
  );
  return { arn: described.ARN ?? target.webhookSecretId, stages: described.VersionIdsToStages ?? {} };
}

function nextSteps(target: StackTarget, arn: string): string[] {
  const read =
    target.mode === "local"
      ? `the local stack's stack.json (authHeaderValue) holds it now`
      : `read it with: aws secretsmanager get-secret-value --secret-id ${arn} --query SecretString --output text`;
  return [
    `Submit new jobs with the new value (aai-webhooks submit uses it already; ${read}).`,
    "Jobs submitted with the old value keep delivering: the receivers accept it until the next rotation.",
    "Rotate again only once the jobs submitted with the old value have finished.",
  ];
}

async function rotateSecret(context: CommandContext): Promise<void> {
  const target = await context.target();
  const ttlSeconds = cacheTtlSeconds(target);
  const before = await stageMap(target);
  const current = versionWith(before.stages, "AWSCURRENT");
  if (current === undefined) throw new CliError(`secret ${before.arn} has no AWSCURRENT version`);
  const abandoned = versionWith(before.stages, "AWSPENDING");
  if (abandoned !== undefined && abandoned !== current) {
    context.out.warn(
      `replacing a value staged earlier but never made current (version ${abandoned}; an interrupted rotate-secret?)`,
    );
  }

  const value = generateSecretValue();
  const staged = await target.secrets.send(
    new PutSecretValueCommand({
      SecretId: target.webhookSecretId,
      SecretString: value,
      VersionStages: ["AWSPENDING"],
    }),
  );
  const stagedVersion = staged.VersionId;
  if (!stagedVersion) throw new CliError("Secrets Manager returned no version id for the staged value");

  const waitMs = secretStagesSettleMs(ttlSeconds * 1000);
  const waitSeconds = Math.ceil(waitMs / 1000);
  context.out.note(
    `Staged a new value for ${before.arn} as AWSPENDING (version ${stagedVersion}); receivers accept it from ` +
      `their next read of the secret.\nWaiting ${waitSeconds} s (their ${ttlSeconds} s cache, a read's ` +
      `${SECRET_DEADLINE_MS / 1000} s, one failed re-read's retry) before making it current. Ctrl-C leaves it ` +
      "staged and unused, which is harmless; run rotate-secret again to start over.",
  );
  const progress = context.out.progress("waiting for every receiver to load the new value (s)", waitSeconds);
  const startedAt = context.now().getTime();
  for (;;) {
    const elapsed = context.now().getTime() - startedAt;
    progress.update(Math.min(waitSeconds, Math.floor(elapsed / 1000)), waitSeconds);
    if (elapsed >= waitMs) break;
    await context.sleep(Math.min(PROGRESS_TICK_MS, waitMs - elapsed));
  }
  progress.done();

  // Read again: a raw put-secret-value may have moved AWSCURRENT meanwhile, another run AWSPENDING.
  const after = await stageMap(target);
  const replaced = versionWith(after.stages, "AWSCURRENT") as string;
  for (const move of promotionMoves(after.stages, stagedVersion)) {
    await target.secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: target.webhookSecretId,
        VersionStage: move.stage,
        MoveToVersionId: move.moveTo,
        ...(move.removeFrom ? { RemoveFromVersionId: move.removeFrom } : {}),
      }),
    );
  }
  if (target.localStateDir !== undefined) updateLocalAuthHeaderValue(target.localStateDir, value);

  const result: RotationResult = {
    secret: after.arn,
    version_id: stagedVersion,
    previous_version_id: replaced,
    cache_ttl_seconds: ttlSeconds,
    waited_seconds: waitSeconds,
    next_steps: nextSteps(target, after.arn),
  };
  context.out.result(result, () =>
    [
      formatFields([
        ["secret", result.secret],
        ["current", `version ${result.version_id} (the new value)`],
        ["previous", `version ${result.previous_version_id} (accepted until the next rotation)`],
        ["waited", `${result.waited_seconds} s`],
      ]),
      "",
      ...result.next_steps,
    ].join("\n"),
  );
}

export function registerRotateSecret(program: Command, run: Runner): void {
  program
    .command("rotate-secret")
    .description(
      "give the webhook secret a new value without any delivery getting a 401: stage it, wait until every " +
        "receiver accepts it, then make it current",
    )
    .addHelpText(
      "after",
      "\nSteps: the new value (48 letters and digits, never shown) is stored as AWSPENDING, which receivers\n" +
        "accept beside AWSCURRENT and AWSPREVIOUS; the command waits for the receivers' secret cache\n" +
        `(the stack's ${SECRET_CACHE_TTL_OUTPUT_KEY} output, 300 s by default) plus up to 12 s, then moves\n` +
        "AWSPREVIOUS to the current value and AWSCURRENT to the new one. Afterwards submit jobs with the new\n" +
        "value; jobs submitted with the old one keep delivering until the next rotation.\n" +
        "\nNeeds secretsmanager:DescribeSecret, PutSecretValue and UpdateSecretVersionStage on the secret\n" +
        "(and kms:GenerateDataKey on its key if it has a customer-managed one).\n" +
        "\nExamples:\n  aai-webhooks rotate-secret\n  aai-webhooks --local rotate-secret --json",
    )
    .action((_options: unknown, command: Command) => run(command, (context) => rotateSecret(context)));
}
