/** AWS SDK clients, created once per execution environment; tests intercept them with aws-sdk-client-mock. */
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SQSClient } from "@aws-sdk/client-sqs";

/**
 * A hung connection fails well inside the 30 s invocation, and the SDK retries it. `requestTimeout` alone
 * only logs a warning in @smithy/node-http-handler 4.x: `throwOnRequestTimeout` makes it fail the attempt.
 */
const requestHandler = { connectionTimeout: 3_000, requestTimeout: 5_000, throwOnRequestTimeout: true };

export const eventBridge = new EventBridgeClient({ requestHandler });
export const sqs = new SQSClient({ requestHandler });
