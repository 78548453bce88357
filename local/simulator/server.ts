/**
 * An in-memory stand-in for the AssemblyAI v2 API that the official SDK can use through `baseUrl`.
 *
 * Routes (all /v2 routes need an `authorization` header):
 *   POST   /v2/upload                           raw bytes -> { upload_url }
 *   POST   /v2/transcript                       JSON { audio_url, webhook_url?, webhook_auth_header_*?, ... }
 *   GET    /v2/transcript                       list: limit, status, created_on, before_id, after_id, throttled_only
 *   GET    /v2/transcript/:id                   the transcript
 *   DELETE /v2/transcript/:id                   delete: afterwards text "Deleted by user."
 *   GET    /v2/transcript/:id/redacted-audio    { redacted_audio_url, status } when redact_pii_audio was set
 *   GET    /files/:id                           an uploaded file (no auth, like a presigned URL)
 *   GET    /files/redacted/:id.wav              the redacted audio (no auth, like a presigned URL)
 *
 * Controls on the audio URL's query string (they shape the synthetic result, the URL is otherwise opaque):
 *   simulate=error   the job ends in status "error" with a download error message
 *   words=N          an N-word transcript (0 to 1,000,000); default a few dozen, chosen by the URL's hash
 *   delay_ms=N       this job's processing time instead of the simulator's processingDelayMs
 *
 * Fault switches (options.faults, sim.faults.add/remove/clear, or HTTP below) make a route answer 429 (with
 * Retry-After), 500 or 404 for the next N requests or until cleared, optionally for one transcript id only;
 * by default they target GET /v2/transcript/:id. Control endpoints, no auth:
 *   GET    /__simulator                         this description
 *   GET    /__simulator/faults                  active switches
 *   POST   /__simulator/faults                  add: { status: 429|500|404, times?, transcriptId?, retryAfterSeconds?, route? }
 *   DELETE /__simulator/faults[/:faultId]       clear all, or one
 *   GET    /__simulator/stats                   request counts per route and per transcript id
 *   DELETE /__simulator/stats                   reset the counts
 *   GET    /__simulator/deliveries              webhook delivery attempts
 *
 * Deliberate simplifications: speaker labels are on unless the request says `speaker_labels: false`;
 * `redact_pii_audio` does not require `redact_pii`; transcripts still queued or processing cannot be deleted.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type {
  PageDetails,
  RedactedAudioNotification,
  RedactedAudioResponse,
  TranscriptListItem,
  TranscriptReadyNotification,
  TranscriptStatus,
  UploadedFile,
} from "assemblyai";
import { DELETED_TRANSCRIPT_TEXT } from "../../functions/shared/assemblyai";
import {
  FaultInputError,
  type FaultRule,
  type FaultRuleInput,
  FaultSwitches,
  parseFaultInput,
  RequestStats,
  type RouteKey,
  type SimulatorStats,
} from "./faults";
import {
  type ContentSummary,
  generateContent,
  generateWav,
  hashSeed,
  type SyntheticContent,
} from "./synthetic";
import {
  type DeliveryAttempt,
  type DeliveryResult,
  TimerSet,
  type WebhookDelivery,
  WebhookSender,
} from "./webhooks";

export interface SimulatorOptions {
  /** Port on 127.0.0.1; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Base URL put in upload, resource, page and redacted-audio URLs. @default `http://127.0.0.1:<port>` */
  readonly publicUrl?: string;
  /** Only this `authorization` value is accepted; omitted: any non-empty value. */
  readonly apiKey?: string;
  /** Submit to completed; the job turns `processing` after a third of it. @default 1500 */
  readonly processingDelayMs?: number;
  /** Words when the audio URL has no `words=N`: a deterministic count in [min, max]. @default [24, 64] */
  readonly defaultWordRange?: readonly [number, number];
  /** A webhook attempt without a 2xx within this time counts as failed. @default 10000 */
  readonly webhookTimeoutMs?: number;
  /** Wait between webhook attempts. @default 10000 */
  readonly webhookRetryIntervalMs?: number;
  /** Webhook attempts in all. @default 10 */
  readonly webhookMaxAttempts?: number;
  /** Largest accepted upload. @default 50 MiB */
  readonly maxUploadBytes?: number;
  /** Uploads kept in memory in all; the oldest are dropped beyond it. @default 256 MiB */
  readonly maxStoredUploadBytes?: number;
  /** Fault switches active from the start. */
  readonly faults?: readonly FaultRuleInput[];
  /** One readable line per webhook attempt and per finished job (e.g. `console.log`). */
  readonly logger?: (line: string) => void;
}

