/** Reading Secrets Manager values by version stage; the client is passed in so handlers own it. */
import { createHash } from "node:crypto";
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { API_KEY_PLACEHOLDER_PREFIX } from "./contract/environment";

export type VersionStage = "AWSCURRENT" | "AWSPREVIOUS" | "AWSPENDING";

/**
 * The secret's string value at a stage, or undefined when that stage is on no version (AWSPREVIOUS before
 * the first rotation, AWSPENDING when nothing is staged). A missing AWSCURRENT is an error: see readApiKey.
 */
export async function readSecretString(
  client: SecretsManagerClient,
  secretId: string,
  stage: VersionStage,
): Promise<string | undefined> {
  try {
    const result = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
    return result.SecretString;
  } catch (error) {
    if (stage !== "AWSCURRENT" && isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * The AssemblyAI API key secret's current value, or the placeholder marker when it has none yet: the stack
 * creates that secret without a value (so no deploy can ever overwrite a key set afterwards), and older
 * stacks created it holding a value that starts with API_KEY_PLACEHOLDER_PREFIX. Callers test for the
 * prefix only, whichever of the two it was.
 */
export async function readApiKey(
  client: SecretsManagerClient,
  secretId: string,
): Promise<string | undefined> {
  try {
    return await readSecretString(client, secretId, "AWSCURRENT");
  } catch (error) {
    // A secret with no version at all answers ResourceNotFoundException for AWSCURRENT.
    if (isNotFound(error)) return API_KEY_PLACEHOLDER_PREFIX;
    throw error;
  }
}

/**
 * Tells API keys apart without keeping them: the first 64 bits of a SHA-256 of the key, stored on a record
 * whose fetch was refused so that the reconciler can tell whether the key has changed since. An AssemblyAI
 * key is 32 hex digits (128 bits), so 64 bits of its hash reveal nothing that helps to guess it.
 */
export function apiKeyFingerprint(apiKey: string): string {
  return createHash("sha256").update(`aai-webhooks api key\n${apiKey.trim()}`).digest("hex").slice(0, 16);
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && error.name === "ResourceNotFoundException";
}
