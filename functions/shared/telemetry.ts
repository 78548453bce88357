/**
 * Structured logs and CloudWatch metrics in one line: each call writes a single JSON object to stdout that
 * is a searchable log event (Logs Insights discovers its fields) and, when it names metrics, an Embedded
 * Metric Format record CloudWatch turns into metrics. No SDK, no agent, no extra bundle weight.
 */
import { ENV } from "./contract/environment";

export const METRICS_NAMESPACE = "AssemblyAIWebhooks";

/**
 * Every metric carries the stack it came from, so two stacks in one account and region (staging and prod)
 * never write the same metric, and each stack's alarms select only their own.
 */
export const STACK_DIMENSION = "Stack";

/** The stack name (STACK_NAME, validated by each function's config at cold start). */
function stackName(): string {
  return process.env[ENV.stackName] || "unknown";
}

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

export type Writer = (line: string) => void;

let writer: Writer = (line) => {
  process.stdout.write(`${line}\n`);
};

/** Tests and the local stack redirect output here; returns the previous writer. */
export function setWriter(next: Writer): Writer {
  const previous = writer;
  writer = next;
  return previous;
}

export function emit(event: LogEvent, now: number = Date.now()): void {
  const record: Record<string, unknown> = {
    level: event.level ?? "info",
    message: event.message,
    timestamp: new Date(now).toISOString(),
    ...event.fields,
    [STACK_DIMENSION]: stackName(),
    ...event.dimensions,
  };
  const metrics = event.metrics ? Object.entries(event.metrics) : [];
  if (metrics.length > 0) {
    for (const [name, metric] of metrics) record[name] = metric.value;
    record._aws = {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: (event.dimensionSets ?? [Object.keys(event.dimensions ?? {})]).map((set) => [
            STACK_DIMENSION,
            ...set,
          ]),
          Metrics: metrics.map(([name, metric]) => ({ Name: name, Unit: metric.unit })),
        },
      ],
    };
  }
  writer(JSON.stringify(record));
}

/** The message of an unknown thrown value, for logs; never includes request data. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
