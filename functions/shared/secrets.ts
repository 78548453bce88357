/** Reading Secrets Manager values by version stage; the client is passed in so handlers own it. */
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

export type VersionStage = "AWSCURRENT" | "AWSPREVIOUS";

/** The secret's string value at a stage, or undefined when that stage does not exist (no rotation yet). */
export async function readSecretString(
  client: SecretsManagerClient,
  secretId: string,
  stage: VersionStage,
): Promise<string | undefined> {
  try {
    const result = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
    return result.SecretString;
  } catch (error) {
    if (stage === "AWSPREVIOUS" && error instanceof Error && error.name === "ResourceNotFoundException") {
      return undefined;
    }
    throw error;
  }
}
