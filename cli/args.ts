/**
 * Argument parsers for commander: each returns the parsed value or throws commander's InvalidArgumentError,
 * which commander reports as a usage error (exit 2) naming the argument.
 */
import { InvalidArgumentError } from "commander";
import { metadataIdProblem, TRANSCRIPT_ID_PATTERN } from "../functions/shared/contract/delivery";

/** `--customer-id` and `<customer_id>`: the rule the receiver applies to the webhook URL (non-empty, fits a key). */
export function parseCustomerId(value: string): string {
  const problem = metadataIdProblem("customer_id", value);
  if (problem !== undefined) throw new InvalidArgumentError(problem.replace("query parameter ", ""));
  return value;
}

/** `--order-id` and `<order_id>`: as parseCustomerId, within the sort key's limit. */
export function parseOrderId(value: string): string {
  const problem = metadataIdProblem("order_id", value);
  if (problem !== undefined) throw new InvalidArgumentError(problem.replace("query parameter ", ""));
  return value;
}

export function parseTranscriptId(value: string): string {
  if (!TRANSCRIPT_ID_PATTERN.test(value)) {
    throw new InvalidArgumentError("a transcript id is 1 to 128 letters, digits or dashes");
  }
  return value;
}

/** For variadic arguments: commander passes the previous values along. */
export function collectTranscriptIds(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), parseTranscriptId(value)];
}

export function parsePositiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError("must be a whole number of at least 1");
  }
  return Number(value);
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** The earliest `--since` accepted: nothing this stack stores or AssemblyAI lists is older. */
export const EARLIEST_SINCE = new Date("2000-01-01T00:00:00.000Z");

/**
 * `--since`: an ISO-8601 date or instant (`2026-11-01`, `2026-11-01T12:00:00Z`) or a duration back from now
 * (`30m`, `6h`, `2d`, `1w`). Never in the future, never before 2000-01-01 (a duration like `300000w` would
 * otherwise reach back to 3700 BC, or past what a Date can hold).
 */
export function parseSince(value: string, now: Date = new Date()): Date {
  const since = parseSinceValue(value, now);
  const millis = since.getTime();
  if (!Number.isFinite(millis) || millis < EARLIEST_SINCE.getTime()) {
    throw new InvalidArgumentError("is before 2000-01-01: give a later date or a shorter duration");
  }
  if (millis > now.getTime()) throw new InvalidArgumentError("is in the future");
  return since;
}

function parseSinceValue(value: string, now: Date): Date {
  const relative = /^(\d+)\s*([mhdw])$/.exec(value.trim());
  if (relative) {
    const [, amount, unit] = relative;
    return new Date(now.getTime() - Number(amount) * (DURATION_UNITS[unit as string] ?? Number.NaN));
  }
  const date = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (date) {
    const [year, month, day] = date.slice(1).map(Number) as [number, number, number];
    // Date.parse rolls 2026-02-30 over into March; a calendar date that does not exist is a typo.
    const calendar = new Date(Date.UTC(year, month - 1, day));
    const millis = Date.parse(value);
    if (Number.isFinite(millis) && calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day) {
      return new Date(millis);
    }
  }
  throw new InvalidArgumentError(
    "expected an ISO-8601 date/time (2026-11-01T12:00:00Z) or a duration (30m, 6h, 2d, 1w)",
  );
}

/** `--param name=value`, repeatable: extra query parameters on the webhook URL (kept in `metadata`). */
export function collectParam(
  value: string,
  previous: Record<string, string> | undefined,
): Record<string, string> {
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError("expected name=value");
  const name = value.slice(0, at);
  if (name === "customer_id" || name === "order_id") {
    throw new InvalidArgumentError(`use --${name.replace("_", "-")} for ${name}`);
  }
  if (name.length > 64) throw new InvalidArgumentError("a parameter name is at most 64 characters");
  const paramValue = value.slice(at + 1);
  if (paramValue.length > 1024)
    throw new InvalidArgumentError("a parameter value is at most 1024 characters");
  return { ...(previous ?? {}), [name]: paramValue };
}

export type AudioSource =
  | { readonly kind: "url"; readonly url: string }
  | { readonly kind: "file"; readonly path: string };

/** An http(s) URL is given to AssemblyAI as is; anything else is a local file to upload (`file:` accepted). */
export function parseAudioSource(value: string): AudioSource {
  if (/^https?:\/\//i.test(value)) {
    try {
      return { kind: "url", url: new URL(value).toString() };
    } catch {
      throw new InvalidArgumentError("is not a valid URL");
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !value.startsWith("file://")) {
    throw new InvalidArgumentError("only http(s) URLs or local files are accepted");
  }
  const path = value.startsWith("file://") ? value.slice("file://".length) : value;
  if (path.length === 0) throw new InvalidArgumentError("is empty");
  return { kind: "file", path };
}
