/**
 * The reconciler's contract, shared by its Lambda handler (on a schedule), the CLI's `reconcile` command and
 * the local stack's timer. AssemblyAI retries a webhook for only about 100 s; the reconciler finds completed
 * and errored transcripts whose webhook_url points at this stack but that are not stored, and queues them.
 */
import type { Transcript, TranscriptList } from "assemblyai";
import type { DeliveryMessage } from "../shared/delivery";

export interface ReconcileOptions {
  /** Look at transcripts created at or after this instant (the checkpoint, or the CLI's --since). */
  readonly since: Date;
  /** The stack's webhook URL without a query string; transcripts whose webhook_url starts with it are ours. */
  readonly webhookUrl: string;
  /** Most AssemblyAI API requests (list pages and transcript reads together) one run may make. */
  readonly maxApiCalls: number;
  /** The clock, for received_at and the next checkpoint. */
  readonly now: Date;
  /** Called after each transcript examined, for progress bars. */
  readonly onProgress?: (report: ReconcileReport) => void;
}

export interface ReconcileDeps {
  /** `GET /v2/transcript` with these query parameters (status, limit, before_id, after_id, created_on). */
  listTranscripts(query: Readonly<Record<string, string>>): Promise<TranscriptList>;
  /** `GET /v2/transcript/{id}`: the list items carry no webhook_url, the transcript does. */
  getTranscript(id: string): Promise<Transcript>;
  /** The transcript_id stored for this customer/order, or undefined when nothing is stored. */
  storedTranscriptId(customerId: string, orderId: string): Promise<string | undefined>;
  /** Queue one message, as the receiver would (source "reconciler" or "replay"). */
  enqueue(message: DeliveryMessage): Promise<void>;
}

export interface ReconcileReport {
  /** List items looked at. */
  readonly examined: number;
  /** Of those, transcripts whose webhook_url points at this stack. */
  readonly matched: number;
  readonly alreadyStored: number;
  /** Queued because nothing, or another transcript, was stored for their customer/order. */
  readonly queued: number;
  /** Ours but unusable (metadata missing or invalid in the webhook URL): logged, not queued. */
  readonly skipped: number;
  readonly apiCalls: number;
  /** True when the run stopped at maxApiCalls before reaching `since`; the next run continues. */
  readonly budgetExhausted: boolean;
  /** Where the next run should start from (ISO-8601). */
  readonly nextCheckpoint: string;
}

/** Metric the reconciler emits (namespace AssemblyAIWebhooks): `ReconciledDeliveries`, dimension Outcome. */
export type ReconcileOutcome = "queued" | "already_stored" | "skipped";
