/**
 * The API's access-log line, defined once: the stage writes it (`lib/receiver-api.ts`), the local HTTP API
 * writes the same line (`local/http-adapter.ts`), and the metric filter behind the throttle alarm counts the
 * lines with API Gateway's throttling status in it. Free of CDK, so that the local stack loads it cheaply.
 */

/** Each field of the JSON line and the API Gateway variable it holds. No headers: the auth header must never reach a log. */
export const ACCESS_LOG_VARIABLES = {
  requestId: "$context.requestId",
  ip: "$context.identity.sourceIp",
  requestTime: "$context.requestTime",
  method: "$context.httpMethod",
  routeKey: "$context.routeKey",
  path: "$context.path",
  status: "$context.status",
  responseLength: "$context.responseLength",
  responseLatency: "$context.responseLatency",
  integrationStatus: "$context.integrationStatus",
  integrationLatency: "$context.integrationLatency",
  integrationError: "$context.integrationErrorMessage",
  error: "$context.error.message",
} as const;

export type AccessLogField = keyof typeof ACCESS_LOG_VARIABLES;
/** What one request's line says, field by field; a field left out is one the request has no value for. */
export type AccessLogValues = Partial<Readonly<Record<AccessLogField, string | number>>>;

/**
 * The line's field that names the stack: a literal in the format, since a metric filter's dimensions can only
 * be read from the line, and every custom metric of ours carries the stack (functions/shared/telemetry.ts).
 */
export const ACCESS_LOG_STACK_FIELD = "stack";

/** The stage's access-log format: the variables, and the stack's name as a literal. */
export function accessLogFormat(stackName: string): string {
  return JSON.stringify({ ...ACCESS_LOG_VARIABLES, [ACCESS_LOG_STACK_FIELD]: stackName });
}

/**
 * One request's line as API Gateway renders the format: every variable's value as text, `-` for a variable
 * the request has no value for (a throttled request has no route, integration or latency).
 */
export function renderAccessLog(stackName: string, values: AccessLogValues): string {
  const line: Record<string, string> = {};
  for (const field of Object.keys(ACCESS_LOG_VARIABLES) as AccessLogField[]) {
    const value = values[field];
    line[field] = value === undefined || value === "" ? "-" : String(value);
  }
  line[ACCESS_LOG_STACK_FIELD] = stackName;
  return JSON.stringify(line);
}

/** What API Gateway answers a request over the stage's throttle: a 429, final for AssemblyAI. */
export const THROTTLED_STATUS = 429;
export const THROTTLED_BODY = '{"message":"Too Many Requests"}';

/**
 * HTTP APIs publish no throttle metric, and their `4xx` also counts the receiver's own 401/403/404: the
 * alarm counts the access-log lines whose status is 429 instead.
 */
export const THROTTLED_REQUESTS_METRIC = "ThrottledRequests";
