/** Shared arrangements for the receiver tests: fixtures, a test environment, mocked secrets, captured logs. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { AwsClientStub } from "aws-sdk-client-mock";
import { captureTelemetry } from "../../support/telemetry";

/** The value the fixtures carry in their auth header. */
export const SECRET = "fixture-webhook-secret-3f9c1e7a5b2d4086";
export const PREVIOUS_SECRET = "previous-webhook-secret-8d2a6c4e0b9f1375";
export const AUTH_HEADER = "X-Webhook-Secret";

export const TEST_ENV: Readonly<Record<string, string>> = {
  STACK_NAME: "test-stack",
  QUEUE_URL: "https://sqs.us-west-2.amazonaws.com/123456789012/deliveries",
  WEBHOOK_SECRET_ARN: "arn:aws:secretsmanager:us-west-2:123456789012:secret:webhook-AbCdEf",
  AUTH_HEADER_NAME: AUTH_HEADER,
  BUCKET_NAME: "test-bucket",
};

export type FixtureName = "transcript-completed" | "transcript-error-base64" | "redacted-audio-ready";

/** A fresh copy of a recorded HTTP API v2 event, so a test can change it freely. */
export function fixture(name: FixtureName): APIGatewayProxyEventV2 {
  const path = join(__dirname, "..", "..", "fixtures", "receiver", `${name}.json`);
  return JSON.parse(readFileSync(path, "utf8")) as APIGatewayProxyEventV2;
}

/** The fixture with a different JSON body (plain, not base64). */
export function withBody(body: unknown, name: FixtureName = "transcript-completed"): APIGatewayProxyEventV2 {
  return {
    ...fixture(name),
    body: typeof body === "string" ? body : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

export function withQuery(
  rawQueryString: string,
  name: FixtureName = "transcript-completed",
): APIGatewayProxyEventV2 {
  return { ...fixture(name), rawQueryString };
}

export function withHeaders(
  headers: Record<string, string>,
  name: FixtureName = "transcript-completed",
): APIGatewayProxyEventV2 {
  return { ...fixture(name), headers };
}

export function withoutAuthHeader(event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 {
  const headers = { ...event.headers };
  delete headers[AUTH_HEADER.toLowerCase()];
  return { ...event, headers };
}

type SecretsStub = AwsClientStub<SecretsManagerClient>;

/** Secrets Manager holding `current` (and `previous` when given, else no AWSPREVIOUS stage; no AWSPENDING). */
export function storeSecret(mock: SecretsStub, current: string, previous?: string): void {
  mock.on(GetSecretValueCommand, { VersionStage: "AWSCURRENT" }).resolves({ SecretString: current });
  mock
    .on(GetSecretValueCommand, { VersionStage: "AWSPENDING" })
    .rejects(new ResourceNotFoundException({ message: "no AWSPENDING version", $metadata: {} }));
  if (previous === undefined) {
    mock
      .on(GetSecretValueCommand, { VersionStage: "AWSPREVIOUS" })
      .rejects(new ResourceNotFoundException({ message: "no AWSPREVIOUS version", $metadata: {} }));
  } else {
    mock.on(GetSecretValueCommand, { VersionStage: "AWSPREVIOUS" }).resolves({ SecretString: previous });
  }
}

export interface ResponseBody {
  readonly error?: string;
  readonly message?: string;
  readonly status?: string;
  readonly kind?: string;
  readonly reason?: string;
  readonly message_id?: string;
}

export function bodyOf(response: APIGatewayProxyStructuredResultV2): ResponseBody {
  return JSON.parse(response.body ?? "") as ResponseBody;
}

/**
 * Collects the telemetry lines written while a test runs: `lines` every line (log and EMF), `records` the log
 * lines, `metrics` the EMF lines; call `restore` afterwards.
 */
export function captureLogs(): {
  lines: string[];
  records: () => Array<Record<string, unknown>>;
  metrics: () => Array<Record<string, unknown>>;
  restore: () => void;
} {
  const captured = captureTelemetry();
  return {
    lines: captured.lines,
    records: captured.logs,
    metrics: captured.metrics,
    restore: captured.restore,
  };
}
