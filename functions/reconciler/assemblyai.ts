/**
 * The two AssemblyAI reads the reconciler makes, over Node's fetch with a timeout on every request. Unlike
 * the official SDK it keeps the HTTP status in its error: a read answered 400, 404 or 410 is final for that
 * transcript (the core skips it); any other failed request fails the run: the checkpoint keeps what was
 * examined and the next run tries again, so there is no retry here.
 */
import type { Transcript, TranscriptList } from "assemblyai";
import { TRANSCRIPT_ID_PATTERN } from "../shared/contract/delivery";
import { isRecord } from "../shared/values";

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

const MAX_ERROR_MESSAGE_LENGTH = 300;

export class AssemblyAiApi {
  constructor(private readonly options: AssemblyAiApiOptions) {}

  /** `GET /v2/transcript`. Item timestamps stay the strings the API sends; the core reads both forms. */
  async listTranscripts(query: Readonly<Record<string, string>>): Promise<TranscriptList> {
    const body = await this.get(`/v2/transcript?${new URLSearchParams(query)}`, "GET /v2/transcript");
    if (!isRecord(body) || !Array.isArray(body.transcripts) || !isRecord(body.page_details)) {
      throw new AssemblyAiRequestError("GET /v2/transcript answered a body that is not a transcript list");
    }
    for (const item of body.transcripts) {
      if (!isRecord(item) || typeof item.id !== "string" || typeof item.status !== "string") {
        throw new AssemblyAiRequestError("GET /v2/transcript answered an item without id or status");
      }
    }
    return body as unknown as TranscriptList;
  }

  /** `GET /v2/transcript/{id}`. */
  async getTranscript(id: string): Promise<Transcript> {
    // The id comes from the list; it still becomes part of a path, so it must look like an id.
    if (!TRANSCRIPT_ID_PATTERN.test(id))
      throw new AssemblyAiRequestError("a listed transcript id is malformed");
    const body = await this.get(`/v2/transcript/${encodeURIComponent(id)}`, "GET /v2/transcript/{id}");
    if (!isRecord(body) || typeof body.id !== "string" || typeof body.status !== "string") {
      throw new AssemblyAiRequestError(`GET /v2/transcript/${id} answered a body that is not a transcript`);
    }
    return body as unknown as Transcript;
  }

  private async get(path: string, what: string): Promise<unknown> {
    const apiKey = await this.options.apiKey();
    let response: Response;
    try {
      response = await fetch(`${this.options.baseUrl}${path}`, {
        headers: { authorization: apiKey, accept: "application/json" },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      // Read by shape, not `instanceof`: fetch's errors may come from another realm (as under Jest).
      const name = typeof error === "object" && error !== null && "name" in error ? error.name : undefined;
      throw new AssemblyAiRequestError(
        name === "TimeoutError"
          ? `${what} did not answer within ${this.options.timeoutMs} ms`
          : `${what} failed: ${String(error)}${causeOf(error)}`,
      );
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new AssemblyAiRequestError(
        `${what}: the body could not be read: ${String(error)}`,
        response.status,
      );
    }
    if (!response.ok) {
      throw new AssemblyAiRequestError(
        `${what} answered ${response.status}${errorMessage(text)}`,
        response.status,
      );
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new AssemblyAiRequestError(`${what} answered a body that is not JSON`, response.status);
    }
  }
}

/** AssemblyAI's `{ "error": "..." }`, quoted briefly; never the request (the key is in a header). */
function errorMessage(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (isRecord(parsed) && typeof parsed.error === "string") {
      return `: ${parsed.error.slice(0, MAX_ERROR_MESSAGE_LENGTH)}`;
    }
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  return "";
}

/** Node's fetch says only "fetch failed"; the cause names the refused connection or DNS failure. */
function causeOf(error: unknown): string {
  const cause = typeof error === "object" && error !== null && "cause" in error ? error.cause : undefined;
  return cause === undefined ? "" : ` (${String(cause)})`;
}
