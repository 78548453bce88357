/** In-memory stand-ins for the reconciler's dependencies: AssemblyAI's list and reads, the table, the queue. */
import type { Transcript, TranscriptList, TranscriptStatus } from "assemblyai";
import { AssemblyAiRequestError } from "../../../functions/reconciler/assemblyai";
import type {
  ReconcileDeps,
  StoredTranscriptRef,
  WaitingFetchFailure,
} from "../../../functions/reconciler/types";
import type { DeliveryMessage } from "../../../functions/shared/contract/delivery";

export const WEBHOOK_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/webhook";
export const NOW = new Date("2025-06-01T12:00:00.000Z");

export interface FakeTranscript {
  readonly id: string;
  readonly status: TranscriptStatus;
  /** As AssemblyAI writes it: no zone, microseconds. */
  readonly created: string;
  readonly completed: string | null;
  readonly webhook_url: string | null;
  /** What the webhook's last attempt was answered; null when it got no answer (or none was sent). */
  readonly webhook_status_code?: number | null;
}

/** An AssemblyAI timestamp as the reconciler writes it into received_at (`toISOString()` form). */
export function receivedAt(assemblyAiTime: string): string {
  return new Date(`${assemblyAiTime.slice(0, 23)}Z`).toISOString();
}

/** `minutes` before NOW, in AssemblyAI's zone-less form. */
export function minutesAgo(minutes: number): string {
  return new Date(NOW.getTime() - minutes * 60_000).toISOString().replace("Z", "123");
}

export function transcript(
  id: string,
  createdMinutesAgo: number,
  overrides: Partial<Omit<FakeTranscript, "id">> & { query?: string } = {},
): FakeTranscript {
  const { query = `customer_id=c-${id}&order_id=o-${id}`, ...rest } = overrides;
  return {
    id,
    status: "completed",
    created: minutesAgo(createdMinutesAgo),
    completed: minutesAgo(Math.max(0, createdMinutesAgo - 1)),
    webhook_url: `${WEBHOOK_URL}?${query}`,
    ...rest,
  };
}

export class FakeAssemblyAi {
  readonly listQueries: Record<string, string>[] = [];
  readonly reads: string[] = [];
  failListAfter = Number.POSITIVE_INFINITY;
  failReadOf = new Set<string>();
  /** Reads answered with this HTTP status, as the real client reports it (AssemblyAiRequestError). */
  readonly readStatusOf = new Map<string, number>();

  constructor(private readonly transcripts: FakeTranscript[]) {}

  /** Newest first by creation; `before_id` gives the ones created before that id, like AssemblyAI. */
  async listTranscripts(query: Readonly<Record<string, string>>): Promise<TranscriptList> {
    this.listQueries.push({ ...query });
    if (this.listQueries.length > this.failListAfter) throw new Error("GET /v2/transcript answered 503");
    const ordered = [...this.transcripts].sort((a, b) => b.created.localeCompare(a.created));
    const limit = Number(query.limit ?? "10");
    const start = query.before_id ? ordered.findIndex((t) => t.id === query.before_id) + 1 : 0;
    const page = ordered.slice(start, start + limit);
    const more = start + limit < ordered.length;
    return {
      page_details: {
        limit,
        result_count: page.length,
        current_url: "https://api.assemblyai.com/v2/transcript",
        prev_url: more ? `https://api.assemblyai.com/v2/transcript?before_id=${page.at(-1)?.id}` : null,
        next_url: null,
      },
      // The wire carries strings; the SDK's type says Date. The core reads both.
      transcripts: page.map((t) => ({
        id: t.id,
        status: t.status,
        created: t.created as unknown as Date,
        completed: t.completed as unknown as Date,
        audio_url: "https://example.com/a.mp3",
        resource_url: `https://api.assemblyai.com/v2/transcript/${t.id}`,
        error: t.status === "error" ? "download failed" : null,
      })),
    };
  }

  async getTranscript(id: string): Promise<Transcript> {
    this.reads.push(id);
    if (this.failReadOf.has(id)) throw new Error(`GET /v2/transcript/${id} answered 500`);
    const status = this.readStatusOf.get(id);
    if (status !== undefined) {
      throw new AssemblyAiRequestError(
        `GET /v2/transcript/{id} answered ${status}: Transcript not found`,
        status,
      );
    }
    const found = this.transcripts.find((t) => t.id === id);
    if (!found) throw new AssemblyAiRequestError("GET /v2/transcript/{id} answered 404", 404);
    return {
      id,
      status: found.status,
      webhook_url: found.webhook_url,
      webhook_status_code: found.webhook_status_code ?? null,
    } as Transcript;
  }
}

export interface Fakes {
  readonly api: FakeAssemblyAi;
  readonly stored: Map<string, StoredTranscriptRef>;
  readonly indexed: Set<string>;
  readonly queued: DeliveryMessage[];
  /** The records the by-fetch-retry index holds (with `withRetries`). */
  readonly waiting: WaitingFetchFailure[];
  readonly deps: ReconcileDeps;
}

export function fakes(
  transcripts: FakeTranscript[],
  options: { withIndex?: boolean; withRetries?: boolean } = {},
): Fakes {
  const api = new FakeAssemblyAi(transcripts);
  const stored = new Map<string, StoredTranscriptRef>();
  const indexed = new Set<string>();
  const queued: DeliveryMessage[] = [];
  const waiting: WaitingFetchFailure[] = [];
  const deps: ReconcileDeps = {
    listTranscripts: (query) => api.listTranscripts(query),
    getTranscript: (id) => api.getTranscript(id),
    storedTranscript: async (customerId, orderId) => stored.get(`${customerId}/${orderId}`),
    enqueue: async (message) => {
      queued.push(message);
    },
    ...(options.withIndex ? { isTranscriptStored: async (id: string) => indexed.has(id) } : {}),
    ...(options.withRetries
      ? {
          waitingFetchFailures: async (since: Date, limit: number) => {
            const found = waiting
              .filter((record) => record.failedAt >= since.toISOString())
              .sort((a, b) => a.failedAt.localeCompare(b.failedAt));
            return { records: found.slice(0, limit), complete: found.length <= limit };
          },
        }
      : {}),
  };
  return { api, stored, indexed, queued, waiting, deps };
}

export function options(
  overrides: Partial<Parameters<typeof import("../../../functions/reconciler/core").reconcile>[1]> = {},
) {
  return {
    since: new Date(NOW.getTime() - 60 * 60_000),
    webhookUrl: WEBHOOK_URL,
    maxApiCalls: 200,
    now: NOW,
    ...overrides,
  };
}
