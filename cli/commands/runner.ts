/** The shape of a command body and of the runner that gives it a context and maps its failures (program.ts). */
import type { Command } from "commander";
import type { CommandContext } from "../context";
import type { ExitCode } from "../output";

/** A command resolves with its exit code, or with nothing for success. */
// biome-ignore lint/suspicious/noConfusingVoidType: lets commands that only succeed stay `Promise<void>`
export type CommandBody = (context: CommandContext) => Promise<ExitCode | undefined | void>;

export type Runner = (command: Command, body: CommandBody) => Promise<void>;
