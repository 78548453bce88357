/** Job lifecycle: chained timers move a status only forward, completion sends the webhooks; deletion. */
import type { EventEmitter } from "node:events";
import type { RedactedAudioNotification, TranscriptReadyNotification, TranscriptStatus } from "assemblyai";
import { redactedAudioUrl } from "./render";
import type { ContentCache, JobRequest, TranscriptRecord, TranscriptStore } from "./state";
import type { TimerSet } from "./timers";
import type { DeliveryResult, WebhookDelivery, WebhookSender } from "./webhooks";

export interface TranscriptStatusEvent {
  readonly transcriptId: string;
  readonly status: TranscriptStatus;
}

const STATUS_ORDER: Readonly<Record<TranscriptStatus, number>> = {
  queued: 0,
  processing: 1,
  completed: 2,
  error: 2,
};

export interface JobsDeps {
  readonly store: TranscriptStore;
  readonly content: ContentCache;
  readonly timers: TimerSet;
  readonly sender: WebhookSender;
  /** Receives "status" (TranscriptStatusEvent). */
  readonly events: EventEmitter;
  readonly log: (line: string) => void;
  /** Base URL of the redacted-audio links sent in webhooks. */
  readonly baseUrl: string;
}

/** Runs every transcript's job, from submit to its last webhook. */
export class Jobs {
  // Resolvers of jobs not yet settled: releaseAll() frees them so nobody waits on a stopped simulator.
  private readonly pending = new Set<() => void>();

  constructor(private readonly deps: JobsDeps) {}

  /** Stores a queued transcript and starts its job; `done` settles once the job and its webhooks are. */
  submit(request: JobRequest): TranscriptRecord {
    const record = this.deps.store.create(request);
    record.done = this.run(record);
    return record;
  }

  /** Deletes a finished transcript's content; false (and nothing changes) while it is queued or processing. */
  delete(record: TranscriptRecord): boolean {
    if (record.status === "queued" || record.status === "processing") return false;
    record.deleted = true;
    this.deps.content.delete(record.id);
    return true;
  }

  /** Settles every job still waiting; called on close, after the timers are cancelled. */
  releaseAll(): void {
    for (const release of [...this.pending]) release();
  }

  /** Runs a job to its end and delivers its webhooks; resolves when all of that has happened. */
  private run(record: TranscriptRecord): Promise<void> {
    const { timers } = this.deps;
    return new Promise<void>((settle) => {
      const resolve = (): void => {
        this.pending.delete(resolve);
        settle();
      };
      this.pending.add(resolve);
      // The second timer is set by the first, never beside it: Node keeps one timer list per duration, and
      // after an event-loop stall a longer list can run before a shorter one.
      const processingAfterMs = Math.floor(record.delayMs / 3);
      timers.set(() => {
        this.setStatus(record, "processing");
        timers.set(() => this.complete(record, resolve), record.delayMs - processingAfterMs);
      }, processingAfterMs);
    });
  }

  // A status only moves forward (queued, processing, then completed or error), as AssemblyAI's does.
  private setStatus(record: TranscriptRecord, status: TranscriptStatus): void {
    if (STATUS_ORDER[status] <= STATUS_ORDER[record.status]) return;
    record.status = status;
    this.deps.events.emit("status", { transcriptId: record.id, status } satisfies TranscriptStatusEvent);
  }

  /** Finishes a job (completed or error) and delivers its webhooks, then calls `resolve`. */
  private complete(record: TranscriptRecord, resolve: () => void): void {
    if (record.simulateError) {
      record.error = `Download error, unable to download ${record.audioUrl}. Please make sure the file exists and is accessible from the internet.`;
    } else {
      const content = this.deps.content.generate(record);
      record.summary = {
        wordCount: content.wordCount,
        confidence: content.confidence,
        audioDurationSeconds: content.audioDurationSeconds,
      };
    }
    record.completed = this.deps.store.stamp();
    const status = record.simulateError ? "error" : "completed";
    this.setStatus(record, status);
    this.deps.log(
      `transcript ${record.id} ${status}${record.summary ? ` (${record.summary.wordCount} words)` : ""}`,
    );
    void (async () => {
      await this.deliverWebhook(record, "transcript", { transcript_id: record.id, status }, true);
      if (status === "completed" && record.redactPiiAudio && !this.deps.timers.isClosed) {
        await this.deliverWebhook(
          record,
          "redacted_audio",
          {
            redacted_audio_url: redactedAudioUrl(this.deps.baseUrl, record.id),
            status: "redacted_audio_ready",
          },
          false,
        );
      }
      resolve();
    })();
  }

  /** One webhook to the transcript's `webhook_url`, if it has one; `trackStatus` keeps `webhook_status_code`. */
  private deliverWebhook(
    record: TranscriptRecord,
    kind: WebhookDelivery["kind"],
    payload: TranscriptReadyNotification | RedactedAudioNotification,
    trackStatus: boolean,
  ): Promise<DeliveryResult> {
    const webhook = record.webhook;
    if (webhook === null) return Promise.resolve({ delivered: false, attempts: 0, lastStatusCode: null });
    return this.deps.sender.deliver(
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
  }
}
