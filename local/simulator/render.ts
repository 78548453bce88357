/** The JSON bodies AssemblyAI answers: the transcript object (request options echoed) and the list item. */
import type { TranscriptListItem } from "assemblyai";
import { DELETED_TRANSCRIPT_TEXT } from "../../functions/shared/assemblyai";
import type { ContentCache, TranscriptRecord } from "./state";

/** What a deleted transcript's `audio_url` and `webhook_url` become. */
export const DELETED_URL = "http://deleted_by_user";

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
  // List-item fields: the transcript object has no such fields, so an echo must not add them either.
  "created",
  "completed",
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

/** The request options a transcript echoes: the API's defaults, overridden by what the request set. */
export function echoedOptions(
  body: Readonly<Record<string, unknown>>,
  speakerLabels: boolean,
  redactPiiAudio: boolean,
): Record<string, unknown> {
  const echoed: Record<string, unknown> = { ...DEFAULT_ECHO };
  for (const [key, value] of Object.entries(body)) {
    if (!SYSTEM_FIELDS.has(key)) echoed[key] = value;
  }
  echoed.speaker_labels = speakerLabels;
  echoed.redact_pii_audio = redactPiiAudio;
  return echoed;
}

/** The transcript object, as `GET /v2/transcript/:id` answers it. */
export function renderTranscript(record: TranscriptRecord, content: ContentCache): string {
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
    return `${JSON.stringify(meta).slice(0, -1)},${content.fragment(record)}}`;
  }
  meta.text = record.deleted ? DELETED_TRANSCRIPT_TEXT : null;
  meta.words = null;
  meta.utterances = null;
  return JSON.stringify(meta);
}

/**
 * AssemblyAI's list timestamps: UTC, ISO-8601 without a zone, with microseconds ("2023-11-02T21:49:25.586965").
 */
export function wireTimestamp(epochMicros: number): string {
  const millis = Math.floor(epochMicros / 1000);
  const micros = epochMicros - millis * 1000;
  return `${new Date(millis).toISOString().slice(0, 23)}${String(micros).padStart(3, "0")}`;
}

/** A list item as sent: the SDK turns `created` and `completed` into Dates on its side. */
export type WireListItem = Omit<TranscriptListItem, "created" | "completed"> & {
  created: string;
  completed: string | null;
};

export function renderListItem(record: TranscriptRecord, baseUrl: string): WireListItem {
  return {
    id: record.id,
    resource_url: `${baseUrl}/v2/transcript/${record.id}`,
    status: record.status,
    created: wireTimestamp(record.created),
    completed: record.completed === null ? null : wireTimestamp(record.completed),
    audio_url: record.deleted ? DELETED_URL : record.audioUrl,
    error: record.error,
  };
}

/** Where a transcript's redacted audio is served (no auth, like a presigned URL). */
export function redactedAudioUrl(baseUrl: string, transcriptId: string): string {
  return `${baseUrl}/files/redacted/${transcriptId}.wav`;
}
