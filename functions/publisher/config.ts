/**
 * The events publisher's configuration, read from the environment and validated once, at cold start. The
 * stack validates the settings behind it with the same rules (lib/config.ts: eventBusName, eventSource).
 */
import { ENV } from "../shared/contract/environment";
import { ConfigurationError, type Env, envVariable, parseHttpUrl, requireString } from "../shared/env";

export interface PublisherConfig {
  readonly stackName: string;
  /** PutEvents' EventBusName: the bus's name or ARN. */
  readonly eventBusName: string;
  readonly eventSource: string;
  /** Named in each detail, beside the record's S3 keys. */
  readonly bucketName: string;
  readonly deadLetterQueueUrl: string;
}

export function loadConfig(env: Env): PublisherConfig {
  const eventSource = requireString(env, ENV.eventSource);
  if (eventSource.toLowerCase().startsWith("aws.")) {
    throw new ConfigurationError(`${envVariable(ENV.eventSource)} must not start with "aws."`);
  }
  const deadLetterQueueUrl = requireString(env, ENV.eventsDeadLetterQueueUrl);
  parseHttpUrl(deadLetterQueueUrl, envVariable(ENV.eventsDeadLetterQueueUrl));
  return {
    stackName: requireString(env, ENV.stackName),
    eventBusName: requireString(env, ENV.eventBusName),
    eventSource,
    bucketName: requireString(env, ENV.bucketName),
    deadLetterQueueUrl,
  };
}
