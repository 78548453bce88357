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
import type {
  AssemblyAiDeleteMessage,
  DeliveryMessage,
  DeliveryMetadata,
  DeliverySource,
  QuarantineDelivery,
} from "./delivery-schema";

export type {
  AssemblyAiDeleteMessage,
  DeliveryKind,
  DeliveryMessage,
  DeliveryMetadata,
  DeliverySource,
  QuarantineDelivery,
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

/** SQS's default maximum message size. */
export const MAX_MESSAGE_BYTES = 262_144;

export const MAX_REQUEST_ID_LENGTH = 256;
export const MAX_URL_LENGTH = 4096;

export const DELIVERY_SOURCES = ["webhook", "replay", "reconciler"] as const;
/**
 * `streaming_session` was added later: a worker that predates it reads such a message as `unknown`.
 * `assemblyai_delete` is the worker's own, never the receiver's (see buildAssemblyAiDeleteMessage).
 */
export const DELIVERY_KINDS = [
  "transcript",
  "redacted_audio",
  "streaming_session",
  "unknown",
  "quarantine",
  "assemblyai_delete",
] as const;

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

/**
 * `customer_id` is the table's partition key and `order_id` its sort key: any non-empty UTF-8 text within
 * DynamoDB's key limits (2,048 and 1,024 bytes). Nothing else is refused: S3 keys encode ids (s3-keys.ts).
 */
export const METADATA_ID_MAX_BYTES = { customer_id: 2048, order_id: 1024 } as const;
export const REQUIRED_PARAMETERS = ["customer_id", "order_id"] as const;

/** One query parameter's value, or every value in order when the URL repeats the name. */
export type ParamValue = string | readonly string[];

export type MetadataProblem = {
  readonly code: "missing_parameter" | "invalid_parameter";
  readonly message: string;
};

/** Why a customer or order id cannot be a key, or undefined when it can. */
export function metadataIdProblem(name: "customer_id" | "order_id", value: string): string | undefined {
  if (value.length === 0) return `query parameter ${name} is empty`;
  const bytes = Buffer.byteLength(value, "utf8");
  const limit = METADATA_ID_MAX_BYTES[name];
  return bytes > limit
    ? `query parameter ${name} is ${bytes} bytes of UTF-8; a DynamoDB key holds at most ${limit}`
    : undefined;
}

/**
 * A query component percent-decoded exactly once (RFC 3986): `+` is a plus sign, as in an email address,
 * not a space (that is HTML forms' encoding, which AssemblyAI does not apply). A component that does not
 * decode (a stray `%`, bytes that are not UTF-8) is kept as written rather than refused.
 */
export function decodeQueryComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * A raw query string's parameters in order, each name and value decoded once. Empty segments (`a=1&&b=2`)
 * and a parameter without a name (`=x`, which no URL builder writes) carry nothing and are skipped.
 */
export function queryParameters(rawQueryString: string | undefined): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  for (const segment of (rawQueryString ?? "").split("&")) {
    const equals = segment.indexOf("=");
    const name = decodeQueryComponent(equals < 0 ? segment : segment.slice(0, equals));
    if (name.length === 0) continue;
    entries.push([name, decodeQueryComponent(equals < 0 ? "" : segment.slice(equals + 1))]);
  }
  return entries;
}

/**
 * Metadata from a webhook URL's raw query string (not API Gateway's `queryStringParameters`, which joins
 * repeated keys with commas): every parameter, any name, a repeated one as the list of its values, with
 * `customer_id` and `order_id` each given once, non-empty and within DynamoDB's key limits. The receiver,
 * the reconciler and replay all read webhook URLs with this. No bound on the count or length of the other
 * parameters: API Gateway's request-line limit (about 10 KB) bounds them, and the message's size is
 * handled by the claim check.
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
  const grouped = new Map<string, string[]>();
  for (const [name, value] of queryParameters(rawQueryString)) {
    const values = grouped.get(name);
    if (values) values.push(value);
    else grouped.set(name, [value]);
  }
  // fromEntries defines own data properties: a parameter named __proto__ or constructor is kept as data.
  const params: Record<string, ParamValue> = Object.fromEntries(
    [...grouped].map(([name, values]) => [name, values.length === 1 ? (values[0] as string) : values]),
  );
  const ids: Partial<Record<(typeof REQUIRED_PARAMETERS)[number], string>> = {};
  for (const name of REQUIRED_PARAMETERS) {
    const values = grouped.get(name);
    if (values === undefined) return fail("missing_parameter", `query parameter ${name} is required`);
    // Two owners named: storing under either could file a customer's transcript under another's.
    if (values.length > 1)
      return fail("invalid_parameter", `query parameter ${name} is given more than once`);
    const problem = metadataIdProblem(name, values[0] as string);
    if (problem !== undefined)
      return fail(problem.endsWith("empty") ? "missing_parameter" : "invalid_parameter", problem);
    ids[name] = values[0];
  }
  return {
    ok: true,
    value: { customer_id: ids.customer_id as string, order_id: ids.order_id as string, params },
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
 * characters, so they are escaped here (the JSON means the same). Too large is reported with the body, not
 * thrown: the receiver then sends it by claim check, other producers report it.
 */
export function serializeDeliveryMessage(
  message: DeliveryMessage,
):
  | { readonly ok: true; readonly body: string }
  | { readonly ok: false; readonly bytes: number; readonly body: string } {
  const body = JSON.stringify(message).replace(/[\uFFFE\uFFFF]/g, (char) =>
    char === "\uFFFE" ? "\\ufffe" : "\\uffff",
  );
  const bytes = Buffer.byteLength(body, "utf8");
  return bytes > MAX_MESSAGE_BYTES ? { ok: false, bytes, body } : { ok: true, body };
}

