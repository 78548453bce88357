/** AWS SDK clients, created once per execution environment; tests intercept them with aws-sdk-client-mock. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";

/**
 * Fail a hung connection well inside the function's 60 s timeout; the SDK retries it. `requestTimeout` alone
 * only logs a warning in @smithy/node-http-handler 4.x: `throwOnRequestTimeout` makes it fail the attempt.
 */
const requestHandler = { connectionTimeout: 3_000, requestTimeout: 20_000, throwOnRequestTimeout: true };

/** The low-level client: the worker marshals records itself (functions/shared/attribute-values.ts says why). */
export const dynamodb = new DynamoDBClient({ requestHandler });
export const s3 = new S3Client({ requestHandler });
export const sqs = new SQSClient({ requestHandler });
export const secretsManager = new SecretsManagerClient({ requestHandler });
