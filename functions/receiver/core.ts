/**
 * The receiver's pure core: route a request, read its body and metadata, classify the payload and build the
 * queue message. Plain values in, plain values (or a Rejection) out; no I/O, no clock, no environment.
 */
import {
  DELIVERY_MESSAGE_VERSION,
  type DeliveryMessage,
  type DeliveryMetadata,
  METADATA_ID_PATTERN,
  TRANSCRIPT_ID_PATTERN,
} from "../shared/contract/delivery";
import { WEBHOOK_PATH } from "../shared/contract/resources";
import { type HostRule, redactedAudioUrlProblem } from "../shared/redacted-audio-hosts";
import { isRecord } from "../shared/values";
import { accept, type Check, reject } from "./outcome";

export const MAX_QUERY_PARAMETERS = 32;
export const MAX_PARAMETER_NAME_LENGTH = 64;
export const MAX_PARAMETER_VALUE_LENGTH = 1024;
/** AssemblyAI payloads are flat; a bound keeps re-serialising hostile nesting from exhausting the stack. */
export const MAX_PAYLOAD_DEPTH = 64;
/** SQS's default maximum message size. */
export const MAX_MESSAGE_BYTES = 262_144;

export const REQUIRED_PARAMETERS = ["customer_id", "order_id"] as const;

export type Payload = Readonly<Record<string, unknown>>;

/** 404 for any other path (a trailing slash is tolerated), then 405 for any method but POST. */
export function checkRoute(rawPath: string | undefined, method: string | undefined): Check<void> {
  const path = rawPath && rawPath.length > 1 && rawPath.endsWith("/") ? rawPath.slice(0, -1) : rawPath;
  if (path !== WEBHOOK_PATH)
    return reject(404, "not_found", `no route for this path; deliveries go to ${WEBHOOK_PATH}`);
  if (method?.toUpperCase() !== "POST") {
    return reject(405, "method_not_allowed", `${WEBHOOK_PATH} accepts POST only`, { allow: "POST" });
  }
  return accept(undefined);
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The body as text: base64 decoded when API Gateway encoded it, bounded in decoded bytes, valid UTF-8. */
export function decodeBody(
  body: string | undefined,
  isBase64Encoded: boolean,
  maxBytes: number,
): Check<string> {
  const bytes = Buffer.from(body ?? "", isBase64Encoded ? "base64" : "utf8");
  if (bytes.length > maxBytes) {
    return reject(
      413,
      "payload_too_large",
      `the body is ${bytes.length} bytes; at most ${maxBytes} are accepted`,
    );
  }
  try {
    return accept(UTF8.decode(bytes));
  } catch {
    return reject(400, "invalid_json", "the body is not valid UTF-8 text");
  }
}

/** Nesting depth of a parsed JSON value, walked iteratively (the input may be deep). */
function exceedsDepth(root: unknown, limit: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: root, depth: 1 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop() as { value: unknown; depth: number };
    if (typeof value !== "object" || value === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(value)) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}

/** The body parsed as a JSON object (the only shape AssemblyAI sends). */
export function parsePayload(text: string): Check<Payload> {
  if (text.trim().length === 0)
    return reject(400, "invalid_json", "the body is empty; a JSON object is expected");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return reject(400, "invalid_json", "the body is not valid JSON");
  }
  if (!isRecord(parsed)) {
    const shape = parsed === null ? "null" : Array.isArray(parsed) ? "an array" : `a ${typeof parsed}`;
    return reject(400, "invalid_payload", `the body is ${shape}; a JSON object is expected`);
  }
  if (exceedsDepth(parsed, MAX_PAYLOAD_DEPTH)) {
    return reject(400, "invalid_payload", `the body is nested deeper than ${MAX_PAYLOAD_DEPTH} levels`);
  }
  return accept(parsed);
}

function shown(name: string): string {
  return name.length > MAX_PARAMETER_NAME_LENGTH ? `${name.slice(0, MAX_PARAMETER_NAME_LENGTH)}...` : name;
}

/**
 * Metadata from the raw query string (not `queryStringParameters`, which joins repeated keys with commas):
 * every parameter, bounded, each given once, with `customer_id` and `order_id` required and well formed.
 */
export function parseMetadata(rawQueryString: string | undefined): Check<DeliveryMetadata> {
  const entries = [...new URLSearchParams(rawQueryString ?? "")];
  if (entries.length > MAX_QUERY_PARAMETERS) {
    return reject(
      400,
      "too_many_parameters",
      `the webhook URL has ${entries.length} query parameters; at most ${MAX_QUERY_PARAMETERS} are accepted`,
    );
  }
  const seen = new Set<string>();
  for (const [name, value] of entries) {
    if (name.length === 0) return reject(400, "invalid_parameter", "a query parameter has an empty name");
    if (name.length > MAX_PARAMETER_NAME_LENGTH) {
      return reject(
        400,
        "invalid_parameter",
        `query parameter name ${shown(name)} is longer than ${MAX_PARAMETER_NAME_LENGTH} characters`,
      );
    }
    if (value.length > MAX_PARAMETER_VALUE_LENGTH) {
      return reject(
        400,
        "invalid_parameter",
        `query parameter ${name} is longer than ${MAX_PARAMETER_VALUE_LENGTH} characters`,
      );
    }
    // `params` holds one value per name: a repeat would have to be dropped, so it is refused instead.
    if (seen.has(name))
      return reject(400, "invalid_parameter", `query parameter ${name} is given more than once`);
    seen.add(name);
  }
  const params: Record<string, string> = Object.fromEntries(entries);
  for (const name of REQUIRED_PARAMETERS) {
    const value = params[name];
    if (value === undefined) return reject(400, "missing_parameter", `query parameter ${name} is required`);
    if (!METADATA_ID_PATTERN.test(value)) {
      return reject(
        400,
        "invalid_parameter",
        `query parameter ${name} must be 1 to 256 letters, digits or any of _ . : @ -`,
      );
    }
  }
  return accept({ customer_id: params.customer_id as string, order_id: params.order_id as string, params });
}

