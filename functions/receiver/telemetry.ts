/**
 * The receiver's logs and metrics, written without Powertools in the same shape as Powertools writes the
 * worker's and the reconciler's (functions/shared/telemetry.ts): a log line with Powertools' keys and the
 * Lambda context, and one Embedded Metric Format line per dimension set.
 *
 * Why not Powertools here: the receiver's budget is 400 KB of code and a cold start to first answer of at
 * most 0.75x the CDK-default bundle's (`npm run bench -- --only cold-start`). With Powertools' Logger and
 * Metrics it measured 407 KB and 0.74x to 0.77x (main at 2e8a24f, three runs); with this emitter 376 KB
 * and 0.68x to 0.74x.
 */
import type { Context } from "aws-lambda";
import { ENV } from "../shared/contract/environment";
import { dimensionSetsOf, type LogEvent, METRICS_NAMESPACE, STACK_DIMENSION } from "../shared/log-event";

export { describeError } from "../shared/log-event";

const SERVICE_NAME = "receiver";

/** Powertools' level names and order; a line below the configured level is not written (its metrics are). */
const LEVELS = { DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20 } as const;
type LevelName = keyof typeof LEVELS;

/** The log level, read as Powertools reads it: POWERTOOLS_LOG_LEVEL, LOG_LEVEL, Lambda's setting, else INFO. */
function configuredLevel(env: NodeJS.ProcessEnv): number {
  const name = (
    env.POWERTOOLS_LOG_LEVEL ||
    env.LOG_LEVEL ||
    env.AWS_LAMBDA_LOG_LEVEL ||
    "INFO"
  ).toUpperCase();
  return name in LEVELS ? LEVELS[name as LevelName] : LEVELS.INFO;
}

const minimumLevel = configuredLevel(process.env);

/** The Lambda context on every line, as Powertools' `logger.addContext(context)` puts it. */
let contextKeys: Record<string, unknown> = {};
// Lambda sets the initialization type; as in Powertools, only an on-demand environment has a cold start.
let coldStart = process.env.AWS_LAMBDA_INITIALIZATION_TYPE === "on-demand";

function write(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

/** Wraps the receiver's handler: each invocation's lines carry its context (request id, cold start). */
export function withTelemetry<E, R>(
  handler: (event: E, context?: Context) => Promise<R>,
): (event: E, context?: Context) => Promise<R> {
  return async (event, context) => {
    if (context) {
      contextKeys = {
        cold_start: coldStart,
        function_arn: context.invokedFunctionArn,
        function_memory_size: context.memoryLimitInMB,
        function_name: context.functionName,
        function_request_id: context.awsRequestId,
      };
      coldStart = false;
    }
    return handler(event, context);
  };
}

/** Writes the event as one log line at its level, and its metrics (whatever the log level) as EMF lines. */
export function emit(event: LogEvent, now: number = Date.now()): void {
  const level = (event.level ?? "info").toUpperCase() as LevelName;
  if (LEVELS[level] >= minimumLevel) {
    write({
      level,
      message: event.message,
      timestamp: new Date(now).toISOString(),
      service: SERVICE_NAME,
      ...contextKeys,
      ...event.fields,
      ...event.dimensions,
    });
  }
  const metrics = Object.entries(event.metrics ?? {});
  if (metrics.length === 0) return;
  const stack = { [STACK_DIMENSION]: process.env[ENV.stackName] || "unknown" };
  // One line per dimension set, as the other functions write them.
  for (const set of dimensionSetsOf(event)) {
    write({
      _aws: {
        Timestamp: now,
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [[STACK_DIMENSION, ...set]],
            Metrics: metrics.map(([name, metric]) => ({ Name: name, Unit: metric.unit })),
          },
        ],
      },
      ...stack,
      ...Object.fromEntries(set.map((name) => [name, event.dimensions?.[name]])),
      ...Object.fromEntries(metrics.map(([name, metric]) => [name, metric.value])),
    });
  }
}
