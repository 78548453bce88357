/**
 * The queue message's schema (valibot), the TypeScript types derived from it, and the one parser the worker
 * and the CLI read queued messages with. Producers build messages with delivery.ts, which imports only
 * these types, so the receiver's bundle carries none of this.
 */
import * as v from "valibot";
import { isRecord } from "../values";
import {
  DELIVERY_KINDS,
  DELIVERY_MESSAGE_VERSION,
  DELIVERY_SOURCES,
  MAX_REQUEST_ID_LENGTH,
  MAX_URL_LENGTH,
  metadataIdProblem,
  normalizeAssemblyAiTime,
  type ParamValue,
  QUARANTINE_REASONS,
  SESSION_ID_PATTERN,
  TRANSCRIPT_ID_PATTERN,
} from "./delivery";

const isParamValue = (item: unknown): item is ParamValue =>
  typeof item === "string" || (Array.isArray(item) && item.every((each) => typeof each === "string"));

/**
 * The webhook URL's parameters: a JSON object whose every value is a string or a list of strings.
 * valibot's `record` skips the keys `__proto__`, `prototype` and `constructor` (prototype-pollution guard),
 * which would silently drop a parameter of that name; this check keeps every key, and `Object.fromEntries`
 * copies them as own data properties.
 */
const ParamMap = v.pipe(
  v.custom<Record<string, ParamValue>>(
    (value) => isRecord(value) && Object.values(value).every(isParamValue),
    "must be an object of strings or lists of strings",
  ),
  v.transform((value) => Object.fromEntries(Object.entries(value)) as Record<string, ParamValue>),
);

/** Any JSON object, kept whole (the same `record` caveat as above applies, so no `v.record`). */
const JsonObject = v.custom<Readonly<Record<string, unknown>>>(isRecord, "must be a JSON object");

const metadataId = (name: "customer_id" | "order_id") =>
  v.pipe(
    v.string("is not a string"),
    v.check((value) => metadataIdProblem(name, value) === undefined, "is empty or too long for a key"),
  );

const MetadataSchema = v.object({
  customer_id: metadataId("customer_id"),
  order_id: metadataId("order_id"),
  /** Every query parameter of the webhook URL (customer_id and order_id included), decoded once. */
  params: ParamMap,
});

/** Normalised to `toISOString()` form, so that stored instants compare correctly as strings. */
const Instant = v.pipe(
  v.string("must be a string"),
  v.check((value) => Number.isFinite(Date.parse(value)), "is not an ISO-8601 instant"),
  v.transform((value) => new Date(Date.parse(value)).toISOString()),
);

const RequestId = v.pipe(
  v.string(),
  v.minLength(1, "is missing"),
  v.maxLength(MAX_REQUEST_ID_LENGTH, "is too long"),
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  v.check((value) => !/[\u0000-\u001f\u007f]/.test(value), "contains control characters"),
);

/** An AssemblyAI timestamp as the message carries it: see normalizeAssemblyAiTime. */
const AssemblyAiTime = v.pipe(
  v.string(),
  v.check((value) => normalizeAssemblyAiTime(value) !== undefined, "is not a timestamp"),
  v.transform((value) => normalizeAssemblyAiTime(value) as string),
);

const base = {
  version: v.literal(DELIVERY_MESSAGE_VERSION, "is not a supported message version"),
  source: v.picklist(DELIVERY_SOURCES, "is not one of webhook, replay, reconciler"),
  metadata: MetadataSchema,
  received_at: Instant,
  source_ip: v.string("is not a string"),
  /** API Gateway request id (or a generated id for replays): ties log lines across functions. */
  request_id: RequestId,
  /** The webhook body exactly as parsed, so nothing AssemblyAI sent is ever dropped. */
  payload: JsonObject,
};

const TranscriptDeliverySchema = v.object({
  ...base,
  kind: v.literal("transcript"),
  transcript_id: v.pipe(v.string(), v.regex(TRANSCRIPT_ID_PATTERN, "is not letters, digits and dashes")),
  status: v.picklist(["completed", "error"], "is not completed or error"),
  /**
   * AssemblyAI's `created` and `completed` for this transcript, when the producer knew them (the reconciler
   * from its listing, replay from its lookup); the worker looks them up only when it must order two.
   */
  created: v.optional(AssemblyAiTime),
  completed: v.optional(AssemblyAiTime),
});

const DownloadUrl = v.pipe(
  v.string(),
  v.maxLength(MAX_URL_LENGTH, "is too long"),
  v.check((value) => URL.canParse(value), "is not a URL"),
  // The receiver allows https on allowlisted hosts only; http reaches the local stack's simulator.
  v.check((value) => /^https?:$/.test(new URL(value).protocol), "is not http(s)"),
  v.transform((value) => new URL(value).toString()),
);

const RedactedAudioDeliverySchema = v.object({
  ...base,
  kind: v.literal("redacted_audio"),
  /** https, on a host from the receiver's allowlist: the worker downloads it. */
  redacted_audio_url: DownloadUrl,
});

/**
 * A streaming session's end-of-session webhook: the whole transcript is `payload` (`session_id` and its
 * `messages`), kept as AssemblyAI sent it; the worker reads the turns out of it and trusts nothing about them.
 */
