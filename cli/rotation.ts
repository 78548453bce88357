/**
 * The webhook secret's rotation as data: a new value, where the staging labels are, and the label moves
 * that promote a staged version so that a receiver reading the three stages in parallel, at any moment
 * in between, always gets both the new value and the one it replaces.
 */
import { randomInt } from "node:crypto";
import { CliError } from "./output";

/** Letters and digits, as the stack generates it: it travels in an HTTP header and is pasted into shells. */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export const SECRET_LENGTH = 48;

export function generateSecretValue(length = SECRET_LENGTH): string {
  let value = "";
  for (let index = 0; index < length; index += 1) value += ALPHABET[randomInt(ALPHABET.length)];
  return value;
}

export type StageMap = Readonly<Record<string, readonly string[] | undefined>>;

/** One UpdateSecretVersionStage call. */
export interface StageMove {
  readonly stage: "AWSCURRENT" | "AWSPREVIOUS";
  readonly moveTo: string;
  readonly removeFrom?: string;
}

/** The version a staging label is on, if any. */
export function versionWith(stages: StageMap, stage: string): string | undefined {
  return Object.keys(stages).find((id) => stages[id]?.includes(stage));
}

/**
 * The moves that make `staged` current. AWSPREVIOUS goes to the current version first, while AWSCURRENT
 * still holds it; then AWSCURRENT moves to the staged version, which keeps AWSPENDING. Each move changes
 * one label and leaves the other two where a concurrent read finds the two values that matter, whereas
 * moving AWSCURRENT alone also moves AWSPREVIOUS in the same instant, and a read that saw AWSCURRENT
 * after it and AWSPREVIOUS before it would miss the replaced value for a whole cache TTL.
 */
export function promotionMoves(stages: StageMap, staged: string): StageMove[] {
  const current = versionWith(stages, "AWSCURRENT");
  if (current === undefined) throw new CliError("the webhook secret has no AWSCURRENT version");
  if (versionWith(stages, "AWSPENDING") !== staged) {
    throw new CliError(
      "the value this run staged is no longer AWSPENDING (another rotate-secret staged its own while this " +
        "one waited?): nothing was promoted; the other run promotes its value",
    );
  }
  if (current === staged) return [];
  const previous = versionWith(stages, "AWSPREVIOUS");
  const moves: StageMove[] = [];
  if (previous !== current) {
    moves.push({ stage: "AWSPREVIOUS", moveTo: current, ...(previous ? { removeFrom: previous } : {}) });
  }
  // AWSPENDING stays on the new current version: harmless (the same value), and the next rotation's
  // staging moves it off, while AWSCURRENT stays put.
  moves.push({ stage: "AWSCURRENT", moveTo: staged, removeFrom: current });
  return moves;
}
