/**
 * A TypeScript consumer of the package, type-checked (never run) against its declarations: the construct,
 * its props and members, the read client from both entry points, and the events' detail types.
 */

import {
  AssemblyAiWebhookReceiver,
  type AssemblyAiWebhookReceiverProps,
  ConfigError,
  type StoredRecord,
  type TranscriptStoreClient,
} from "assemblyai-webhook-receiver";
import {
  DETAIL_TYPES,
  TranscriptStoreClient as ReadClient,
  type TranscriptStoredDetail,
} from "assemblyai-webhook-receiver/client";
import { App, Stack } from "aws-cdk-lib";
import type * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";

const stack = new Stack(new App(), "Typed");
const props: AssemblyAiWebhookReceiverProps = {
  assemblyAiRegion: ["us", "eu"],
  allowedSourceIps: ["assemblyai"],
  alarmEmail: "oncall@example.com",
};
const receiver = new AssemblyAiWebhookReceiver(stack, "Webhooks", props);
export const bus: events.IEventBus = receiver.eventBus;
export const url: string = receiver.webhookUrl;
export const grant: iam.Grant = receiver.grantReadTranscripts(
  new iam.Role(stack, "Reader", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") }),
);
// The declarations are real types, not `any`: a misspelt prop and a wrong type are refused.
// @ts-expect-error no such prop
new AssemblyAiWebhookReceiver(stack, "Misspelt", { assemblyAiRgion: ["us"] });
// @ts-expect-error a region is "us" or "eu"
new AssemblyAiWebhookReceiver(stack, "Mistyped", { assemblyAiRegion: ["mars"] });
export const configError: Error = new ConfigError("workerBatchSize must be between 1 and 10, got 50");

declare const store: TranscriptStoreClient;
export const record: Promise<StoredRecord | undefined> = store.get("acme", "call-1");
export const sameClient: typeof TranscriptStoreClient = ReadClient;

// A subscriber's handler, typed by the package: the detail of a `Transcript Stored` event.
export const storedType: "Transcript Stored" = DETAIL_TYPES.stored;
export function onStored(event: {
  "detail-type": typeof storedType;
  detail: TranscriptStoredDetail;
}): string {
  const { customer_id, order_id, transcript_id, transcript_s3_key, bucket } = event.detail;
  // @ts-expect-error the text is never in an event
  event.detail.text;
  return `${customer_id}/${order_id} ${transcript_id} s3://${bucket}/${transcript_s3_key ?? ""}`;
}