// ---------------------------------------------------------------------------------------------------------
// A delete at AssemblyAI to try again (setting deleteFromAssemblyAi)

export interface AssemblyAiDeleteInput {
  /** The stored delivery's: its source, request id and metadata (the region is chosen from its parameters). */
  readonly delivery: {
    readonly source: DeliverySource;
    readonly metadata: DeliveryMetadata;
    readonly request_id: string;
  };
  readonly transcriptId: string;
  /** Where the transcript was fetched from, when known. */
  readonly region?: string | undefined;
  /** Which queued try this is: 1 for the first. */
  readonly attempt: number;
  /** Why the try before failed. */
  readonly lastError: string;
  readonly queuedAt: Date;
}

/**
 * The worker queues this, delayed, when it could not delete a stored transcript at AssemblyAI: the record is
 * stored already, so the retry is a message of its own and never holds back or repeats the delivery.
 */
export function buildAssemblyAiDeleteMessage(input: AssemblyAiDeleteInput): AssemblyAiDeleteMessage {
  return {
    version: DELIVERY_MESSAGE_VERSION,
    kind: "assemblyai_delete",
    source: input.delivery.source,
    metadata: input.delivery.metadata,
    received_at: input.queuedAt.toISOString(),
    request_id: input.delivery.request_id,
    transcript_id: input.transcriptId,
    ...(input.region !== undefined ? { assemblyai_region: input.region } : {}),
    attempt: input.attempt,
    last_error: input.lastError,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Quarantine: what an authenticated sender posted that the pipeline cannot route

/**
 * Why an authenticated delivery was quarantined. AssemblyAI treats any 4xx as final, so the receiver answers
 * these with a 2xx and keeps the request whole under `quarantine/` instead (the worker writes it there).
 */
export const QUARANTINE_REASONS = [
  "payload_too_large",
  "invalid_utf8",
  "invalid_json",
  "invalid_payload",
  "missing_parameter",
  "invalid_parameter",
  "invalid_transcript_id",
] as const;
export type QuarantineReason = (typeof QUARANTINE_REASONS)[number];

/** Request headers that may carry credentials: never kept, whatever the stack's own header is called. */
export const CREDENTIAL_HEADERS = ["authorization", "proxy-authorization", "cookie", "x-api-key"] as const;

export interface QuarantineInput {
  readonly receivedAt: Date;
  readonly sourceIp: string;
  readonly requestId: string;
  readonly reason: QuarantineReason;
  /** Our words for the problem (the same the 2xx answer carries). */
  readonly reasonMessage: string;
  /** The webhook URL's query string as sent. */
  readonly rawQuery: string;
  /** The request's headers without the secret's header and CREDENTIAL_HEADERS (see `keptHeaders`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The body exactly as received: text when it is UTF-8, base64 otherwise. */
  readonly body: string;
  readonly bodyEncoding: "utf8" | "base64";
}

/** The headers worth keeping with a quarantined request: every one but the secret's and credentials. */
export function keptHeaders(
  headers: Readonly<Record<string, string | undefined>> | undefined,
  secretHeaderName: string,
): Record<string, string> {
  const dropped = new Set<string>([secretHeaderName.toLowerCase(), ...CREDENTIAL_HEADERS]);
  return Object.fromEntries(
    Object.entries(headers ?? {}).filter(
      (entry): entry is [string, string] =>
        typeof entry[1] === "string" && !dropped.has(entry[0].toLowerCase()),
    ),
  );
}

export function buildQuarantineMessage(input: QuarantineInput): QuarantineDelivery {
  return {
    version: DELIVERY_MESSAGE_VERSION,
    kind: "quarantine",
    source: "webhook",
    received_at: input.receivedAt.toISOString(),
    source_ip: input.sourceIp,
    request_id: input.requestId,
    reason: input.reason,
    reason_message: input.reasonMessage,
    raw_query: input.rawQuery,
    headers: input.headers,
    body: input.body,
    body_encoding: input.bodyEncoding,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Claim check: a message too large for SQS waits in the bucket, and the queue carries its key

export const CLAIM_CHECK_KIND = "claim_check" as const;

export interface ClaimCheck {
  /** Where the whole message (the body a queue message would have had) is, under BUCKET_PREFIXES.inbox. */
  readonly key: string;
  readonly bytes: number;
}

/** The queue message that stands for a stored one: small, and unmistakable for a delivery. */
export function claimCheckBody(claim: ClaimCheck): string {
  return JSON.stringify({ version: DELIVERY_MESSAGE_VERSION, kind: CLAIM_CHECK_KIND, ...claim });
}

/**
 * The claim a queue message carries, or undefined when it is a delivery itself. Only keys under the inbox
 * prefix are claims (the worker may read nothing else, and its grant says so too).
 */
export function readClaimCheck(body: string, inboxPrefix: string): ClaimCheck | undefined {
  // Cheap first: deliveries never mention the kind this early, so most bodies are not parsed twice.
  if (!body.includes(`"${CLAIM_CHECK_KIND}"`)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { kind, key, bytes } = parsed as Record<string, unknown>;
  if (kind !== CLAIM_CHECK_KIND || typeof key !== "string" || !key.startsWith(inboxPrefix)) return undefined;
  return { key, bytes: typeof bytes === "number" ? bytes : 0 };
}
