/**
 * Which AssemblyAI region a delivery's transcript is fetched from, and in what order the others are tried
 * after a 404 (a transcript lives in the region it was submitted to; the id does not say which). Pure.
 */
import {
  type AssemblyAiRegion,
  isAssemblyAiRegion,
  REGION_PARAMETER,
  regionOfSourceIp,
} from "../shared/assemblyai";
import type { ParamValue } from "../shared/contract/delivery";

/** What told the worker where to look first. */
export type RegionSignal = "aai_region" | "source_ip" | "default";

export interface RegionChoice {
  /** The configured regions, the chosen one first, then the others in configured order. */
  readonly order: readonly [AssemblyAiRegion, ...AssemblyAiRegion[]];
  readonly signal: RegionSignal;
}

export interface DeliveryOrigin {
  /** The webhook URL's query parameters (the record's metadata). */
  readonly params: Readonly<Record<string, ParamValue>>;
  /** Where the delivery came from: the receiver's `source_ip` (empty for the reconciler and replay). */
  readonly sourceIp?: string | undefined;
}

/**
 * The region order for one delivery: the webhook URL's `aai_region` (`us` or `eu`, any case) when it names a
 * configured region; else the region whose published source address the delivery came from; else the first
 * configured region. An `aai_region` that names no configured region, or is given twice with different
 * values, is not a signal.
 */
export function chooseRegions(
  configured: readonly [AssemblyAiRegion, ...AssemblyAiRegion[]],
  origin: DeliveryOrigin,
): RegionChoice {
  const fromParameter = regionParameter(origin.params[REGION_PARAMETER]);
  if (fromParameter !== undefined && configured.includes(fromParameter)) {
    return { order: first(configured, fromParameter), signal: "aai_region" };
  }
  const fromSource = regionOfSourceIp(origin.sourceIp);
  if (fromSource !== undefined && configured.includes(fromSource)) {
    return { order: first(configured, fromSource), signal: "source_ip" };
  }
  return { order: configured, signal: "default" };
}

function regionParameter(value: ParamValue | undefined): AssemblyAiRegion | undefined {
  if (value === undefined) return undefined;
  const values = [
    ...new Set((typeof value === "string" ? [value] : value).map((v) => v.trim().toLowerCase())),
  ];
  const [only] = values;
  return values.length === 1 && only !== undefined && isAssemblyAiRegion(only) ? only : undefined;
}

function first(
  configured: readonly AssemblyAiRegion[],
  region: AssemblyAiRegion,
): [AssemblyAiRegion, ...AssemblyAiRegion[]] {
  return [region, ...configured.filter((other) => other !== region)];
}

/**
 * Whether a fetch's answer sends the worker on to the next configured region: a 404 (not in this region;
 * in the last region it is final). Anything else is that region's answer, stored, retried or final.
 */
export function triesNextRegion(result: { readonly type: string; readonly status?: number }): boolean {
  return result.type === "http_error" && result.status === 404;
}
