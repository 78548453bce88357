/**
 * Which redacted audio URLs may be downloaded: checked by the receiver before it queues a delivery and again
 * by the worker before it fetches one, so that nothing on the queue can make the worker fetch an arbitrary
 * URL. Rules come from REDACTED_AUDIO_HOSTS, parsed once at cold start (and at synth, by the same parser,
 * from the redactedAudioHosts setting).
 */

import { ConfigurationError } from "./env";

/**
 * A redacted audio host rule: an exact host, `*.suffix` (any host under the suffix, not the suffix itself),
 * either optionally with `:port` (https on that port; without one, the default port only), or a full origin
 * such as `http://127.0.0.1:4010` (scheme, host and port must all match). Only an origin rule can allow
 * plain http, so the local stack can name its simulator without loosening production.
 */
export type HostRule =
  | { readonly type: "host"; readonly host: string; readonly port: string }
  | { readonly type: "suffix"; readonly suffix: string; readonly port: string }
  | { readonly type: "origin"; readonly origin: string };

const HOST_NAME = /^[a-z0-9-]+(\.[a-z0-9-]+)*$/;
const HOST_PATTERN = /^(\*\.)?([^:]+)(?::(\d{1,5}))?$/;

/** `subject` names the list in messages: the variable at cold start, the setting at synth (lib/config.ts). */
export function parseHostRules(entries: readonly string[], subject: string): HostRule[] {
  if (entries.length === 0) {
    // No host at all would turn every redacted-audio delivery into a final 400: refuse to start instead.
    throw new ConfigurationError(`${subject} must name at least one host`);
  }
  return entries.map((entry) => parseHostRule(entry, subject));
}

function parseHostRule(entry: string, subject: string): HostRule {
  const invalid = (why: string) => new ConfigurationError(`${subject} entry "${entry}" ${why}`);
  if (entry.includes("://")) {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw invalid("is not a valid origin");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:")
      throw invalid("must be an http or https origin");
    if (url.username || url.password || url.pathname !== "/" || url.search || url.hash) {
      throw invalid("must be an origin only (scheme, host and optional port)");
    }
    return { type: "origin", origin: url.origin };
  }
  const [, wildcard, name = "", portText] = HOST_PATTERN.exec(entry.toLowerCase()) ?? [];
  if (!HOST_NAME.test(name)) throw invalid("is not a host name, *.suffix pattern or origin");
  const portNumber = portText === undefined ? 443 : Number(portText);
  if (portNumber < 1 || portNumber > 65_535) throw invalid("has a port outside 1 to 65535");
  const port = portNumber === 443 ? "" : String(portNumber);
  return wildcard ? { type: "suffix", suffix: name, port } : { type: "host", host: name, port };
}

/** Why a redacted audio URL is not acceptable, or undefined when it is. Never echoes the URL (it is presigned). */
export function redactedAudioUrlProblem(raw: string, rules: readonly HostRule[]): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "is not a valid URL";
  }
  if (url.username || url.password) return "must not contain credentials";
  if (rules.some((rule) => rule.type === "origin" && rule.origin === url.origin)) return undefined;
  if (url.protocol !== "https:") return "must use https";
  // URL normalises the port: "" for 443, otherwise the number, as host rules store it.
  const host = url.hostname.toLowerCase();
  const allowed = rules.some(
    (rule) =>
      (rule.type === "host" && rule.host === host && rule.port === url.port) ||
      (rule.type === "suffix" && host.endsWith(`.${rule.suffix}`) && rule.port === url.port),
  );
  return allowed ? undefined : "is not on an allowed host and port";
}
