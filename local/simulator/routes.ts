/** The HTTP API: routing, auth, fault switches, each endpoint's handler, and errors answered as JSON. */
import type http from "node:http";
import type { RedactedAudioResponse, UploadedFile } from "assemblyai";
import { type ControlDeps, controlRoute, isControlPath } from "./control";
import type { RouteKey } from "./faults";
import { HttpError, parseHttpUrl, readBody, readJsonObject, sendJson } from "./http";
import type { Jobs } from "./jobs";
import { listTranscripts } from "./list";
import { echoedOptions, redactedAudioUrl, renderTranscript } from "./render";
import type { ContentCache, JobRequest, TranscriptRecord, TranscriptStore, UploadStore } from "./state";
import { generateWav, hashSeed } from "./synthetic";
import { parseWebhookConfig } from "./webhooks";

const AUTH_ERROR = "Authentication error, API token missing/invalid";
const NOT_FOUND = "Transcript not found";
const MAX_WORDS = 1_000_000;
const ID_PATTERN = /^[A-Za-z0-9-]+$/;

export interface RoutesDeps extends ControlDeps {
  /** Only this `authorization` value is accepted; undefined: any non-empty value. */
  readonly apiKey: string | undefined;
  readonly store: TranscriptStore;
  readonly uploads: UploadStore;
  readonly content: ContentCache;
  readonly jobs: Jobs;
  readonly maxUploadBytes: number;
  /** A job's processing time when its audio URL has no `delay_ms=N`. */
  readonly processingDelayMs: number;
  /** Words when the audio URL has no `words=N`: a deterministic count in [min, max]. */
  readonly defaultWordRange: readonly [number, number];
  readonly log: (line: string) => void;
}

interface Matched {
  readonly route: RouteKey;
  readonly id?: string;
}

/** Maps method and path to a route; throws 405 for a known path with another method, 404 for the rest. */
function matchRoute(method: string, path: string): Matched {
  const only = (allowed: string, route: RouteKey, id?: string): Matched => {
    if (method !== allowed) throw new HttpError(405, "Method not allowed", { allow: allowed });
    return id === undefined ? { route } : { route, id };
  };
  if (path === "/v2/upload") return only("POST", "POST /v2/upload");
  if (path === "/v2/transcript" || path === "/v2/transcript/") {
    if (method === "POST") return { route: "POST /v2/transcript" };
    if (method === "GET") return { route: "GET /v2/transcript" };
    throw new HttpError(405, "Method not allowed", { allow: "GET, POST" });
  }
  const redacted = /^\/v2\/transcript\/([^/]+)\/redacted-audio$/.exec(path);
  if (redacted?.[1] !== undefined) return only("GET", "GET /v2/transcript/:id/redacted-audio", redacted[1]);
  const transcript = /^\/v2\/transcript\/([^/]+)$/.exec(path);
  if (transcript?.[1] !== undefined) {
    if (method === "GET") return { route: "GET /v2/transcript/:id", id: transcript[1] };
    if (method === "DELETE") return { route: "DELETE /v2/transcript/:id", id: transcript[1] };
    throw new HttpError(405, "Method not allowed", { allow: "GET, DELETE" });
  }
  const redactedFile = /^\/files\/redacted\/([^/]+)\.wav$/.exec(path);
  if (redactedFile?.[1] !== undefined) return only("GET", "GET /files/redacted/:id.wav", redactedFile[1]);
  const file = /^\/files\/([^/]+)$/.exec(path);
  if (file?.[1] !== undefined) return only("GET", "GET /files/:id", file[1]);
  throw new HttpError(404, "Not found");
}

function nonNegativeInteger(value: string | null, max: number): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), max);
}

/** Checks a `POST /v2/transcript` body and works out the job it asks for; throws HttpError 400. */
function parseJobRequest(deps: RoutesDeps, body: Record<string, unknown>): JobRequest {
  const audioUrl = parseHttpUrl(body.audio_url, "audio_url");
  const webhook = parseWebhookConfig(body);
  for (const flag of ["redact_pii_audio", "speaker_labels"]) {
    if (body[flag] !== undefined && body[flag] !== null && typeof body[flag] !== "boolean") {
      throw new HttpError(400, `${flag} must be a boolean`);
    }
  }

  const controls = audioUrl.searchParams;
  const wordsControl = nonNegativeInteger(controls.get("words"), MAX_WORDS);
  const delayControl = nonNegativeInteger(controls.get("delay_ms"), 600_000);
  const rawAudioUrl = body.audio_url as string;
  // An upload that does not exist here cannot be downloaded: the real API ends such a job in error.
  const uploadPrefix = `${deps.baseUrl}/files/`;
  const missingUpload =
    rawAudioUrl.startsWith(uploadPrefix) &&
    !rawAudioUrl.startsWith(`${uploadPrefix}redacted/`) &&
    !deps.uploads.has(rawAudioUrl.slice(uploadPrefix.length));

  const speakerLabels = body.speaker_labels !== false;
  const redactPiiAudio = body.redact_pii_audio === true;
  const [minWords, maxWords] = deps.defaultWordRange;
  const defaultWords = minWords + (hashSeed(rawAudioUrl) % (Math.max(0, maxWords - minWords) + 1));
  return {
    audioUrl: rawAudioUrl,
    echoed: echoedOptions(body, speakerLabels, redactPiiAudio),
    webhook,
    redactPiiAudio,
    speakerLabels,
    speechModelUsed: typeof body.speech_model === "string" ? body.speech_model : "universal",
    wordCount: wordsControl ?? defaultWords,
    simulateError: controls.get("simulate") === "error" || missingUpload,
    delayMs: delayControl ?? deps.processingDelayMs,
  };
}

