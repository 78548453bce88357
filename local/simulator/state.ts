/** The job store and its types: transcripts, uploads and generated transcript bodies, held in memory. */
import { randomUUID } from "node:crypto";
import type { TranscriptStatus } from "assemblyai";
import { type ContentSummary, generateContent, type SyntheticContent } from "./synthetic";

export interface WebhookConfig {
  readonly url: string;
  readonly authHeader: { readonly name: string; readonly value: string } | null;
}

/** What a submit asks for, parsed and checked, with the simulator's defaults filled in. */
export interface JobRequest {
  readonly audioUrl: string;
  /** Request fields echoed back (never the webhook auth value). */
  readonly echoed: Record<string, unknown>;
  readonly webhook: WebhookConfig | null;
  readonly redactPiiAudio: boolean;
  readonly speakerLabels: boolean;
  readonly speechModelUsed: string;
  readonly wordCount: number;
  readonly simulateError: boolean;
  readonly delayMs: number;
}

export interface TranscriptRecord extends JobRequest {
  readonly id: string;
  /** Submit order; `created` follows it. */
  readonly seq: number;
  /** Microseconds since the epoch (AssemblyAI's list shows microseconds), from `TranscriptStore.stamp()`. */
  readonly created: number;
  completed: number | null;
  status: TranscriptStatus;
  error: string | null;
  webhookStatusCode: number | null;
  summary: ContentSummary | null;
  deleted: boolean;
  /** Settles when the job and its webhooks are done. */
  done: Promise<void>;
}

/** Every transcript submitted since start. */
export class TranscriptStore {
  private readonly records = new Map<string, TranscriptRecord>();
  private sequence = 0;
  private lastStamp = 0;

  /**
   * Now, in microseconds since the epoch, always later than the last stamp, so `created` orders transcripts
   * as their submits did. The milliseconds are the wall clock's; the monotonic clock fills in the
   * microseconds, which the wall clock does not give.
   */
  stamp(): number {
    const micros = Date.now() * 1000 + Number((process.hrtime.bigint() / 1000n) % 1000n);
    this.lastStamp = Math.max(micros, this.lastStamp + 1);
    return this.lastStamp;
  }

  /** Stores a new queued transcript for `request`; its job is not started here. */
  create(request: JobRequest): TranscriptRecord {
    const record: TranscriptRecord = {
      ...request,
      id: randomUUID(),
      seq: ++this.sequence,
      created: this.stamp(),
      completed: null,
      status: "queued",
      error: null,
      webhookStatusCode: null,
      summary: null,
      deleted: false,
      done: Promise.resolve(),
    };
    this.records.set(record.id, record);
    return record;
  }

  get(id: string): TranscriptRecord | undefined {
    return this.records.get(id);
  }

  /** All transcripts, newest first. */
  newestFirst(): TranscriptRecord[] {
    return [...this.records.values()].sort((a, b) => b.seq - a.seq);
  }
}

/** Uploaded files, kept under a total size: beyond it the oldest are dropped. */
export class UploadStore {
  private readonly files = new Map<string, Buffer>();
  private storedBytes = 0;

  constructor(private readonly maxStoredBytes: number) {}

  /** Keeps `bytes` and answers their new id. */
  add(bytes: Buffer): string {
    const id = randomUUID();
    this.files.set(id, bytes);
    this.storedBytes += bytes.length;
    for (const [oldId, oldBytes] of this.files) {
      if (this.storedBytes <= this.maxStoredBytes || oldId === id) break;
      this.files.delete(oldId);
      this.storedBytes -= oldBytes.length;
    }
    return id;
  }

  get(id: string): Buffer | undefined {
    return this.files.get(id);
  }

  has(id: string): boolean {
    return this.files.has(id);
  }
}

/** Bodies of the last few completed transcripts: regenerating is deterministic, caching only saves time. */
export class ContentCache {
  private readonly fragments = new Map<string, string>();

  constructor(private readonly size = 4) {}

  /** Generates `record`'s content and keeps its JSON fragment. */
  generate(record: TranscriptRecord): SyntheticContent {
    const content = generateContent({
      seedSource: record.audioUrl,
      wordCount: record.wordCount,
      speakerLabels: record.speakerLabels,
    });
    this.fragments.set(record.id, content.jsonFragment);
    if (this.fragments.size > this.size) {
      const oldest = this.fragments.keys().next().value;
      if (oldest !== undefined) this.fragments.delete(oldest);
    }
    return content;
  }

  /** `record`'s `"text":...,"words":...,"utterances":...` fragment, regenerated when not cached. */
  fragment(record: TranscriptRecord): string {
    return this.fragments.get(record.id) ?? this.generate(record).jsonFragment;
  }

  delete(id: string): void {
    this.fragments.delete(id);
  }
}
