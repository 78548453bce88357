/**
 * The package's entry point: the receiver construct for a CDK app of your own and its settings, and the
 * typed client that reads what it stored.
 */
export {
  type FullTranscript,
  InvalidCursorError,
  isTurnEvent,
  type ListOptions,
  type RecordPage,
  type StoredRecord,
  TranscriptNotStoredError,
  TranscriptStoreClient,
} from "./client/transcript-store-client";
export { ConfigError, DEFAULT_CONFIG, type WebhookStackConfig } from "./config";
export { AssemblyAiWebhookReceiver, type AssemblyAiWebhookReceiverProps } from "./webhook-receiver";