/** What the payload's shape says it is, with the fields its kind carries. */
export type Classification =
  | { readonly kind: "transcript"; readonly transcript_id: string; readonly status: "completed" | "error" }
  | { readonly kind: "redacted_audio"; readonly redacted_audio_url: string; readonly transcript_id?: string }
  | { readonly kind: "unknown"; readonly transcript_id?: string; readonly note?: string };

/**
 * Tell the payload kinds apart by shape. Anything unrecognised is `unknown` and still queued: AssemblyAI may
 * add kinds, and a 4xx would lose them for good. So is a redacted-audio notice whose URL is off the host
 * allowlist: archived with a note, never downloaded. A `transcript_id`, wherever present, must be well formed.
 */
export function classifyPayload(payload: Payload, hostRules: readonly HostRule[]): Check<Classification> {
  const hasTranscriptId = Object.hasOwn(payload, "transcript_id");
  const transcriptId = payload.transcript_id;
  if (hasTranscriptId && (typeof transcriptId !== "string" || !TRANSCRIPT_ID_PATTERN.test(transcriptId))) {
    return reject(400, "invalid_transcript_id", "transcript_id must be 1 to 128 letters, digits or dashes");
  }
  const id = typeof transcriptId === "string" ? { transcript_id: transcriptId } : {};
  const status = payload.status;
  if (typeof transcriptId === "string" && (status === "completed" || status === "error")) {
    return accept({ kind: "transcript", transcript_id: transcriptId, status });
  }
  const url = payload.redacted_audio_url;
  if (status === "redacted_audio_ready" && typeof url === "string") {
    const problem = redactedAudioUrlProblem(url, hostRules);
    // Never downloaded, but kept: should AssemblyAI move its files, a final 4xx would lose the notice.
    if (problem !== undefined)
      return accept({ kind: "unknown", ...id, note: `redacted_audio_url ${problem}` });
    return accept({ kind: "redacted_audio", redacted_audio_url: url, ...id });
  }
  return accept({ kind: "unknown", ...id });
}

export interface MessageContext {
  readonly metadata: DeliveryMetadata;
  readonly payload: Payload;
  readonly receivedAt: Date;
  readonly sourceIp: string;
  readonly requestId: string;
}

export function buildDeliveryMessage(
  classification: Classification,
  context: MessageContext,
): DeliveryMessage {
  const base = {
    version: DELIVERY_MESSAGE_VERSION,
    source: "webhook" as const,
    metadata: context.metadata,
    received_at: context.receivedAt.toISOString(),
    source_ip: context.sourceIp,
    request_id: context.requestId,
    payload: context.payload,
  };
  switch (classification.kind) {
    case "transcript":
      return {
        ...base,
        kind: "transcript",
        transcript_id: classification.transcript_id,
        status: classification.status,
      };
    case "redacted_audio":
      return { ...base, kind: "redacted_audio", redacted_audio_url: classification.redacted_audio_url };
    case "unknown":
      return classification.note === undefined
        ? { ...base, kind: "unknown" }
        : { ...base, kind: "unknown", note: classification.note };
  }
}

/**
 * The message as an SQS body. JSON.stringify leaves U+FFFE and U+FFFF unescaped, and SQS refuses those
 * characters, so they are escaped here (the JSON means the same). Oversized messages are a 413, not a
 * retried 503: the same delivery would fail the same way on every attempt.
 */
export function serializeDeliveryMessage(message: DeliveryMessage): Check<string> {
  const body = JSON.stringify(message).replace(/[\uFFFE\uFFFF]/g, (char) =>
    char === "\uFFFE" ? "\\ufffe" : "\\uffff",
  );
  const bytes = Buffer.byteLength(body, "utf8");
  if (bytes > MAX_MESSAGE_BYTES) {
    return reject(
      413,
      "payload_too_large",
      `the delivery with its metadata is ${bytes} bytes; at most ${MAX_MESSAGE_BYTES} can be queued`,
    );
  }
  return accept(body);
}

/** The ids worth logging for any delivery, accepted or not: only values that pass validation. */
export function loggableIds(
  rawQueryString: string | undefined,
  payload: Payload | undefined,
): { transcriptId?: string; customerId?: string; orderId?: string } {
  const query = new URLSearchParams(rawQueryString ?? "");
  const valid = (name: string): string | undefined => {
    const values = query.getAll(name);
    const [value] = values;
    return values.length === 1 && value !== undefined && METADATA_ID_PATTERN.test(value) ? value : undefined;
  };
  const ids: { transcriptId?: string; customerId?: string; orderId?: string } = {};
  const customerId = valid("customer_id");
  const orderId = valid("order_id");
  const transcriptId = payload?.transcript_id;
  if (customerId !== undefined) ids.customerId = customerId;
  if (orderId !== undefined) ids.orderId = orderId;
  if (typeof transcriptId === "string" && TRANSCRIPT_ID_PATTERN.test(transcriptId))
    ids.transcriptId = transcriptId;
  return ids;
}
