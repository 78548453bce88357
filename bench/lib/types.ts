/** The shapes shared by the sections, the report and bench/results.json. */

export type Verdict = "met" | "MISSED" | "";

/** One line of the table: our figure, the baseline measured in the same run, and their ratio. */
export interface Row {
  readonly section: string;
  readonly metric: string;
  readonly ours: string;
  readonly baseline: string;
  readonly ratio: string;
  readonly target: string;
  readonly verdict: Verdict;
}

export interface SectionResult {
  readonly rows: Row[];
  /** Raw figures for results.json. */
  readonly data: Record<string, unknown>;
  /** Notes printed under the table (method, caveats, why a target was missed). */
  readonly notes: string[];
}

export interface BenchOptions {
  readonly only: readonly SectionName[];
  readonly runs: number;
  readonly deliveries: number;
  readonly rate: number;
  readonly pipelineRuns: number;
  readonly warmIterations: number;
  readonly syncRuns: number;
  readonly largeRuns: number;
  readonly workDir: string;
}

export const SECTIONS = ["cold-start", "receiver", "pipeline", "sync", "large", "customers", "cost"] as const;
export type SectionName = (typeof SECTIONS)[number];

export function ms(value: number, digits = 1): string {
  return Number.isFinite(value) ? `${value.toFixed(digits)} ms` : "n/a";
}

export function x(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return `${value.toFixed(value < 0.1 ? 4 : 2)}x`;
}

export function kb(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(0)} KB` : "n/a";
}

export function mb(kilobytes: number): string {
  return Number.isFinite(kilobytes) ? `${(kilobytes / 1024).toFixed(0)} MB` : "n/a";
}

export function usd(value: number): string {
  return Number.isFinite(value) ? `$${value.toFixed(2)}` : "n/a";
}
