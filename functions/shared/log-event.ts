/**
 * What a function logs and measures, apart from how it is written: the event shape, the metrics' namespace
 * and stack dimension, and error descriptions. No dependency, so the receiver's own emitter
 * (functions/receiver/telemetry.ts) shares it without bundling Powertools.
 */

export const METRICS_NAMESPACE = "AssemblyAIWebhooks";

/**
 * Every metric carries the stack it came from, so two stacks in one account and region (staging and prod)
 * never write the same metric, and each stack's alarms select only their own.
 */
export const STACK_DIMENSION = "Stack";

export type MetricUnit = "Count" | "Milliseconds" | "Bytes";

export interface Metric {
  readonly value: number;
  readonly unit: MetricUnit;
}

export interface LogEvent {
  readonly level?: "info" | "warn" | "error";
  readonly message: string;
  /** Metric name to value; emitted under the given dimensions. */
  readonly metrics?: Readonly<Record<string, Metric>>;
  /** Low-cardinality values metrics are split by (for example `Outcome`, `Reason`). */
  readonly dimensions?: Readonly<Record<string, string>>;
  /**
   * Which combinations of the dimensions CloudWatch aggregates by; each becomes its own metric, so an alarm
   * can watch `Outcome=failed` across every `Reason`. @default one set of all the dimensions
   */
  readonly dimensionSets?: ReadonlyArray<ReadonlyArray<string>>;
  /** Anything else worth searching for: ids, latencies, error detail. Never secrets. */
  readonly fields?: Readonly<Record<string, unknown>>;
}

/** The dimension sets an event's metrics are written under (the stack is added to each). */
export function dimensionSetsOf(event: LogEvent): ReadonlyArray<ReadonlyArray<string>> {
  return event.dimensionSets ?? [Object.keys(event.dimensions ?? {})];
}

/** The message of an unknown thrown value, for logs; never includes request data. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