export interface TranscriptStatusEvent {
  readonly transcriptId: string;
  readonly status: TranscriptStatus;
}

/** A running simulator. */
export interface Simulator {
  /** Base URL to give the SDK: `new AssemblyAI({ apiKey, baseUrl: sim.url })`. */
  readonly url: string;
  readonly port: number;
  /** Fault switches, changeable at any time. */
  readonly faults: FaultSwitches;
  /** Emits "delivery" (DeliveryAttempt) and "status" (TranscriptStatusEvent). */
  readonly events: EventEmitter;
  /** Every webhook attempt so far, oldest first. */
  readonly deliveries: readonly DeliveryAttempt[];
  /** Request counts since start or the last reset. */
  stats(): SimulatorStats;
  /** Requests to `route`, for one transcript (or file) id when given. */
  requestCount(route: RouteKey, id?: string): number;
  resetStats(): void;
  /**
   * Resolves once the transcript has finished and all its webhooks have settled (delivered, refused or out of
   * attempts), with that transcript's attempts. Rejects for an unknown id or after `timeoutMs`.
   */
  settled(transcriptId: string, timeoutMs?: number): Promise<DeliveryAttempt[]>;
  /** The banner: routes, controls and fault switches. */
  describe(): string;
  /** Stops the server, cancels every timer and aborts webhook requests in flight. */
  close(): Promise<void>;
}

/** A list item as sent: the SDK turns `created` and `completed` into Dates on its side. */
type WireListItem = Omit<TranscriptListItem, "created" | "completed"> & {
  created: string;
  completed: string | null;
};

interface WebhookConfig {
  readonly url: string;
  readonly authHeader: { readonly name: string; readonly value: string } | null;
}

interface TranscriptRecord {
  readonly id: string;
  readonly seq: number;
  readonly created: Date;
  completed: Date | null;
  status: TranscriptStatus;
  error: string | null;
  audioUrl: string;
  /** Request fields echoed back (never the webhook auth value). */
  readonly echoed: Record<string, unknown>;
  readonly webhook: WebhookConfig | null;
  webhookStatusCode: number | null;
  readonly redactPiiAudio: boolean;
  readonly speakerLabels: boolean;
  readonly speechModelUsed: string;
  readonly wordCount: number;
  readonly simulateError: boolean;
  readonly delayMs: number;
  summary: ContentSummary | null;
  deleted: boolean;
  /** Settles when the job and its webhooks are done. */
  done: Promise<void>;
}

const AUTH_ERROR = "Authentication error, API token missing/invalid";
const NOT_FOUND = "Transcript not found";
const DELETED_URL = "http://deleted_by_user";
const MAX_WORDS = 1_000_000;
const MAX_JSON_BODY = 1024 * 1024;
const MIB = 1024 * 1024;
const ID_PATTERN = /^[A-Za-z0-9-]+$/;
const STATUSES: readonly TranscriptStatus[] = ["queued", "processing", "completed", "error"];
const STATUS_ORDER: Readonly<Record<TranscriptStatus, number>> = {
  queued: 0,
  processing: 1,
  completed: 2,
  error: 2,
};
// Fields the API owns: a request cannot set them through the echo.
const SYSTEM_FIELDS = new Set([
  "id",
  "status",
  "error",
  "text",
  "words",
  "utterances",
  "confidence",
  "audio_duration",
  "webhook_status_code",
  "webhook_auth",
  "webhook_auth_header_value",
  "speech_model_used",
  "throttled",
]);
// What the real API answers for options a request did not set.
const DEFAULT_ECHO: Readonly<Record<string, unknown>> = {
  language_model: "assemblyai_default",
  acoustic_model: "assemblyai_default",
  language_code: "en_us",
  language_detection: false,
  language_confidence_threshold: null,
  language_confidence: null,
  language_codes: null,
  speech_model: null,
  punctuate: true,
  format_text: true,
  disfluencies: false,
  multichannel: null,
  dual_channel: null,
  audio_start_from: null,
  audio_end_at: null,
  word_boost: [],
  boost_param: null,
  custom_spelling: null,
  filter_profanity: false,
  redact_pii: false,
  redact_pii_audio: false,
  redact_pii_audio_quality: null,
  redact_pii_policies: null,
  redact_pii_sub: null,
  speakers_expected: null,
  auto_highlights: false,
  auto_highlights_result: null,
  content_safety: false,
  content_safety_labels: null,
  iab_categories: false,
  iab_categories_result: null,
  auto_chapters: false,
  chapters: null,
  summarization: false,
  summary_type: null,
  summary_model: null,
  summary: null,
  custom_topics: false,
  topics: [],
  sentiment_analysis: false,
  sentiment_analysis_results: null,
  entity_detection: false,
  entities: null,
  speech_threshold: null,
};

