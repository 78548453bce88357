/** The CLI's AssemblyAI access, through the official SDK (a CLI can live with its plain errors). */
import { AssemblyAI, type Transcript } from "assemblyai";
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

export async function getTranscript(client: AssemblyAI, transcriptId: string): Promise<Transcript> {
  try {
    return await client.transcripts.get(transcriptId);
  } catch (error) {
    throw assemblyAiError(`could not read transcript ${transcriptId}`, error);
  }
}
