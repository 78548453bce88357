/**
 * Lambda entry point for the events publisher, fed by the record table's DynamoDB stream. Configuration is
 * read and validated at cold start; a bad variable fails the init with its name.
 */
import { withTelemetry } from "../shared/telemetry";
import { eventBridge, sqs } from "./clients";
import { loadConfig } from "./config";
import { createHandler } from "./publisher";

export const handler = withTelemetry(
  "publisher",
  createHandler(loadConfig(process.env), { eventBridge, sqs }),
);
