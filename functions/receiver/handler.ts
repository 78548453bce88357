/**
 * Lambda entry point for AssemblyAI webhook deliveries (API Gateway HTTP API, payload format 2.0).
 * Configuration is read and validated at cold start; a bad variable fails the init with its name.
 */
import { putObject, secretsManagerClient, sqsClient } from "./clients";
import { loadConfig } from "./config";
import { createHandler } from "./receiver";
import { withTelemetry } from "./telemetry";

export const handler = withTelemetry(
  createHandler(loadConfig(process.env), {
    sqs: sqsClient,
    secretsManager: secretsManagerClient,
    putObject,
  }),
);
