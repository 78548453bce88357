/** Lambda entry point for the transcript queue: configuration is validated at cold start, then each batch is handed to the worker. */
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { loadConfig } from "./config";
import { createWorker } from "./worker";

const worker = createWorker(loadConfig(process.env));

/** Partial batch response: the event source mapping must enable `ReportBatchItemFailures`. */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  return worker.handleBatch(event, context);
}
