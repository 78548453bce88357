/** Lambda entry point for the transcript queue: configuration is validated at cold start, then each batch is handed to the worker. */
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { withTelemetry } from "../shared/telemetry";
import { loadConfig } from "./config";
import { createWorker } from "./worker";

const worker = createWorker(loadConfig(process.env));

/** Partial batch response: the event source mapping must enable `ReportBatchItemFailures`. */
export const handler = withTelemetry(
  "worker",
  (event: SQSEvent, context): Promise<SQSBatchResponse> => worker.handleBatch(event, context),
);
