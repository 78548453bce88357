/**
 * The `aai-webhooks` program: global options, the commands, and one place that turns anything thrown into
 * a one-line error and an exit code. `main` takes its streams and environment so tests can drive it.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { Command, CommanderError, Option } from "commander";
import type { AssemblyAiRegion } from "../functions/shared/assemblyai";
import { registerDlq } from "./commands/dlq";
import { registerErase } from "./commands/erase";
import { registerEvents } from "./commands/events";
import { registerQuarantine } from "./commands/quarantine";
import { registerReconcile } from "./commands/reconcile";
import { registerRecordCommands } from "./commands/records";
import { registerReplay } from "./commands/replay";
import { registerRotateSecret } from "./commands/rotate-secret";
import type { Runner } from "./commands/runner";
import { registerSetApiKey } from "./commands/set-api-key";
import { registerStatus } from "./commands/status";
import { registerSubmit } from "./commands/submit";
import { registerUsage } from "./commands/usage";
import type { CommandContext, InputStream } from "./context";
import { CliError, describeError, EXIT, EXIT_CODES_HELP, Output, type TerminalStream } from "./output";
import {
  DEFAULT_STACK_NAME,
  PROJECT_ROOT,
  resolveTarget,
  type StackTarget,
  type TargetOptions,
} from "./stack";

export interface GlobalOptions {
  readonly local?: boolean;
  readonly stackName: string;
  readonly region?: string;
  readonly profile?: string;
  readonly assemblyaiRegion?: AssemblyAiRegion;
  readonly json?: boolean;
}

export interface CliIo {
  readonly stdout: TerminalStream;
  readonly stderr: TerminalStream;
  readonly stdin: InputStream;
  readonly env: NodeJS.ProcessEnv;
  /** Replaces stack resolution (tests). */
  readonly resolveTarget?: (options: TargetOptions, env: NodeJS.ProcessEnv) => Promise<StackTarget>;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

const HELP_EPILOGUE = `
Target: a deployed stack, found by name through CloudFormation (credentials from the standard AWS chain,
--profile, --region), or with --local the stack \`npm start\` runs (read from $LOCAL_STATE_DIR/stack.json).

Examples:
  aai-webhooks submit https://example.com/call.mp3 --customer-id acme --order-id o-1
  aai-webhooks get acme o-1
  aai-webhooks list acme --json
  aai-webhooks replay 5552493-16d8-42d8-8feb-c2a16b56f6e8
  aai-webhooks dlq list && aai-webhooks dlq redrive
  aai-webhooks rotate-secret
  aai-webhooks usage --since 30d --csv
  aai-webhooks erase --customer-id acme --dry-run
  aai-webhooks events dlq && aai-webhooks events redrive
  aai-webhooks --local status
  aai-webhooks --assemblyai-region eu set-api-key   (a stack with both regions: the EU key)

Environment:
  AWS_PROFILE, AWS_REGION     as for the AWS CLI (or --profile, --region)
  ASSEMBLYAI_API_KEY          use this key instead of the stack's API key secret
  ASSEMBLYAI_BASE_URL         another AssemblyAI endpoint (default from --assemblyai-region, else the
                              stack's AssemblyAiRegion output, else us)
  LOCAL_STATE_DIR             where the local stack's stack.json is (default .local)
  AAI_WEBHOOKS_DEBUG=1        print stack traces of unexpected errors

Results go to stdout (JSON with --json); progress bars, notes and errors to stderr.

${EXIT_CODES_HELP}`;

function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as {
      version?: string;
    };
    return manifest.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

export function targetOptions(globals: GlobalOptions): TargetOptions {
  return {
    ...(globals.local ? { local: true } : {}),
    stackName: globals.stackName,
    ...(globals.region ? { region: globals.region } : {}),
    ...(globals.profile ? { profile: globals.profile } : {}),
    ...(globals.assemblyaiRegion ? { assemblyaiRegion: globals.assemblyaiRegion } : {}),
  };
}

export function buildProgram(io: CliIo, run: Runner): Command {
  const program = new Command("aai-webhooks");
  program
    .description("Operate the AssemblyAI webhook receiver: submit jobs, read records, replay, drain the DLQ.")
    .version(packageVersion(), "-V, --version")
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride()
    .showHelpAfterError("(add --help for usage)")
    .addOption(new Option("--local", "use the local stack (npm start) instead of a deployed one"))
    .addOption(
      new Option("--stack-name <name>", "CloudFormation stack name")
        .env("AAI_WEBHOOKS_STACK")
        .default(DEFAULT_STACK_NAME),
    )
    .addOption(new Option("--region <region>", "AWS region of the stack").conflicts("local"))
    .addOption(new Option("--profile <profile>", "AWS named profile").conflicts("local"))
    .addOption(
      new Option(
        "--assemblyai-region <region>",
        "where the stack's AssemblyAI account is, and with both regions which one's key (default: the " +
          "stack's AssemblyAiRegion output, its first region, else us)",
      ).choices(["us", "eu"]),
    )
    .addOption(new Option("--json", "print results as JSON (for scripts)"))
    .addHelpText("after", HELP_EPILOGUE);

  registerSubmit(program, run);
  registerRecordCommands(program, run);
  registerReplay(program, run);
  registerDlq(program, run);
  registerQuarantine(program, run);
  registerStatus(program, run);
  registerSetApiKey(program, run);
  registerRotateSecret(program, run);
  registerReconcile(program, run);
  registerUsage(program, run);
  registerEvents(program, run);
  registerErase(program, run);
  for (const command of program.commands) command.addHelpText("after", `\n${EXIT_CODES_HELP}`);
  return program;
}

/** Runs the CLI; resolves with the exit code (the caller sets it, so output is flushed before exit). */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const run: Runner = async (command, body) => {
    const globals = command.optsWithGlobals() as GlobalOptions;
    const out = new Output(globals.json === true, io.stdout, io.stderr);
    let target: Promise<StackTarget> | undefined;
    const context: CommandContext = {
      out,
      env: io.env,
      stdin: io.stdin,
      prompt: io.stderr,
      now: io.now ?? (() => new Date()),
      sleep: io.sleep ?? ((ms) => delay(ms)),
      target: () => {
        target ??= (io.resolveTarget ?? resolveTarget)(targetOptions(globals), io.env);
        return target;
      },
    };
    try {
      exitCode = (await body(context)) ?? EXIT.ok;
    } catch (error) {
      const described = describeError(error, { local: globals.local === true });
      out.error(described.message);
      if (io.env.AAI_WEBHOOKS_DEBUG && error instanceof Error && !(error instanceof CliError)) {
        io.stderr.write(`${error.stack ?? error.message}\n`);
      }
      exitCode = described.exitCode;
    } finally {
      if (target !== undefined) {
        await target.then(
          (resolved) => resolved.close(),
          () => undefined,
        );
      }
    }
  };
  const program = buildProgram(io, run);
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw error;
  }
  return exitCode;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr as Writable & { isTTY?: boolean },
    stdin: process.stdin,
    env: process.env,
  };
}
