/**
 * The queue message: its schema (the types derive from it), the one builder every producer uses (receiver,
 * reconciler, CLI replay), its SQS serialisation and the one parser the worker and the CLI read it with.
 *
 * A change here is a change to data already sitting in queues: add optional fields, never rename or remove
 * them, and bump `version` only with a worker that reads both.
 *
 * `received_at` is, for every producer, the instant the message entered the pipeline: when the receiver
 * accepted the webhook, when the reconciler or an operator's `replay` queued it. It starts the
 * delivery-to-stored latency (counted for webhooks only) and is shown on the record; it never decides which
 * transcript a record keeps: AssemblyAI's own times do (`created`/`completed`, see winner.ts).
 */
import * as v from "valibot";
import { isRecord } from "../values";

export const DELIVERY_MESSAGE_VERSION = 1 as const;

/** `transcript_id` becomes part of a URL path at the worker: letters, digits and dashes only. */
export const TRANSCRIPT_ID_PATTERN = /^[A-Za-z0-9-]{1,128}$/;

/** `customer_id` and `order_id` become DynamoDB keys and S3 key segments. */
export const METADATA_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,256}$/;

/** Bounds on the webhook URL's query parameters, which every message carries as `metadata.params`. */
export const MAX_QUERY_PARAMETERS = 32;
export const MAX_PARAMETER_NAME_LENGTH = 64;
export const MAX_PARAMETER_VALUE_LENGTH = 1024;
export const REQUIRED_PARAMETERS = ["customer_id", "order_id"] as const;

/** SQS's default maximum message size. */
export const MAX_MESSAGE_BYTES = 262_144;

const MAX_REQUEST_ID_LENGTH = 256;
const MAX_URL_LENGTH = 4096;

export const DELIVERY_SOURCES = ["webhook", "replay", "reconciler"] as const;
export const DELIVERY_KINDS = ["transcript", "redacted_audio", "unknown"] as const;

// ---------------------------------------------------------------------------------------------------------
// Schema

/**
 * A JSON object whose every value is a string. valibot's `record` skips the keys `__proto__`, `prototype`
 * and `constructor` (prototype-pollution guard), which would silently drop a webhook URL parameter of that
 * name; this check keeps every key, and `Object.fromEntries` copies them as own data properties.
 */
const StringMap = v.pipe(
  v.custom<Record<string, string>>(
    (value) => isRecord(value) && Object.values(value).every((item) => typeof item === "string"),
    "must be an object of strings",
  ),
  v.transform((value) => Object.fromEntries(Object.entries(value)) as Record<string, string>),
);

/** Any JSON object, kept whole (the same `record` caveat as above applies, so no `v.record`). */
const JsonObject = v.custom<Readonly<Record<string, unknown>>>(isRecord, "must be a JSON object");

const MetadataId = v.pipe(v.string(), v.regex(METADATA_ID_PATTERN, "is missing or malformed"));

