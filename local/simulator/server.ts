/**
 * An in-memory stand-in for the AssemblyAI v2 API that the official SDK can use through `baseUrl`.
 * This file only composes it: state.ts (the store), jobs.ts (job lifecycle), webhooks.ts (delivery),
 * routes.ts (the HTTP API, with list.ts, render.ts and http.ts) and control.ts (`/__simulator`).
 *
 * Two regions, as AssemblyAI has: the US API at the root and the EU API under `/eu` (`sim.euUrl`, i.e.
 * `new AssemblyAI({ baseUrl: sim.euUrl })`), each with its own transcripts, list and (optionally) API key: a
 * job submitted to one region is only readable there. Their webhooks come from the same address
 * (127.0.0.1), so the local signal of the EU region is the webhook URL's `aai_region=eu`.
 *
 * Routes (all /v2 routes need an `authorization` header), under `/eu` too:
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
 *   POST   /__simulator/streaming-sessions      a streaming session ends: { webhook_url, webhook_auth_header_name?,
 *                                               webhook_auth_header_value?, text? | turns?, session_id?, partials? };
 *                                               its `{session_id, messages}` body goes to webhook_url like any webhook
 *
 * Deliberate simplifications: speaker labels are on unless the request says `speaker_labels: false`;
 * `redact_pii_audio` does not require `redact_pii`; transcripts still queued or processing cannot be deleted.
 */
import { EventEmitter } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describeSimulator } from "./control";
import {
  type FaultRuleInput,
  FaultSwitches,
  RequestStats,
  type RouteKey,
  type SimulatorStats,
} from "./faults";
import { Jobs } from "./jobs";
import { createRequestListener } from "./routes";
import { buildSessionBody, type SessionBody, type SessionEndRequest } from "./sessions";
import { ContentCache, TranscriptStore, UploadStore } from "./state";
import { TimerSet } from "./timers";
import { type DeliveryAttempt, type DeliveryResult, WebhookSender } from "./webhooks";

// Kept importable from here: main.ts and index.ts (hence every importer of local/simulator) use this path.
export { describeSimulator } from "./control";
export type { TranscriptStatusEvent } from "./jobs";
export type { SessionEndRequest } from "./sessions";

/** A streaming session that ended: the body posted, and its delivery's result once settled. */
export interface EndedSession extends SessionBody {
  readonly delivered: Promise<DeliveryResult>;
}

export interface SimulatorOptions {
  /** Port on 127.0.0.1; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Base URL put in upload, resource, page and redacted-audio URLs. @default `http://127.0.0.1:<port>` */
  readonly publicUrl?: string;
  /** Only this `authorization` value is accepted; omitted: any non-empty value. */
  readonly apiKey?: string;
  /** The EU region's key (under `/eu`), like `apiKey`. @default apiKey */
  readonly euApiKey?: string;
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

/** A running simulator. */
export interface Simulator {
  /** Base URL to give the SDK: `new AssemblyAI({ apiKey, baseUrl: sim.url })` (the US region). */
  readonly url: string;
  /** The EU region's base URL (`${url}/eu`): its own transcripts, only readable there. */
  readonly euUrl: string;
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
  /**
   * Ends a streaming session as AssemblyAI's streaming API does when a session opened with `webhook_url`
   * terminates: posts `{session_id, messages}` there, with the transcript webhooks' retry rules.
   */
  endStreamingSession(request: SessionEndRequest): EndedSession;
  /** The banner: routes, controls and fault switches. */
  describe(): string;
  /** Stops the server, cancels every timer and aborts webhook requests in flight. */
  close(): Promise<void>;
}

const MIB = 1024 * 1024;

/** The EU region's base path. */
const EU_PREFIX = "/eu";

/** Starts a simulator on 127.0.0.1. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const log = options.logger ?? (() => {});
  const timers = new TimerSet();
  const events = new EventEmitter();
  const faults = new FaultSwitches();
  for (const fault of options.faults ?? []) faults.add(fault);
  const stats = new RequestStats();
  const deliveries: DeliveryAttempt[] = [];
  const store = new TranscriptStore();
  const euStore = new TranscriptStore();
  const uploads = new UploadStore(options.maxStoredUploadBytes ?? 256 * MIB);
  const content = new ContentCache();

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

  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  // Known only once listening, and written into URLs the modules hand out. The listener is attached in
  // this same turn of the event loop, before any connection can be read.
  const baseUrl = (options.publicUrl ?? `http://127.0.0.1:${port}`).replace(/\/+$/, "");

  const euUrl = `${baseUrl}${EU_PREFIX}`;
  const jobs = new Jobs({ store, content, timers, sender, events, log, baseUrl });
  const euJobs = new Jobs({ store: euStore, content, timers, sender, events, log, baseUrl: euUrl });
  const endStreamingSession = (request: SessionEndRequest): EndedSession => {
    const session = buildSessionBody(request);
    log(`streaming session ${request.sessionId} ended (${session.turns} turns)`);
    const delivered = sender.deliver(
      {
        transcriptId: request.sessionId,
        kind: "streaming_session",
        url: request.webhook.url,
        payload: session.body,
        authHeader: request.webhook.authHeader,
      },
      () => {},
    );
    return { ...session, delivered };
  };
  const shared = {
    uploads,
    content,
    faults,
    stats,
    deliveries,
    endSession: endStreamingSession,
    maxUploadBytes: options.maxUploadBytes ?? 50 * MIB,
    processingDelayMs: options.processingDelayMs ?? 1500,
    defaultWordRange: options.defaultWordRange ?? [24, 64],
    log,
  };
  const us = createRequestListener({ ...shared, apiKey: options.apiKey, baseUrl, store, jobs });
  const eu = createRequestListener({
    ...shared,
    apiKey: options.euApiKey ?? options.apiKey,
    baseUrl: euUrl,
    store: euStore,
    jobs: euJobs,
  });
  server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    const url = request.url ?? "/";
    if (url === EU_PREFIX || url.startsWith(`${EU_PREFIX}/`) || url.startsWith(`${EU_PREFIX}?`)) {
      // The EU region sees its paths as the US one does: /v2/..., /files/... (control routes stay shared).
      request.url = url.slice(EU_PREFIX.length) || "/";
      eu(request, response);
      return;
    }
    us(request, response);
  });

  let closing: Promise<void> | null = null;

  return {
    url: baseUrl,
    euUrl,
    port,
    faults,
    events,
    deliveries,
    stats: () => stats.snapshot(),
    requestCount: (route, id) => stats.count(route, id),
    resetStats: () => stats.reset(),
    settled: async (transcriptId, timeoutMs = 30_000) => {
      const record = store.get(transcriptId) ?? euStore.get(transcriptId);
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
    endStreamingSession,
    describe: () => describeSimulator(baseUrl),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        timers.close();
        sender.close();
        jobs.releaseAll();
        euJobs.releaseAll();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
