/**
 * The queue message: the one builder every producer uses (receiver, reconciler, CLI replay, bench), its SQS
 * serialisation, and the webhook URL's metadata rules. Its schema, the types derived from it and the one
 * parser the worker and the CLI read messages with are in delivery-schema.ts: the receiver only builds
 * messages, so its bundle carries no schema library and builds no schema at cold start.
 *
 * A change here is a change to data already sitting in queues: add optional fields, never rename or remove
 * them, and bump `version` only with a worker that reads both.
 *
 * `received_at` is, for every producer, the instant the message entered the pipeline: when the receiver
 * accepted the webhook, when the reconciler or an operator's `replay` queued it. It starts the
 * delivery-to-stored latency (counted for webhooks only) and is shown on the record; it never decides which
 * transcript a record keeps: AssemblyAI's own times do (`created`/`completed`, see winner.ts).
 */
import type { DeliveryMessage, DeliveryMetadata, DeliverySource } from "./delivery-schema";

export type {
  DeliveryKind,
  DeliveryMessage,
  DeliveryMetadata,
  DeliverySource,
  RedactedAudioDelivery,
  StreamingSessionDelivery,
  TranscriptDelivery,
  UnknownDelivery,
} from "./delivery-schema";

export const DELIVERY_MESSAGE_VERSION = 1 as const;

/** `transcript_id` becomes part of a URL path at the worker: letters, digits and dashes only. */
export const TRANSCRIPT_ID_PATTERN = /^[A-Za-z0-9-]{1,128}$/;

/** A streaming session's `session_id` (a UUID in AssemblyAI's examples) becomes an S3 key segment: the same rule. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9-]{1,128}$/;

/** `customer_id` and `order_id` become DynamoDB keys and S3 key segments. */
export const METADATA_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,256}$/;

/** Bounds on the webhook URL's query parameters, which every message carries as `metadata.params`. */
export const MAX_QUERY_PARAMETERS = 32;
export const MAX_PARAMETER_NAME_LENGTH = 64;
export const MAX_PARAMETER_VALUE_LENGTH = 1024;
export const REQUIRED_PARAMETERS = ["customer_id", "order_id"] as const;

/** SQS's default maximum message size. */
export const MAX_MESSAGE_BYTES = 262_144;

export const MAX_REQUEST_ID_LENGTH = 256;
export const MAX_URL_LENGTH = 4096;

export const DELIVERY_SOURCES = ["webhook", "replay", "reconciler"] as const;
/** `streaming_session` was added later: a worker that predates it reads such a message as `unknown`. */
export const DELIVERY_KINDS = ["transcript", "redacted_audio", "streaming_session", "unknown"] as const;

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
  /** The whole session travels in `payload` (AssemblyAI keeps no copy to fetch later). */
  | { readonly kind: "streaming_session"; readonly sessionId: string }
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
    case "streaming_session":
      return { ...common, kind: "streaming_session", session_id: input.sessionId };
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
