/**
 * The CLI's AssemblyAI access: submitting and uploading through the official SDK (a CLI can live with its
 * plain errors), reading through the functions' own client, which keeps status codes.
 */
import { AssemblyAI, type Transcript } from "assemblyai";
import { AssemblyAiClient, describeFailure } from "../functions/shared/assemblyai-client";
import type { TranscriptTimes } from "../functions/shared/contract/winner";
import { CliError } from "./output";
import type { AssemblyAiAccess } from "./stack";

export function assemblyAiClient(access: AssemblyAiAccess): AssemblyAI {
  return new AssemblyAI({ apiKey: access.apiKey, baseUrl: access.baseUrl });
}

/** What AssemblyAI said, as one line naming the operation. */
export function assemblyAiError(what: string, error: unknown): CliError {
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(`AssemblyAI: ${what}: ${message.split("\n")[0]}`);
}

/** A CLI waits longer than a function: a person is watching, and one slow answer is not worth a failure. */
const CLI_REQUEST_TIMEOUT_MS = 30_000;

function readClient(access: AssemblyAiAccess): AssemblyAiClient {
  return new AssemblyAiClient({
    baseUrl: access.baseUrl,
    timeoutMs: CLI_REQUEST_TIMEOUT_MS,
  });
}

/** `GET /v2/transcript/{id}`, failing with one line that names the status. */
export async function readTranscript(access: AssemblyAiAccess, transcriptId: string): Promise<Transcript> {
  const result = await readClient(access).getTranscript(transcriptId, access.apiKey);
  if (result.type === "transcript") return result.transcript;
  throw new CliError(`AssemblyAI: ${describeFailure(`GET /v2/transcript/${transcriptId}`, result)}`);
}

/** AssemblyAI's times for a transcript (see AssemblyAiClient.transcriptTimes). */
export async function transcriptTimes(
  access: AssemblyAiAccess,
  transcriptId: string,
): Promise<TranscriptTimes> {
  const result = await readClient(access).transcriptTimes(transcriptId, access.apiKey);
  if (result.type === "times") return result.times;
  throw new CliError(`AssemblyAI: ${describeFailure("GET /v2/transcript", result)}`);
}