function findTranscript(deps: RoutesDeps, id: string): TranscriptRecord {
  const record = deps.store.get(id);
  if (record === undefined) throw new HttpError(404, NOT_FOUND);
  return record;
}

/** Runs the endpoint's handler for a request that passed routing, auth and the fault switches. */
async function apiRoute(
  deps: RoutesDeps,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  url: URL,
  matched: Matched,
): Promise<void> {
  const id = matched.id ?? "";
  switch (matched.route) {
    case "POST /v2/upload": {
      const bytes = await readBody(request, deps.maxUploadBytes);
      if (bytes.length === 0) throw new HttpError(400, "Upload body is empty");
      const uploaded: UploadedFile = { upload_url: `${deps.baseUrl}/files/${deps.uploads.add(bytes)}` };
      return sendJson(response, 200, uploaded);
    }
    case "POST /v2/transcript": {
      const record = deps.jobs.submit(parseJobRequest(deps, await readJsonObject(request)));
      return sendJson(response, 200, renderTranscript(record, deps.content));
    }
    case "GET /v2/transcript":
      return sendJson(response, 200, listTranscripts(deps.store, url.searchParams, deps.baseUrl));
    case "GET /v2/transcript/:id":
      return sendJson(response, 200, renderTranscript(findTranscript(deps, id), deps.content));
    case "DELETE /v2/transcript/:id": {
      const record = findTranscript(deps, id);
      if (!deps.jobs.delete(record)) {
        throw new HttpError(400, `Transcript ${id} is still ${record.status} and cannot be deleted yet`);
      }
      return sendJson(response, 200, renderTranscript(record, deps.content));
    }
    case "GET /v2/transcript/:id/redacted-audio": {
      const record = findTranscript(deps, id);
      if (!record.redactPiiAudio)
        throw new HttpError(400, "Redacted audio was not requested for this transcript");
      if (record.deleted) throw new HttpError(400, "Transcript was deleted");
      if (record.status !== "completed") throw new HttpError(400, `Transcript is ${record.status}`);
      const redacted: RedactedAudioResponse = {
        redacted_audio_url: redactedAudioUrl(deps.baseUrl, record.id),
        status: "redacted_audio_ready",
      };
      return sendJson(response, 200, redacted);
    }
    case "GET /files/:id": {
      const bytes = deps.uploads.get(id);
      if (bytes === undefined) throw new HttpError(404, "File not found");
      response.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": bytes.length,
      });
      response.end(bytes);
      return;
    }
    case "GET /files/redacted/:id.wav": {
      const record = deps.store.get(id);
      if (record === undefined || !record.redactPiiAudio || record.status !== "completed" || record.deleted) {
        throw new HttpError(404, "File not found");
      }
      const wav = generateWav(record.audioUrl);
      response.writeHead(200, { "content-type": "audio/wav", "content-length": wav.length });
      response.end(wav);
      return;
    }
  }
}

async function handle(
  deps: RoutesDeps,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? "/", "http://simulator.invalid");
  const path = url.pathname;
  if (isControlPath(path)) return controlRoute(deps, request, response, path);

  const matched = matchRoute(request.method ?? "GET", path);
  deps.stats.record(matched.route, matched.id);
  if (path.startsWith("/v2/")) {
    const key = request.headers.authorization;
    const valid = deps.apiKey === undefined ? typeof key === "string" && key.length > 0 : key === deps.apiKey;
    if (!valid) throw new HttpError(401, AUTH_ERROR);
  }
  const fault = deps.faults.consume(matched.route, matched.id);
  if (fault !== undefined) {
    const messages: Record<number, string> = {
      404: NOT_FOUND,
      429: "Too many requests, please slow down",
      500: "Internal server error",
    };
    const headers: Record<string, string> =
      fault.status === 429 ? { "retry-after": String(fault.retryAfterSeconds) } : {};
    request.resume();
    return sendJson(response, fault.status, { error: messages[fault.status] }, headers);
  }
  if (matched.id !== undefined && matched.route.includes(":id") && !ID_PATTERN.test(matched.id)) {
    throw new HttpError(404, matched.route.startsWith("GET /files") ? "File not found" : NOT_FOUND);
  }
  return apiRoute(deps, request, response, url, matched);
}

/** The server's request listener: HttpError becomes its `{ error }` answer, anything else a logged 500. */
export function createRequestListener(
  deps: RoutesDeps,
): (request: http.IncomingMessage, response: http.ServerResponse) => void {
  return (request, response) => {
    handle(deps, request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      request.resume();
      if (error instanceof HttpError) {
        sendJson(response, error.statusCode, { error: error.message }, error.headers);
        return;
      }
      deps.log(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
      sendJson(response, 500, { error: "Internal server error" });
    });
  };
}
