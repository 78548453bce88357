/**
 * The worker's and the reconciler's structured logs and CloudWatch metrics, through Powertools for AWS
 * Lambda: one `Logger` and one `Metrics` per function (each function is its own bundle), built at cold start
 * by `withTelemetry` in its handler, which also adds the Lambda context to every log line and publishes the
 * stored metrics after each invocation. `emit` writes one event as a log line, and its metrics as Embedded
 * Metric Format lines under `METRICS_NAMESPACE` and the `Stack` dimension. The receiver writes the same
 * shape with an emitter of its own, to keep within its code budget (functions/receiver/telemetry.ts).
 */
import { Logger, type LogItem } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { Context } from "aws-lambda";
import { ENV } from "./contract/environment";
import { dimensionSetsOf, type LogEvent, METRICS_NAMESPACE, STACK_DIMENSION } from "./log-event";

export {
  describeError,
  type LogEvent,
  METRICS_NAMESPACE,
  type Metric,
  type MetricUnit,
  STACK_DIMENSION,
} from "./log-event";

/** The service name of telemetry used outside a function's handler (tests, scripts). */
const DEFAULT_SERVICE_NAME = "assemblyai-webhooks";

/**
 * Powertools' Logger, writing every level to stdout. Powertools writes warnings and errors to stderr; on
 * Lambda both streams reach the same log, but the local stack and the tests read one stream, in order.
 */
class StdoutLogger extends Logger {
  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    process.stdout.write(`${JSON.stringify(log.getAttributes(), this.getJsonReplacer())}\n`);
  }
}

export interface Telemetry {
  readonly serviceName: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** A Metrics whose only default dimension is the stack. */
function stackMetrics(serviceName: string, logger: Logger): Metrics {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName, logger });
  // Powertools adds a `service` default dimension; our metrics are identified by the stack and their own
  // dimensions alone (the alarms and graphs select exactly those sets), and the log group names the function.
  metrics.clearDefaultDimensions();
  // STACK_NAME is validated by each function's config at cold start.
  metrics.setDefaultDimensions({ [STACK_DIMENSION]: process.env[ENV.stackName] || "unknown" });
  return metrics;
}

/**
 * A function's Logger and Metrics. The log level comes from the environment (`POWERTOOLS_LOG_LEVEL` or
 * `LOG_LEVEL`, else Lambda's own log level setting; INFO by default); the Lambda event is never logged.
 */
export function createTelemetry(serviceName: string): Telemetry {
  const logger = new StdoutLogger({ serviceName });
  return { serviceName, logger, metrics: stackMetrics(serviceName, logger) };
}

let current: Telemetry | undefined;
/** Invocations in progress (the local stack runs several at once in one environment). */
let invocations = 0;

function telemetry(): Telemetry {
  current ??= createTelemetry(process.env.POWERTOOLS_SERVICE_NAME || DEFAULT_SERVICE_NAME);
  return current;
}

function publishStored(metrics: Metrics): void {
  // Powertools warns on every publish with nothing stored, which most invocations have.
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}

/**
 * Builds the function's telemetry (call it at module scope: once per cold start) and wraps its handler:
 * each invocation adds the Lambda context (request id, cold start) to every log line, and publishes the
 * stored metrics when it ends, whether it returned or threw.
 */
export function withTelemetry<E, R>(
  serviceName: string,
  handler: (event: E, context?: Context) => Promise<R>,
): (event: E, context?: Context) => Promise<R> {
  const own = createTelemetry(serviceName);
  current = own;
  return async (event, context) => {
    if (context) own.logger.addContext(context);
    invocations++;
    try {
      return await handler(event, context);
    } finally {
      invocations--;
      publishStored(own.metrics);
    }
  };
}

/**
 * Writes the event as one log line at its level, and its metrics (whatever the log level) as EMF. Metrics
 * with no dimension but the stack are stored and published with the invocation's; metrics with dimensions
 * of their own are published at once, one EMF line per dimension set, as `metrics.singleMetric()` does:
 * EMF takes one value per dimension per line, and Powertools warns about a dimension shared by two sets.
 * `_now` is kept for the callers: Powertools stamps each line as it writes it.
 */
export function emit(event: LogEvent, _now?: number): void {
  const { serviceName, logger, metrics } = telemetry();
  logger[event.level ?? "info"](event.message, { ...event.fields, ...event.dimensions });

  const entries = Object.entries(event.metrics ?? {});
  if (entries.length === 0) return;
  const dimensions = event.dimensions ?? {};
  const sets = dimensionSetsOf(event);
  if (sets.every((set) => set.length === 0)) {
    for (const [name, metric] of entries) metrics.addMetric(name, metric.unit, metric.value);
    if (invocations === 0) publishStored(metrics);
    return;
  }
  for (const set of sets) {
    const eventMetrics = stackMetrics(serviceName, logger);
    if (set.length > 0) {
      eventMetrics.addDimensions(Object.fromEntries(set.map((name) => [name, dimensions[name] ?? ""])));
    }
    for (const [name, metric] of entries) eventMetrics.addMetric(name, metric.unit, metric.value);
    eventMetrics.publishStoredMetrics();
  }
}