const StreamingSessionDeliverySchema = v.object({
  ...base,
  kind: v.literal("streaming_session"),
  session_id: v.pipe(v.string(), v.regex(SESSION_ID_PATTERN, "is not letters, digits and dashes")),
});

const UnknownDeliverySchema = v.object({
  ...base,
  kind: v.literal("unknown"),
  /** Why a delivery that looked like a known kind was not treated as one (archived, never fetched). */
  note: v.optional(v.string()),
});

/** Headers as kept with a quarantined request: strings only, every key kept (see ParamMap). */
const HeaderMap = v.pipe(
  v.custom<Record<string, string>>(
    (value) => isRecord(value) && Object.values(value).every((item) => typeof item === "string"),
    "must be an object of strings",
  ),
  v.transform((value) => Object.fromEntries(Object.entries(value)) as Record<string, string>),
);

/**
 * An authenticated request the pipeline cannot route (see QUARANTINE_REASONS), kept whole: no metadata or
 * payload can be trusted, so it has neither, only what arrived. The worker archives it under quarantine/.
 */
const QuarantineDeliverySchema = v.object({
  version: base.version,
  source: base.source,
  received_at: base.received_at,
  source_ip: base.source_ip,
  request_id: base.request_id,
  kind: v.literal("quarantine"),
  reason: v.picklist(QUARANTINE_REASONS, "is not a quarantine reason"),
  reason_message: v.string(),
  raw_query: v.string(),
  headers: HeaderMap,
  body: v.string(),
  body_encoding: v.picklist(["utf8", "base64"], "is not utf8 or base64"),
});

/** A delete at AssemblyAI to try again: see buildAssemblyAiDeleteMessage (delivery.ts). */
const AssemblyAiDeleteSchema = v.object({
  version: base.version,
  source: base.source,
  kind: v.literal("assemblyai_delete"),
  metadata: MetadataSchema,
  /** When this try was queued. */
  received_at: base.received_at,
  request_id: base.request_id,
  transcript_id: v.pipe(v.string(), v.regex(TRANSCRIPT_ID_PATTERN, "is not letters, digits and dashes")),
  /** Where the transcript was fetched from; absent: the delivery's regions, in order. */
  assemblyai_region: v.optional(v.string()),
  attempt: v.pipe(v.number(), v.integer("is not a whole number"), v.minValue(1, "is below 1")),
  last_error: v.optional(v.pipe(v.string(), v.maxLength(2_000, "is too long"))),
});

export const DeliveryMessageSchema = v.variant("kind", [
  TranscriptDeliverySchema,
  RedactedAudioDeliverySchema,
  StreamingSessionDeliverySchema,
  UnknownDeliverySchema,
  QuarantineDeliverySchema,
  AssemblyAiDeleteSchema,
]);

export type DeliveryMessage = v.InferOutput<typeof DeliveryMessageSchema>;
export type TranscriptDelivery = v.InferOutput<typeof TranscriptDeliverySchema>;
export type RedactedAudioDelivery = v.InferOutput<typeof RedactedAudioDeliverySchema>;
export type StreamingSessionDelivery = v.InferOutput<typeof StreamingSessionDeliverySchema>;
export type UnknownDelivery = v.InferOutput<typeof UnknownDeliverySchema>;
export type QuarantineDelivery = v.InferOutput<typeof QuarantineDeliverySchema>;
export type AssemblyAiDeleteMessage = v.InferOutput<typeof AssemblyAiDeleteSchema>;
/** A delivery the pipeline can route: it carries the webhook URL's metadata and the parsed payload. */
export type RoutableDelivery = Exclude<DeliveryMessage, QuarantineDelivery | AssemblyAiDeleteMessage>;
export type DeliveryMetadata = v.InferOutput<typeof MetadataSchema>;
export type DeliveryKind = DeliveryMessage["kind"];
export type DeliverySource = DeliveryMessage["source"];

export type ParseResult =
  | { readonly ok: true; readonly message: DeliveryMessage }
  | { readonly ok: false; readonly reason: string };

/**
 * Validates a message body against the schema (the queue is trusted, but a message may come from an older
 * producer, a hand-written replay or a bug): anything off is reported, never thrown. A `kind` this version
 * does not know is read as `unknown`, so that a newer producer's messages are archived, not dropped.
 */
export function parseDeliveryMessage(body: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { ok: false, reason: "message body is not JSON" };
  }
  if (!isRecord(raw)) return { ok: false, reason: "message body is not a JSON object" };
  if (typeof raw.kind !== "string" || raw.kind.length === 0) return { ok: false, reason: "kind is missing" };
  const known = (DELIVERY_KINDS as readonly string[]).includes(raw.kind);
  const result = v.safeParse(DeliveryMessageSchema, known ? raw : { ...raw, kind: "unknown" });
  if (result.success) return { ok: true, message: result.output };
  const [issue] = result.issues;
  const path = v.getDotPath(issue) ?? "message";
  return { ok: false, reason: `${path.slice(0, 80)} ${issue.message}` };
}
