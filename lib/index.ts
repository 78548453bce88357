/**
 * The package's entry point: the receiver construct for a CDK app of your own and its settings, and
 * everything `./client` exports (the typed client that reads what it stored, and the types of the events it
 * publishes), so that a consumer can import either from here.
 */
export * from "./client/transcript-store-client";
export { ConfigError, DEFAULT_CONFIG, type WebhookStackConfig } from "./config";
export { AssemblyAiWebhookReceiver, type AssemblyAiWebhookReceiverProps } from "./webhook-receiver";
