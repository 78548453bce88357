/** The package's entry point: the receiver construct for a CDK app of your own, and its settings. */
export { ConfigError, DEFAULT_CONFIG, type WebhookStackConfig } from "./config";
export { AssemblyAiWebhookReceiver, type AssemblyAiWebhookReceiverProps } from "./webhook-receiver";
