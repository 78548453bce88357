/**
 * The source-address allowlist the receiver enforces (redacted audio hosts: ../shared/redacted-audio-hosts).
 * Parsed once at cold start (a bad entry is a ConfigurationError naming the variable; synth runs the same
 * parser on the allowedSourceIps setting), matched per request.
 */
import { BlockList, isIP } from "node:net";
import { ConfigurationError } from "../shared/env";

/** Addresses and CIDR ranges deliveries may come from; `undefined` allows every address. */
export type SourceIpAllowlist = BlockList | undefined;

/** `subject` names the list in messages: the variable at cold start, the setting at synth (lib/config.ts). */
export function parseSourceIpAllowlist(entries: readonly string[], subject: string): SourceIpAllowlist {
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = "", prefix, ...rest] = entry.split("/");
    const family = address.includes("%") ? 0 : isIP(address);
    const invalid = (why: string) => new ConfigurationError(`${subject} entry "${entry}" ${why}`);
    if (family === 0 || rest.length > 0) throw invalid("is not an IPv4 or IPv6 address or CIDR range");
    const type = family === 4 ? "ipv4" : "ipv6";
    if (prefix === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const maxPrefix = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > maxPrefix) {
      throw invalid(`has a prefix length outside 0 to ${maxPrefix}`);
    }
    list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

export function isSourceIpAllowed(allowlist: SourceIpAllowlist, sourceIp: string): boolean {
  if (allowlist === undefined) return true;
  const family = isIP(sourceIp);
  if (family === 0) return false;
  return allowlist.check(sourceIp, family === 4 ? "ipv4" : "ipv6");
}