const MetadataSchema = v.object({
  customer_id: MetadataId,
  order_id: MetadataId,
  /** Every query parameter of the webhook URL (customer_id and order_id included), bounded as above. */
  params: StringMap,
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

const UnknownDeliverySchema = v.object({
  ...base,
  kind: v.literal("unknown"),
  /** Why a delivery that looked like a known kind was not treated as one (archived, never fetched). */
  note: v.optional(v.string()),
});

export const DeliveryMessageSchema = v.variant("kind", [
  TranscriptDeliverySchema,
  RedactedAudioDeliverySchema,
  UnknownDeliverySchema,
]);

export type DeliveryMessage = v.InferOutput<typeof DeliveryMessageSchema>;
export type TranscriptDelivery = v.InferOutput<typeof TranscriptDeliverySchema>;
export type RedactedAudioDelivery = v.InferOutput<typeof RedactedAudioDeliverySchema>;
export type UnknownDelivery = v.InferOutput<typeof UnknownDeliverySchema>;
export type DeliveryMetadata = v.InferOutput<typeof MetadataSchema>;
export type DeliveryKind = DeliveryMessage["kind"];
export type DeliverySource = DeliveryMessage["source"];

// ---------------------------------------------------------------------------------------------------------
// AssemblyAI timestamps

/**
 * An AssemblyAI timestamp as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so that two compare correctly as strings with
 * their microseconds kept. The API answers ISO-8601 without a zone and with microseconds
 * ("2023-11-02T21:49:25.586965"), which is UTC; the SDK's types say Date. Both are read; undefined if neither.
 */
export function normalizeAssemblyAiTime(value: unknown): string | undefined {
  if (value instanceof Date) {
    return Number.isFinite(value.getTime()) ? value.toISOString().replace("Z", "000Z") : undefined;
  }
  if (typeof value !== "string") return undefined;
  const text = value.trim().replace(" ", "T");
  const plain = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z?$/i.exec(text);
  if (plain) {
    const [, seconds, fraction = ""] = plain;
    const candidate = `${seconds}.${fraction.padEnd(6, "0").slice(0, 6)}Z`;
    return Number.isFinite(Date.parse(candidate)) ? candidate : undefined;
  }
  // With an explicit offset: converted to UTC (millisecond precision, as Date keeps it).
  if (!/T.*[+-]\d{2}:?\d{2}$/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace("Z", "000Z") : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Metadata from the webhook URL

export type MetadataProblem = {
  readonly code: "too_many_parameters" | "invalid_parameter" | "missing_parameter";
  readonly message: string;
};

function shown(name: string): string {
  return name.length > MAX_PARAMETER_NAME_LENGTH ? `${name.slice(0, MAX_PARAMETER_NAME_LENGTH)}...` : name;
}

/**
 * Metadata from a webhook URL's raw query string (not API Gateway's `queryStringParameters`, which joins
 * repeated keys with commas): every parameter, bounded, each given once, with `customer_id` and `order_id`
 * required and well formed. The receiver, the reconciler and replay all read webhook URLs with this.
 */
export function parseMetadata(
  rawQueryString: string | undefined,
):
  | { readonly ok: true; readonly value: DeliveryMetadata }
  | { readonly ok: false; readonly problem: MetadataProblem } {
  const fail = (code: MetadataProblem["code"], message: string) => ({
    ok: false as const,
    problem: { code, message },
  });
  const entries = [...new URLSearchParams(rawQueryString ?? "")];
  if (entries.length > MAX_QUERY_PARAMETERS) {
    return fail(
      "too_many_parameters",
      `the webhook URL has ${entries.length} query parameters; at most ${MAX_QUERY_PARAMETERS} are accepted`,
    );
  }
  const seen = new Set<string>();
  for (const [name, value] of entries) {
    if (name.length === 0) return fail("invalid_parameter", "a query parameter has an empty name");
    if (name.length > MAX_PARAMETER_NAME_LENGTH) {
      return fail(
        "invalid_parameter",
        `query parameter name ${shown(name)} is longer than ${MAX_PARAMETER_NAME_LENGTH} characters`,
      );
    }
    if (value.length > MAX_PARAMETER_VALUE_LENGTH) {
      return fail(
        "invalid_parameter",
        `query parameter ${name} is longer than ${MAX_PARAMETER_VALUE_LENGTH} characters`,
      );
    }
    // `params` holds one value per name: a repeat would have to be dropped, so it is refused instead.
    if (seen.has(name)) return fail("invalid_parameter", `query parameter ${name} is given more than once`);
    seen.add(name);
  }
  // fromEntries defines own properties: a parameter named __proto__ or constructor is kept as data.
  const params: Record<string, string> = Object.fromEntries(entries);
  for (const name of REQUIRED_PARAMETERS) {
    const value = params[name];
    if (value === undefined) return fail("missing_parameter", `query parameter ${name} is required`);
    if (!METADATA_ID_PATTERN.test(value)) {
      return fail(
        "invalid_parameter",
        `query parameter ${name} must be 1 to 256 letters, digits or any of _ . : @ -`,
      );
    }
  }
  return {
    ok: true,
    value: { customer_id: params.customer_id as string, order_id: params.order_id as string, params },
  };
}

/** The query string exactly as written in a URL (what API Gateway hands the receiver as rawQueryString). */
export function rawQueryOf(url: string): string {
  const start = url.indexOf("?");
  if (start < 0) return "";
  const end = url.indexOf("#", start);
  return url.slice(start + 1, end < 0 ? undefined : end);
}

// ---------------------------------------------------------------------------------------------------------
// Building, serialising and parsing

/** What a producer knows of a delivery; the builder adds the version and the derived fields. */
export type DeliveryInput = {
  readonly source: DeliverySource;
  readonly metadata: DeliveryMetadata;
  /** When the message enters the pipeline (see the module comment). */
  readonly receivedAt: Date;
  readonly sourceIp: string;
  readonly requestId: string;
  readonly payload: Readonly<Record<string, unknown>>;
} & (
  | {
      readonly kind: "transcript";
      readonly transcriptId: string;
      readonly status: "completed" | "error";
      readonly created?: string | undefined;
      readonly completed?: string | undefined;
    }
  | { readonly kind: "redacted_audio"; readonly redactedAudioUrl: string }
  | { readonly kind: "unknown"; readonly note?: string | undefined }
);

/** The one place a queue message is put together. */
export function buildDeliveryMessage(input: DeliveryInput): DeliveryMessage {
  const common = {
    version: DELIVERY_MESSAGE_VERSION,
    source: input.source,
    metadata: input.metadata,
    received_at: input.receivedAt.toISOString(),
    source_ip: input.sourceIp,
    request_id: input.requestId,
    payload: input.payload,
  };
  switch (input.kind) {
    case "transcript": {
      const created = normalizeAssemblyAiTime(input.created);
      const completed = normalizeAssemblyAiTime(input.completed);
      return {
        ...common,
        kind: "transcript",
        transcript_id: input.transcriptId,
        status: input.status,
        ...(created !== undefined ? { created } : {}),
        ...(completed !== undefined ? { completed } : {}),
      };
    }
    case "redacted_audio":
      return { ...common, kind: "redacted_audio", redacted_audio_url: input.redactedAudioUrl };
    case "unknown":
      return input.note === undefined
        ? { ...common, kind: "unknown" }
        : { ...common, kind: "unknown", note: input.note };
  }
}

/**
 * The message as an SQS body. JSON.stringify leaves U+FFFE and U+FFFF unescaped, and SQS refuses those
 * characters, so they are escaped here (the JSON means the same). Too large is reported, not thrown: the
 * same message would fail the same way on every attempt.
 */
export function serializeDeliveryMessage(
  message: DeliveryMessage,
): { readonly ok: true; readonly body: string } | { readonly ok: false; readonly bytes: number } {
  const body = JSON.stringify(message).replace(/[\uFFFE\uFFFF]/g, (char) =>
    char === "\uFFFE" ? "\\ufffe" : "\\uffff",
  );
  const bytes = Buffer.byteLength(body, "utf8");
  return bytes > MAX_MESSAGE_BYTES ? { ok: false, bytes } : { ok: true, body };
}

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
