/**
 * The package's entry point: the receiver construct for a CDK app of your own and its settings, the
 * typed client that reads what it stored, and the types of the events it publishes.
 */
export {
  DEFAULT_EVENT_SOURCE,
  DETAIL_TYPES,
  type DetailType,
  EVENT_SCHEMA_VERSION,
  type EventDetail,
  type FullTranscript,
  InvalidCursorError,
  isTurnEvent,
  type ListOptions,
  type RecordPage,
  type RedactedAudioStoredDetail,
  type StoredRecord,
  type TranscriptFailedDetail,
  TranscriptNotStoredError,
  TranscriptStoreClient,
  type TranscriptStoredDetail,
} from "./client/transcript-store-client";
export { ConfigError, DEFAULT_CONFIG, type WebhookStackConfig } from "./config";
export { AssemblyAiWebhookReceiver, type AssemblyAiWebhookReceiverProps } from "./webhook-receiver";
