/**
 * The reconciler's two AssemblyAI reads, over the shared client (functions/shared/assemblyai-client.ts),
 * as calls that throw: a read answered 400, 404 or 410 is final for that transcript (the core skips it and
 * goes on); any other failure is that transcript's, reported by the core, and the next run tries again.
 */
import type { Transcript, TranscriptList } from "assemblyai";
import { AssemblyAiClient, describeFailure, type RequestFailure } from "../shared/assemblyai-client";

export interface AssemblyAiApiOptions {
  /** Without a trailing slash. */
  readonly baseUrl: string;
  /** Per request, body included. */
  readonly timeoutMs: number;
  /** The API key, read when a request is made (cached by the caller). */
  readonly apiKey: () => Promise<string>;
}

/** A request that did not produce the expected answer; `status` is absent for network errors and timeouts. */
export class AssemblyAiRequestError extends Error {
  override readonly name = "AssemblyAiRequestError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

function requestError(what: string, failure: RequestFailure): AssemblyAiRequestError {
  return new AssemblyAiRequestError(
    describeFailure(what, failure),
    failure.type === "network_error" ? undefined : failure.status,
  );
}

export class AssemblyAiApi {
  private readonly client: AssemblyAiClient;

  constructor(private readonly options: AssemblyAiApiOptions) {
    this.client = new AssemblyAiClient({ baseUrl: options.baseUrl, timeoutMs: options.timeoutMs });
  }

  /** `GET /v2/transcript`. Item timestamps stay the strings the API sends; the core reads both forms. */
  async listTranscripts(query: Readonly<Record<string, string>>): Promise<TranscriptList> {
    const result = await this.client.listTranscripts(query, await this.options.apiKey());
    if (result.type !== "list") throw requestError("GET /v2/transcript", result);
    return result.list;
  }

  /** `GET /v2/transcript/{id}` (an id that could not be part of a path is refused as a 400, unsent). */
  async getTranscript(id: string): Promise<Transcript> {
    const result = await this.client.getTranscript(id, await this.options.apiKey());
    if (result.type !== "transcript") throw requestError(`GET /v2/transcript/${id}`, result);
    return result.transcript;
  }
}
