/**
 * A small client for the two AssemblyAI requests the worker makes, over Node's fetch (keep-alive by
 * default). Unlike the official SDK it keeps the HTTP status and Retry-After, and times out every request,
 * so the caller can tell "try again later" from "give up". It never throws: failures are values.
 */
import type { Transcript } from "assemblyai";
import { describeError } from "../shared/telemetry";
import type { FetchResult } from "./core";

export interface AssemblyAiClientOptions {
  /** Without a trailing slash. */
  readonly baseUrl: string;
  /** Per request, response body included. */
  readonly timeoutMs: number;
}

export type DownloadResult =
  | {
      readonly type: "response";
      readonly status: number;
      readonly retryAfter: string | null;
      /** Present for 2xx only; the caller must consume it. Other bodies are discarded here. */
      readonly body: ReadableStream<Uint8Array> | null;
      readonly contentType: string | null;
    }
  | { readonly type: "network_error"; readonly timedOut: boolean; readonly reason: string };

/** Longest error body we read, to quote AssemblyAI's `{ "error": "..." }` in the record. */
const MAX_ERROR_MESSAGE_LENGTH = 500;

export class AssemblyAiClient {
  constructor(private readonly options: AssemblyAiClientOptions) {}

  /** `GET /v2/transcript/{id}`. The key goes in the `authorization` header and nowhere else. */
  async getTranscript(transcriptId: string, apiKey: string): Promise<FetchResult> {
    const url = `${this.options.baseUrl}/v2/transcript/${encodeURIComponent(transcriptId)}`;
    try {
      const response = await fetch(url, {
        headers: { authorization: apiKey, accept: "application/json" },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      const retryAfter = response.headers.get("retry-after");
      if (!response.ok) {
        return {
          type: "http_error",
          status: response.status,
          retryAfter,
          message: errorMessage(await response.text()),
        };
      }
      // One buffer, one parse: a 10-hour transcript is 10+ MB of JSON and the function has 512 MB.
      const body = new Uint8Array(await response.arrayBuffer());
      let transcript: unknown;
      try {
        transcript = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
      } catch {
        return { type: "invalid_body", status: response.status, reason: "a body that is not JSON" };
      }
      if (!isTranscript(transcript)) {
        return { type: "invalid_body", status: response.status, reason: "a body that is not a transcript" };
      }
      return { type: "transcript", status: response.status, retryAfter, transcript, body };
    } catch (error) {
      return networkError(error);
    }
  }

  /**
   * Opens a download (a presigned URL: no API key is sent). The response must start within the client's
   * timeout; the body may then stream until `totalTimeoutMs`.
   */
  async openDownload(url: string, totalTimeoutMs: number): Promise<DownloadResult> {
    const firstByte = new AbortController();
    const timer = setTimeout(
      () => firstByte.abort(new DOMException("no response in time", "TimeoutError")),
      this.options.timeoutMs,
    );
    try {
      const response = await fetch(url, {
        signal: AbortSignal.any([firstByte.signal, AbortSignal.timeout(totalTimeoutMs)]),
      });
      const ok = response.ok;
      if (!ok) await response.body?.cancel().catch(() => undefined);
      return {
        type: "response",
        status: response.status,
        retryAfter: response.headers.get("retry-after"),
        body: ok ? response.body : null,
        contentType: response.headers.get("content-type"),
      };
    } catch (error) {
      return networkError(error);
    } finally {
      clearTimeout(timer);
    }
  }
}

function isTranscript(value: unknown): value is Transcript {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const { id, status } = value as Record<string, unknown>;
  return typeof id === "string" && typeof status === "string";
}

function errorMessage(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === "object" && parsed !== null && "error" in parsed) {
      const { error } = parsed as { error: unknown };
      if (typeof error === "string") return error.slice(0, MAX_ERROR_MESSAGE_LENGTH);
    }
  } catch {
    // Not JSON: quote the start of the body instead (a proxy's HTML page, say).
  }
  const text = body.trim();
  return text ? text.slice(0, MAX_ERROR_MESSAGE_LENGTH) : undefined;
}

function networkError(error: unknown): { type: "network_error"; timedOut: boolean; reason: string } {
  const name = error instanceof Error || error instanceof DOMException ? error.name : "";
  const cause = error instanceof Error && error.cause !== undefined ? ` (${describeError(error.cause)})` : "";
  return {
    type: "network_error",
    timedOut: name === "TimeoutError",
    reason: `${describeError(error)}${cause}`,
  };
}
