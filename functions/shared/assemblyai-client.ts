/**
 * The one AssemblyAI HTTP client (worker, reconciler, CLI), over Node's fetch (keep-alive by default).
 * Unlike the official SDK it keeps the HTTP status and Retry-After and times out every request, so callers
 * can tell "try again later" from "give up". It never throws: failures are values.
 */
import type { Transcript, TranscriptList, TranscriptListItem } from "assemblyai";
import { TRANSCRIPT_ID_PATTERN } from "./contract/delivery";
import { type TranscriptTimes, timesFrom } from "./contract/winner";
import { describeError } from "./telemetry";
import { isRecord } from "./values";

/** A request that got no usable answer: what went wrong, as values. */
export type RequestFailure =
  | {
      readonly type: "http_error";
      readonly status: number;
      readonly retryAfter: string | null;
      /** AssemblyAI's `{ "error": "..." }`, when the body had one. */
      readonly message: string | undefined;
    }
  | { readonly type: "invalid_body"; readonly status: number; readonly reason: string }
  | { readonly type: "network_error"; readonly timedOut: boolean; readonly reason: string };

/** What `GET /v2/transcript/{id}` came to. */
export type FetchResult =
  | {
      readonly type: "transcript";
      readonly status: number;
      readonly retryAfter: string | null;
      readonly transcript: Transcript;
      /** The response body exactly as sent: archived as is, so the transcript is serialised only once. */
      readonly body: Uint8Array;
    }
  | RequestFailure;

/** What `DELETE /v2/transcript/{id}` came to: any 2xx is a deletion (the body, the tombstone, is not read). */
export type DeleteResult = { readonly type: "deleted"; readonly status: number } | RequestFailure;

/** What `GET /v2/transcript` came to. */
export type ListResult = { readonly type: "list"; readonly list: TranscriptList } | RequestFailure;

/** What a times lookup came to: the times (see TranscriptTimes), or why the list could not be read. */
export type TimesResult = { readonly type: "times"; readonly times: TranscriptTimes } | RequestFailure;

/** One line for a failure, naming the request: for logs, records and CLI errors (never the key). */
export function describeFailure(what: string, failure: RequestFailure): string {
  switch (failure.type) {
    case "http_error":
      return `${what} answered HTTP ${failure.status}${failure.message ? `: ${failure.message}` : ""}`;
    case "invalid_body":
      return `${what} answered HTTP ${failure.status} with ${failure.reason}`;
    case "network_error":
      return failure.timedOut ? `${what} timed out` : `${what} failed: ${failure.reason}`;
  }
}

export interface AssemblyAiClientOptions {
  /** The API's origin (a trailing slash is dropped). */
  readonly baseUrl: string;
  /** Per request, response body included. */
  readonly timeoutMs: number;
}

export type DownloadResult =
  | {
      readonly type: "response";
      readonly status: number;
      readonly retryAfter: string | null;
      /**
       * Present for 2xx only; the caller must consume it. It errors with DownloadTooLarge once more than the
       * byte cap has arrived (and the download is cancelled). Other bodies are discarded here.
       */
      readonly body: ReadableStream<Uint8Array> | null;
      readonly contentType: string | null;
      /** Whether the body went past the byte cap: tells a refused download from a failed upload. */
      readonly exceededLimit: () => boolean;
    }
  /** The server announced more than the byte cap in `content-length`: nothing was read. */
  | { readonly type: "too_large"; readonly status: number; readonly declaredBytes: number }
  /** The server answered with a redirect, which is never followed: it could lead anywhere. */
  | { readonly type: "redirect_refused"; readonly reason: string }
  | { readonly type: "network_error"; readonly timedOut: boolean; readonly reason: string };

export interface DownloadOptions {
  /** The body may stream until then, counted from the request. */
  readonly totalTimeoutMs: number;
  /** Aborts the request and the body (the invocation's deadline). */
  readonly signal?: AbortSignal;
  /** Largest body accepted, announced or streamed. */
  readonly maxBytes: number;
}

/** What a download body errors with once it goes past the byte cap. */
/** What a fetch or a delete answers for an id that could not be part of a path: refused, never sent. */
const MALFORMED_ID_ANSWER = {
  type: "http_error",
  status: 400,
  retryAfter: null,
  message: "malformed transcript id (not sent)",
} as const;

export class DownloadTooLarge extends Error {
  override readonly name = "DownloadTooLarge";
}

/** Longest error body we read, to quote AssemblyAI's `{ "error": "..." }` in the record. */
const MAX_ERROR_MESSAGE_LENGTH = 500;