/** A request the client got wrong: answered with `{ error }` and this status. */
class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sendJson(
  response: http.ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  response.writeHead(statusCode, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  response.end(text);
}

/** Reads the whole body; beyond `limit` it drains the rest and throws 413. */
async function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(buffer);
  }
  if (tooLarge) throw new HttpError(413, `Request body is larger than ${limit} bytes`);
  return Buffer.concat(chunks);
}

async function readJsonObject(request: http.IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(request, MAX_JSON_BODY);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new HttpError(400, "Invalid JSON body");
  }
  if (!isRecord(parsed)) throw new HttpError(400, "The request body must be a JSON object");
  return parsed;
}

function parseHttpUrl(value: unknown, field: string): URL {
  if (typeof value !== "string" || value.length === 0)
    throw new HttpError(400, `${field} must be a URL string`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new HttpError(400, `Invalid ${field}: ${value}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new HttpError(400, `Invalid ${field}: ${value}`);
  return url;
}

function optionalString(body: Record<string, unknown>, field: string): string | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.length === 0)
    throw new HttpError(400, `${field} must be a non-empty string`);
  return value;
}

function nonNegativeInteger(value: string | null, max: number): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), max);
}

/** Builds the text for `describe()` and the CLI banner. */
export function describeSimulator(url: string): string {
  return [
    `AssemblyAI simulator at ${url}`,
    `  SDK:      new AssemblyAI({ apiKey: "any", baseUrl: "${url}" })`,
    "  API:      POST /v2/upload, POST /v2/transcript, GET /v2/transcript[?limit&status&created_on&before_id&after_id]",
    "            GET|DELETE /v2/transcript/:id, GET /v2/transcript/:id/redacted-audio (authorization header required)",
    "  Audio URL controls (query string): simulate=error | words=N | delay_ms=N",
    "  Faults:   POST /__simulator/faults {status: 429|500|404, times?, transcriptId?, retryAfterSeconds?, route?}",
    "            GET /__simulator/faults, DELETE /__simulator/faults[/:faultId]",
    "  Stats:    GET|DELETE /__simulator/stats, GET /__simulator/deliveries",
  ].join("\n");
}

/** Starts a simulator on 127.0.0.1. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const processingDelayMs = options.processingDelayMs ?? 1500;
  const [minWords, maxWords] = options.defaultWordRange ?? [24, 64];
  const maxUploadBytes = options.maxUploadBytes ?? 50 * MIB;
  const maxStoredUploadBytes = options.maxStoredUploadBytes ?? 256 * MIB;
  const log = options.logger ?? (() => {});

  const timers = new TimerSet();
  const events = new EventEmitter();
  const faults = new FaultSwitches();
  for (const fault of options.faults ?? []) faults.add(fault);
  const stats = new RequestStats();
  const deliveries: DeliveryAttempt[] = [];
  const transcripts = new Map<string, TranscriptRecord>();
  const uploads = new Map<string, Buffer>();
  let storedUploadBytes = 0;
  let sequence = 0;
  // Bodies of the last few completed transcripts: regenerating is deterministic, caching only saves time.
  const contentCache = new Map<string, string>();
  const CONTENT_CACHE_SIZE = 4;

  const sender = new WebhookSender(
    {
      timeoutMs: options.webhookTimeoutMs ?? 10_000,
      retryIntervalMs: options.webhookRetryIntervalMs ?? 10_000,
      maxAttempts: options.webhookMaxAttempts ?? 10,
    },
    timers,
    (attempt) => {
      deliveries.push(attempt);
      const result = attempt.statusCode ?? attempt.error;
      log(
        `webhook ${attempt.kind} ${attempt.transcriptId} attempt ${attempt.attempt}: ${result} -> ${attempt.outcome}`,
      );
      events.emit("delivery", attempt);
    },
  );

  let baseUrl = "";

  const generateFor = (record: TranscriptRecord): SyntheticContent => {
    const content = generateContent({
      seedSource: record.audioUrl,
      wordCount: record.wordCount,
      speakerLabels: record.speakerLabels,
    });
    contentCache.set(record.id, content.jsonFragment);
    if (contentCache.size > CONTENT_CACHE_SIZE) {
      const oldest = contentCache.keys().next().value;
      if (oldest !== undefined) contentCache.delete(oldest);
    }
    return content;
  };

  const contentFragment = (record: TranscriptRecord): string =>
    contentCache.get(record.id) ?? generateFor(record).jsonFragment;

  const redactedAudioUrl = (record: TranscriptRecord): string => `${baseUrl}/files/redacted/${record.id}.wav`;

  const renderTranscript = (record: TranscriptRecord): string => {
    const completed = record.status === "completed";
    // Identity first for readable dumps; later assignments keep a key's first position.
    const meta: Record<string, unknown> = { id: record.id, status: record.status, audio_url: "" };
    Object.assign(meta, record.echoed, {
      audio_url: record.deleted ? DELETED_URL : record.audioUrl,
      status: record.status,
      error: record.error ?? undefined,
      confidence: completed && !record.deleted ? (record.summary?.confidence ?? null) : null,
      audio_duration: completed ? (record.summary?.audioDurationSeconds ?? null) : null,
      speech_model_used: completed ? record.speechModelUsed : null,
      throttled: false,
      webhook_url: record.webhook === null ? null : record.deleted ? DELETED_URL : record.webhook.url,
      webhook_status_code: record.webhookStatusCode,
      webhook_auth: record.webhook?.authHeader != null,
      webhook_auth_header_name: record.webhook?.authHeader?.name ?? null,
    });
    if (completed && !record.deleted) {
      return `${JSON.stringify(meta).slice(0, -1)},${contentFragment(record)}}`;
    }
    meta.text = record.deleted ? DELETED_TRANSCRIPT_TEXT : null;
    meta.words = null;
    meta.utterances = null;
    return JSON.stringify(meta);
  };

  const listItem = (record: TranscriptRecord): WireListItem => ({
    id: record.id,
    resource_url: `${baseUrl}/v2/transcript/${record.id}`,
    status: record.status,
    created: record.created.toISOString(),
    completed: record.completed?.toISOString() ?? null,
    audio_url: record.deleted ? DELETED_URL : record.audioUrl,
    error: record.error,
  });

  // A status only moves forward (queued, processing, then completed or error), as AssemblyAI's does.
  const setStatus = (record: TranscriptRecord, status: TranscriptStatus): void => {
    if (STATUS_ORDER[status] <= STATUS_ORDER[record.status]) return;
    record.status = status;
    events.emit("status", { transcriptId: record.id, status } satisfies TranscriptStatusEvent);
  };

  const deliverWebhook = (
    record: TranscriptRecord,
    kind: WebhookDelivery["kind"],
    payload: TranscriptReadyNotification | RedactedAudioNotification,
    trackStatus: boolean,
  ): Promise<DeliveryResult> => {
    const webhook = record.webhook;
    if (webhook === null) return Promise.resolve({ delivered: false, attempts: 0, lastStatusCode: null });
    return sender.deliver(
      {
        transcriptId: record.id,
        kind,
        url: webhook.url,
        payload: { ...payload },
        authHeader: webhook.authHeader,
      },
      (statusCode) => {
        if (trackStatus) record.webhookStatusCode = statusCode;
      },
    );
  };

  // Resolvers of jobs not yet settled: close() releases them so nobody waits on a stopped simulator.
  const pendingJobs = new Set<() => void>();

  /** Runs a job to its end and delivers its webhooks; resolves when all of that has happened. */
  const runJob = (record: TranscriptRecord): Promise<void> =>
    new Promise<void>((settle) => {
      const resolve = (): void => {
        pendingJobs.delete(resolve);
        settle();
      };
      pendingJobs.add(resolve);
      // The second timer is set by the first, never beside it: Node keeps one timer list per duration, and
      // after an event-loop stall a longer list can run before a shorter one.
      const processingAfterMs = Math.floor(record.delayMs / 3);
      timers.set(() => {
        setStatus(record, "processing");
        timers.set(() => complete(record, resolve), record.delayMs - processingAfterMs);
      }, processingAfterMs);
    });

  /** Finishes a job (completed or error) and delivers its webhooks, then calls `resolve`. */
  const complete = (record: TranscriptRecord, resolve: () => void): void => {
    if (record.simulateError) {
      record.error = `Download error, unable to download ${record.audioUrl}. Please make sure the file exists and is accessible from the internet.`;
    } else {
      const content = generateFor(record);
      record.summary = {
        wordCount: content.wordCount,
        confidence: content.confidence,
        audioDurationSeconds: content.audioDurationSeconds,
      };
    }
    record.completed = new Date();
    const status = record.simulateError ? "error" : "completed";
    setStatus(record, status);
    log(`transcript ${record.id} ${status}${record.summary ? ` (${record.summary.wordCount} words)` : ""}`);
    void (async () => {
      await deliverWebhook(record, "transcript", { transcript_id: record.id, status }, true);
      if (status === "completed" && record.redactPiiAudio && !timers.isClosed) {
        await deliverWebhook(
          record,
          "redacted_audio",
          { redacted_audio_url: redactedAudioUrl(record), status: "redacted_audio_ready" },
          false,
        );
      }
      resolve();
    })();
  };

  const createTranscript = (body: Record<string, unknown>): TranscriptRecord => {
    const audioUrl = parseHttpUrl(body.audio_url, "audio_url");
    const webhookUrl = body.webhook_url === undefined || body.webhook_url === null ? null : body.webhook_url;
    if (webhookUrl !== null) parseHttpUrl(webhookUrl, "webhook_url");
    const headerName = optionalString(body, "webhook_auth_header_name");
    const headerValue = optionalString(body, "webhook_auth_header_value");
    if ((headerName === null) !== (headerValue === null)) {
      throw new HttpError(
        400,
        "webhook_auth_header_name and webhook_auth_header_value must be given together",
      );
    }
    if (headerName !== null && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(headerName)) {
      throw new HttpError(400, "webhook_auth_header_name is not a valid HTTP header name");
    }
    // Visible ASCII, spaces and tabs: what can travel in an HTTP header value.
    if (headerValue !== null && !/^[\t\x20-\x7e]{1,4096}$/.test(headerValue)) {
      throw new HttpError(400, "webhook_auth_header_value must be 1 to 4096 printable ASCII characters");
    }
    for (const flag of ["redact_pii_audio", "speaker_labels"]) {
      if (body[flag] !== undefined && body[flag] !== null && typeof body[flag] !== "boolean") {
        throw new HttpError(400, `${flag} must be a boolean`);
      }
    }
    if (webhookUrl === null && headerName !== null) {
      throw new HttpError(400, "webhook_auth_header_name needs a webhook_url");
    }

    const controls = audioUrl.searchParams;
    const wordsControl = nonNegativeInteger(controls.get("words"), MAX_WORDS);
    const delayControl = nonNegativeInteger(controls.get("delay_ms"), 600_000);
    const rawAudioUrl = body.audio_url as string;
    // An upload that does not exist here cannot be downloaded: the real API ends such a job in error.
    const uploadPrefix = `${baseUrl}/files/`;
    const missingUpload =
      rawAudioUrl.startsWith(uploadPrefix) &&
      !rawAudioUrl.startsWith(`${uploadPrefix}redacted/`) &&
      !uploads.has(rawAudioUrl.slice(uploadPrefix.length));

    const echoed: Record<string, unknown> = { ...DEFAULT_ECHO };
    for (const [key, value] of Object.entries(body)) {
      if (!SYSTEM_FIELDS.has(key)) echoed[key] = value;
    }
    const speakerLabels = body.speaker_labels !== false;
    echoed.speaker_labels = speakerLabels;
    echoed.redact_pii_audio = body.redact_pii_audio === true;

    const defaultWords = minWords + (hashSeed(rawAudioUrl) % (Math.max(0, maxWords - minWords) + 1));
    const record: TranscriptRecord = {
      id: randomUUID(),
      seq: ++sequence,
      created: new Date(),
      completed: null,
      status: "queued",
      error: null,
      audioUrl: rawAudioUrl,
      echoed,
      webhook:
        webhookUrl === null
          ? null
          : {
              url: webhookUrl as string,
              authHeader:
                headerName !== null && headerValue !== null ? { name: headerName, value: headerValue } : null,
            },
      webhookStatusCode: null,
      redactPiiAudio: body.redact_pii_audio === true,
      speakerLabels,
      speechModelUsed: typeof body.speech_model === "string" ? body.speech_model : "universal",
      wordCount: wordsControl ?? defaultWords,
      simulateError: controls.get("simulate") === "error" || missingUpload,
      delayMs: delayControl ?? processingDelayMs,
      summary: null,
      deleted: false,
      done: Promise.resolve(),
    };
    transcripts.set(record.id, record);
    record.done = runJob(record);
    return record;
  };

  const listTranscripts = (query: URLSearchParams): string => {
    const limitParam = query.get("limit");
    let limit = 10;
    if (limitParam !== null && limitParam !== "") {
      if (!/^\d+$/.test(limitParam) || Number(limitParam) < 1)
        throw new HttpError(400, "limit must be a positive integer");
      limit = Math.min(Number(limitParam), 200);
    }
    const status = query.get("status") || null;
    if (status !== null && !STATUSES.includes(status as TranscriptStatus)) {
      throw new HttpError(400, `status must be one of ${STATUSES.join(", ")}`);
    }
    const createdOn = query.get("created_on") || null;
    if (createdOn !== null && !/^\d{4}-\d{2}-\d{2}$/.test(createdOn)) {
      throw new HttpError(400, "created_on must be a date in the form YYYY-MM-DD");
    }
    const throttledOnly = query.get("throttled_only") === "true";
    const anchor = (name: "before_id" | "after_id"): TranscriptRecord | null => {
      const id = query.get(name) || null;
      if (id === null) return null;
      const record = transcripts.get(id);
      if (record === undefined) throw new HttpError(400, `${name} is not a known transcript id`);
      return record;
    };
    const before = anchor("before_id");
    const after = anchor("after_id");

    // Newest first; `seq` breaks ties between transcripts created in the same millisecond.
    const matching = [...transcripts.values()]
      .filter(
        (record) =>
          // throttled_only overrides the status filter; nothing here is ever throttled.
          !throttledOnly &&
          (status === null || record.status === status) &&
          (createdOn === null || record.created.toISOString().startsWith(createdOn)),
      )
      .sort((a, b) => b.seq - a.seq);
    const window = matching.filter(
      (record) => (before === null || record.seq < before.seq) && (after === null || record.seq > after.seq),
    );
    // Paging forward from after_id takes the transcripts nearest to it, so no page is skipped.
    const page = after !== null && before === null ? window.slice(-limit) : window.slice(0, limit);

    const pageUrl = (cursor: Record<string, string>): string => {
      const params = new URLSearchParams({ limit: String(limit) });
      if (status !== null) params.set("status", status);
      if (createdOn !== null) params.set("created_on", createdOn);
      if (throttledOnly) params.set("throttled_only", "true");
      for (const [key, value] of Object.entries(cursor)) params.set(key, value);
      return `${baseUrl}/v2/transcript?${params}`;
    };
    const current: Record<string, string> = {};
    if (before !== null) current.before_id = before.id;
    if (after !== null) current.after_id = after.id;
    const newest = page[0];
    const oldest = page[page.length - 1];
    const details: PageDetails = {
      limit,
      result_count: page.length,
      current_url: pageUrl(current),
      prev_url:
        oldest !== undefined && matching.some((record) => record.seq < oldest.seq)
          ? pageUrl({ before_id: oldest.id })
          : null,
      next_url:
        newest !== undefined && matching.some((record) => record.seq > newest.seq)
          ? pageUrl({ after_id: newest.id })
          : null,
    };
    return JSON.stringify({ page_details: details, transcripts: page.map(listItem) });
  };

  const storeUpload = (bytes: Buffer): string => {
    const id = randomUUID();
    uploads.set(id, bytes);
    storedUploadBytes += bytes.length;
    for (const [oldId, oldBytes] of uploads) {
      if (storedUploadBytes <= maxStoredUploadBytes || oldId === id) break;
      uploads.delete(oldId);
      storedUploadBytes -= oldBytes.length;
    }
    return id;
  };

  const findTranscript = (id: string): TranscriptRecord => {
    const record = transcripts.get(id);
    if (record === undefined) throw new HttpError(404, NOT_FOUND);
    return record;
  };

  const controlRoute = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    path: string,
  ): Promise<void> => {
    const method = request.method ?? "GET";
    if (path === "/__simulator" || path === "/__simulator/") {
      response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      response.end(`${describeSimulator(baseUrl)}\n`);
      return;
    }
    if (path === "/__simulator/faults") {
      if (method === "GET") return sendJson(response, 200, { faults: faults.list() });
      if (method === "DELETE") {
        faults.clear();
        return sendJson(response, 200, { faults: [] });
      }
      if (method === "POST") {
        const body = await readJsonObject(request);
        const inputs = Array.isArray(body.faults) ? body.faults : [body];
        try {
          // Validate every rule before adding any, so a bad batch changes nothing.
          const parsed = inputs.map((input: unknown) => parseFaultInput(input));
          const added: FaultRule[] = parsed.map((input) => faults.add(input));
          return sendJson(response, 201, { faults: added });
        } catch (error: unknown) {
          if (error instanceof FaultInputError) throw new HttpError(400, error.message);
          throw error;
        }
      }
      throw new HttpError(405, "Method not allowed", { allow: "GET, POST, DELETE" });
    }
    const faultMatch = /^\/__simulator\/faults\/([^/]+)$/.exec(path);
    if (faultMatch?.[1] !== undefined) {
      if (method !== "DELETE") throw new HttpError(405, "Method not allowed", { allow: "DELETE" });
      if (!faults.remove(decodeURIComponent(faultMatch[1]))) throw new HttpError(404, "Fault not found");
      return sendJson(response, 200, { faults: faults.list() });
    }
    if (path === "/__simulator/stats") {
      if (method === "GET") return sendJson(response, 200, stats.snapshot());
      if (method === "DELETE") {
        stats.reset();
        return sendJson(response, 200, stats.snapshot());
      }
      throw new HttpError(405, "Method not allowed", { allow: "GET, DELETE" });
    }
    if (path === "/__simulator/deliveries") {
      if (method !== "GET") throw new HttpError(405, "Method not allowed", { allow: "GET" });
      return sendJson(response, 200, { deliveries });
    }
    throw new HttpError(404, "Not found");
  };

  interface Matched {
    readonly route: RouteKey;
    readonly id?: string;
  }

  /** Maps method and path to a route; throws 405 for a known path with another method, 404 for the rest. */
  const matchRoute = (method: string, path: string): Matched => {
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
  };

  const apiRoute = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    url: URL,
    matched: Matched,
  ): Promise<void> => {
    const id = matched.id ?? "";
    switch (matched.route) {
      case "POST /v2/upload": {
        const bytes = await readBody(request, maxUploadBytes);
        if (bytes.length === 0) throw new HttpError(400, "Upload body is empty");
        const uploaded: UploadedFile = { upload_url: `${baseUrl}/files/${storeUpload(bytes)}` };
        return sendJson(response, 200, uploaded);
      }
      case "POST /v2/transcript": {
        const record = createTranscript(await readJsonObject(request));
        return sendJson(response, 200, renderTranscript(record));
      }
      case "GET /v2/transcript":
        return sendJson(response, 200, listTranscripts(url.searchParams));
      case "GET /v2/transcript/:id":
        return sendJson(response, 200, renderTranscript(findTranscript(id)));
      case "DELETE /v2/transcript/:id": {
        const record = findTranscript(id);
        if (record.status === "queued" || record.status === "processing") {
          throw new HttpError(400, `Transcript ${id} is still ${record.status} and cannot be deleted yet`);
        }
        record.deleted = true;
        contentCache.delete(record.id);
        return sendJson(response, 200, renderTranscript(record));
      }
      case "GET /v2/transcript/:id/redacted-audio": {
        const record = findTranscript(id);
        if (!record.redactPiiAudio)
          throw new HttpError(400, "Redacted audio was not requested for this transcript");
        if (record.deleted) throw new HttpError(400, "Transcript was deleted");
        if (record.status !== "completed") throw new HttpError(400, `Transcript is ${record.status}`);
        const redacted: RedactedAudioResponse = {
          redacted_audio_url: redactedAudioUrl(record),
          status: "redacted_audio_ready",
        };
        return sendJson(response, 200, redacted);
      }
      case "GET /files/:id": {
        const bytes = uploads.get(id);
        if (bytes === undefined) throw new HttpError(404, "File not found");
        response.writeHead(200, {
          "content-type": "application/octet-stream",
          "content-length": bytes.length,
        });
        response.end(bytes);
        return;
      }
      case "GET /files/redacted/:id.wav": {
        const record = transcripts.get(id);
        if (
          record === undefined ||
          !record.redactPiiAudio ||
          record.status !== "completed" ||
          record.deleted
        ) {
          throw new HttpError(404, "File not found");
        }
        const wav = generateWav(record.audioUrl);
        response.writeHead(200, { "content-type": "audio/wav", "content-length": wav.length });
        response.end(wav);
        return;
      }
    }
  };

  const handle = async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? "/", "http://simulator.invalid");
    const path = url.pathname;
    if (path === "/__simulator" || path.startsWith("/__simulator/"))
      return controlRoute(request, response, path);

    const matched = matchRoute(request.method ?? "GET", path);
    stats.record(matched.route, matched.id);
    if (path.startsWith("/v2/")) {
      const key = request.headers.authorization;
      const valid =
        options.apiKey === undefined ? typeof key === "string" && key.length > 0 : key === options.apiKey;
      if (!valid) throw new HttpError(401, AUTH_ERROR);
    }
    const fault = faults.consume(matched.route, matched.id);
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
    return apiRoute(request, response, url, matched);
  };

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      request.resume();
      if (error instanceof HttpError) {
        sendJson(response, error.statusCode, { error: error.message }, error.headers);
        return;
      }
      log(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
      sendJson(response, 500, { error: "Internal server error" });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = (options.publicUrl ?? `http://127.0.0.1:${port}`).replace(/\/+$/, "");

  let closing: Promise<void> | null = null;

  return {
    url: baseUrl,
    port,
    faults,
    events,
    deliveries,
    stats: () => stats.snapshot(),
    requestCount: (route, id) => stats.count(route, id),
    resetStats: () => stats.reset(),
    settled: async (transcriptId, timeoutMs = 30_000) => {
      const record = transcripts.get(transcriptId);
      if (record === undefined) throw new Error(`Unknown transcript ${transcriptId}`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Transcript ${transcriptId} not settled after ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([record.done, timeout]);
      } finally {
        clearTimeout(timer);
      }
      return deliveries.filter((attempt) => attempt.transcriptId === transcriptId);
    },
    describe: () => describeSimulator(baseUrl),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        timers.close();
        sender.close();
        for (const release of [...pendingJobs]) release();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
