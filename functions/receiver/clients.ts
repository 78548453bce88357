/**
 * The receiver's AWS clients, created once per execution environment. Timeouts and attempts are tight so
 * that the function always answers (5xx, so AssemblyAI retries) long before AssemblyAI gives up after 10 s.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { NodeHttpHandler } from "@smithy/node-http-handler";

/**
 * Per attempt: 300 ms to connect, 500 ms for the whole request. `requestTimeout` alone only logs a warning
 * in @smithy/node-http-handler 4.x; `throwOnRequestTimeout` makes it fail the attempt so the SDK retries.
 */
function requestHandler(): NodeHttpHandler {
  return new NodeHttpHandler({ connectionTimeout: 300, requestTimeout: 500, throwOnRequestTimeout: true });
}

/** SendMessage answers in milliseconds; the receiver's enqueue deadline (1.5 s) caps the 3 attempts. */
export const sqsClient = new SQSClient({ maxAttempts: 3, requestHandler: requestHandler() });

/** Read on a cold cache only (then every SECRET_CACHE_TTL_SECONDS); the 1.2 s secret deadline caps 2 attempts. */
export const secretsManagerClient = new SecretsManagerClient({
  maxAttempts: 2,
  requestHandler: requestHandler(),
});