type JsonAnswer =
  | {
      readonly type: "json";
      readonly status: number;
      readonly retryAfter: string | null;
      readonly value: unknown;
      readonly body: Uint8Array;
    }
  | RequestFailure;

export class AssemblyAiClient {
  private readonly baseUrl: string;

  constructor(private readonly options: AssemblyAiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
  }

  /** A GET answered with JSON. The key goes in the `authorization` header and nowhere else. */
  private async getJson(path: string, apiKey: string, signal: AbortSignal | undefined): Promise<JsonAnswer> {
    try {
      const response = await fetch(`${this.baseUrl}${path}`, {
        headers: { authorization: apiKey, accept: "application/json" },
        signal: withCallerSignal(AbortSignal.timeout(this.options.timeoutMs), signal),
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
      try {
        const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
        return { type: "json", status: response.status, retryAfter, value: JSON.parse(text), body };
      } catch {
        return { type: "invalid_body", status: response.status, reason: "a body that is not JSON" };
      }
    } catch (error) {
      return networkError(error);
    }
  }

  /** `GET /v2/transcript/{id}`; an id that could not be part of a path is refused without a request. */
  async getTranscript(transcriptId: string, apiKey: string, signal?: AbortSignal): Promise<FetchResult> {
    if (!TRANSCRIPT_ID_PATTERN.test(transcriptId)) {
      return MALFORMED_ID_ANSWER;
    }
    const answer = await this.getJson(`/v2/transcript/${encodeURIComponent(transcriptId)}`, apiKey, signal);
    if (answer.type !== "json") return answer;
    if (!isTranscript(answer.value)) {
      return { type: "invalid_body", status: answer.status, reason: "a body that is not a transcript" };
    }
    const { status, retryAfter, value: transcript, body } = answer;
    return { type: "transcript", status, retryAfter, transcript, body };
  }

  /**
   * `DELETE /v2/transcript/{id}`: AssemblyAI keeps a tombstone (`text: "Deleted by user."`) and refuses a
   * job still queued or processing (a 400 saying so). The key goes in the `authorization` header only.
   */
  async deleteTranscript(transcriptId: string, apiKey: string, signal?: AbortSignal): Promise<DeleteResult> {
    if (!TRANSCRIPT_ID_PATTERN.test(transcriptId)) {
      return MALFORMED_ID_ANSWER;
    }
    try {
      const response = await fetch(`${this.baseUrl}/v2/transcript/${encodeURIComponent(transcriptId)}`, {
        method: "DELETE",
        headers: { authorization: apiKey, accept: "application/json" },
        signal: withCallerSignal(AbortSignal.timeout(this.options.timeoutMs), signal),
      });
      const retryAfter = response.headers.get("retry-after");
      if (!response.ok) {
        const message = errorMessage(await response.text());
        return { type: "http_error", status: response.status, retryAfter, message };
      }
      await response.body?.cancel().catch(() => undefined);
      return { type: "deleted", status: response.status };
    } catch (error) {
      return networkError(error);
    }
  }

  /** `GET /v2/transcript`: newest first; `before_id` pages back in time, `after_id` forward. */
  async listTranscripts(
    query: Readonly<Record<string, string>>,
    apiKey: string,
    signal?: AbortSignal,
  ): Promise<ListResult> {
    const answer = await this.getJson(`/v2/transcript?${new URLSearchParams(query)}`, apiKey, signal);
    if (answer.type !== "json") return answer;
    const list = answer.value;
    if (!isRecord(list) || !Array.isArray(list.transcripts) || !isRecord(list.page_details)) {
      return { type: "invalid_body", status: answer.status, reason: "a body that is not a transcript list" };
    }
    if (
      !list.transcripts.every(
        (item) => isRecord(item) && typeof item.id === "string" && typeof item.status === "string",
      )
    ) {
      return { type: "invalid_body", status: answer.status, reason: "a list item without id or status" };
    }
    return { type: "list", list: list as unknown as TranscriptList };
  }

  /**
   * AssemblyAI's `created`/`completed` for one transcript, which its transcript object does not carry but
   * its list does. The list has no filter by id, so: the transcript created just before it
   * (`before_id=<id>&limit=1`), then the page right after that one (`after_id=<that id>&limit=1`), which
   * is the transcript itself. Two small requests, made only when two transcripts for one order must be
   * ordered. Nothing listed before it: it is the oldest AssemblyAI lists (`"oldest"`). An answer that is
   * not the transcript itself: `"unknown"` (arrival order decides then).
   */
  async transcriptTimes(transcriptId: string, apiKey: string, signal?: AbortSignal): Promise<TimesResult> {
    const before = await this.listTranscripts({ before_id: transcriptId, limit: "1" }, apiKey, signal);
    if (before.type !== "list") return before;
    const predecessor = before.list.transcripts[0];
    if (predecessor === undefined) return { type: "times", times: "oldest" };
    const after = await this.listTranscripts({ after_id: predecessor.id, limit: "1" }, apiKey, signal);
    if (after.type !== "list") return after;
    const item: TranscriptListItem | undefined = after.list.transcripts.find(
      (entry) => entry.id === transcriptId,
    );
    const times = item === undefined ? undefined : timesFrom(item);
    return { type: "times", times: times ?? "unknown" };
  }

  /**
   * Opens a download (a presigned URL: no API key is sent). The response must start within the client's
   * timeout; the body may then stream until `totalTimeoutMs`. Redirects are refused, not followed, and no
   * more than `maxBytes` is ever read.
   */
  async openDownload(url: string, options: DownloadOptions): Promise<DownloadResult> {
    const firstByte = new AbortController();
    const timer = setTimeout(
      () => firstByte.abort(new DOMException("no response in time", "TimeoutError")),
      this.options.timeoutMs,
    );
    try {
      const response = await fetch(url, {
        redirect: "error",
        signal: withCallerSignal(
          AbortSignal.any([firstByte.signal, AbortSignal.timeout(options.totalTimeoutMs)]),
          options.signal,
        ),
      });
      const ok = response.ok;
      const declaredBytes = contentLength(response.headers.get("content-length"));
      if (ok && declaredBytes !== undefined && declaredBytes > options.maxBytes) {
        await response.body?.cancel().catch(() => undefined);
        return { type: "too_large", status: response.status, declaredBytes };
      }
      if (!ok) await response.body?.cancel().catch(() => undefined);
      let exceeded = false;
      const body =
        ok && response.body
          ? limitBytes(response.body, options.maxBytes, () => {
              exceeded = true;
            })
          : null;
      return {
        type: "response",
        status: response.status,
        retryAfter: response.headers.get("retry-after"),
        body,
        contentType: response.headers.get("content-type"),
        exceededLimit: () => exceeded,
      };
    } catch (error) {
      if (isRedirectError(error)) {
        return { type: "redirect_refused", reason: "redacted audio download answered with a redirect" };
      }
      return networkError(error);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The request's own timeout, and the caller's signal when there is one. */
function withCallerSignal(own: AbortSignal, caller: AbortSignal | undefined): AbortSignal {
  return caller === undefined ? own : AbortSignal.any([own, caller]);
}

/** A `content-length` as a number of bytes; undefined when absent or not a plain number. */
function contentLength(header: string | null): number | undefined {
  const value = header?.trim();
  return value && /^\d+$/.test(value) ? Number(value) : undefined;
}

/**
 * Passes a body through while counting its bytes; past `maxBytes` it errors with DownloadTooLarge, which
 * also cancels the source (the connection is dropped, nothing more is read).
 */
function limitBytes(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  onExceeded: () => void,
): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > maxBytes) {
          onExceeded();
          controller.error(new DownloadTooLarge(`redacted audio is larger than ${maxBytes} bytes`));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
}

/**
 * Node's fetch with `redirect: "error"` rejects a 3xx with a TypeError caused by "unexpected redirect".
 * Read by shape, not `instanceof`: fetch's errors may come from another realm (as under Jest).
 */
function isRedirectError(error: unknown): boolean {
  const cause: unknown = isObject(error) ? error.cause : undefined;
  return isObject(cause) && typeof cause.message === "string" && /redirect/i.test(cause.message);
}

function isObject(value: unknown): value is { readonly [key: string]: unknown } {
  return typeof value === "object" && value !== null;
}

function isTranscript(value: unknown): value is Transcript {
  return isRecord(value) && typeof value.id === "string" && typeof value.status === "string";
}

function errorMessage(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (isRecord(parsed) && typeof parsed.error === "string") {
      return parsed.error.slice(0, MAX_ERROR_MESSAGE_LENGTH);
    }
  } catch {
    // Not JSON: quote the start of the body instead (a proxy's HTML page, say).
  }
  const text = body.trim();
  return text ? text.slice(0, MAX_ERROR_MESSAGE_LENGTH) : undefined;
}

function networkError(error: unknown): Extract<RequestFailure, { type: "network_error" }> {
  const name = error instanceof Error || error instanceof DOMException ? error.name : "";
  const cause = error instanceof Error && error.cause !== undefined ? ` (${describeError(error.cause)})` : "";
  return {
    type: "network_error",
    timedOut: name === "TimeoutError",
    reason: `${describeError(error)}${cause}`,
  };
}
