/**
 * Lambda entry point for the scheduled reconciler (EventBridge). Configuration is read and validated at cold
 * start; a bad variable fails the init with its name.
 */
import { withTelemetry } from "../shared/telemetry";
import { documents, s3, secretsManager, sqs } from "./clients";
import { loadConfig } from "./config";
import { createHandler } from "./reconciler";

export const handler = withTelemetry(
  "reconciler",
  createHandler(loadConfig(process.env), {
    documents,
    sqs,
    s3,
    secretsManager,
  }),
);
