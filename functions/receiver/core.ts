/**
 * The receiver's pure core: route a request, read its body and metadata, classify the payload and build the
 * queue message. Plain values in, plain values (or a Rejection) out; no I/O, no clock, no environment.
 */
import {
  buildDeliveryMessage as build,
  type DeliveryMessage,
  type DeliveryMetadata,
  MAX_MESSAGE_BYTES,
  METADATA_ID_PATTERN,
  parseMetadata as parseContractMetadata,
  SESSION_ID_PATTERN,
  serializeDeliveryMessage as serialize,
  TRANSCRIPT_ID_PATTERN,
} from "../shared/contract/delivery";
import { WEBHOOK_PATH } from "../shared/contract/resources";
import { type HostRule, redactedAudioUrlProblem } from "../shared/redacted-audio-hosts";
import { isRecord } from "../shared/values";
import { accept, type Check, reject } from "./outcome";

/** AssemblyAI payloads are flat; a bound keeps re-serialising hostile nesting from exhausting the stack. */
export const MAX_PAYLOAD_DEPTH = 64;
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

/** The webhook URL's metadata (the contract's rules), or a 400 naming the parameter. */
export function parseMetadata(rawQueryString: string | undefined): Check<DeliveryMetadata> {
  const parsed = parseContractMetadata(rawQueryString);
  return parsed.ok ? accept(parsed.value) : reject(400, parsed.problem.code, parsed.problem.message);
}

/** What the payload's shape says it is, with the fields its kind carries. */
export type Classification =
  | { readonly kind: "transcript"; readonly transcript_id: string; readonly status: "completed" | "error" }
  | { readonly kind: "redacted_audio"; readonly redacted_audio_url: string; readonly transcript_id?: string }
  | { readonly kind: "streaming_session"; readonly session_id: string }
  | { readonly kind: "unknown"; readonly transcript_id?: string; readonly note?: string };

/**
 * A streaming session's end-of-session body (`session_id` and an array of `messages`), or undefined when the
 * body does not have that shape. A malformed `session_id` keeps the body as `unknown` with a note: the body
 * is the session's only copy, so it is archived rather than refused.
 */
function classifyStreamingSession(payload: Payload): Classification | undefined {
  if (!Object.hasOwn(payload, "session_id") || !Array.isArray(payload.messages)) return undefined;
  const sessionId = payload.session_id;
  if (typeof sessionId === "string" && SESSION_ID_PATTERN.test(sessionId)) {
    return { kind: "streaming_session", session_id: sessionId };
  }
  return { kind: "unknown", note: "session_id is not 1 to 128 letters, digits or dashes" };
}

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
  const session = classifyStreamingSession(payload);
  if (session !== undefined) return accept(session);
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
  const common = {
    source: "webhook" as const,
    metadata: context.metadata,
    receivedAt: context.receivedAt,
    sourceIp: context.sourceIp,
    requestId: context.requestId,
    payload: context.payload,
  };
  switch (classification.kind) {
    case "transcript":
      return build({
        ...common,
        kind: "transcript",
        transcriptId: classification.transcript_id,
        status: classification.status,
      });
    case "redacted_audio":
      return build({
        ...common,
        kind: "redacted_audio",
        redactedAudioUrl: classification.redacted_audio_url,
      });
    case "streaming_session":
      return build({ ...common, kind: "streaming_session", sessionId: classification.session_id });
    case "unknown":
      return build({ ...common, kind: "unknown", note: classification.note });
  }
}

/**
 * The message as an SQS body (the contract's serialisation). Oversized messages are a 413, not a retried
 * 503: the same delivery would fail the same way on every attempt.
 */
export function serializeDeliveryMessage(message: DeliveryMessage): Check<string> {
  const body = serialize(message);
  if (body.ok) return accept(body.body);
  return reject(
    413,
    "payload_too_large",
    `the delivery with its metadata is ${body.bytes} bytes; at most ${MAX_MESSAGE_BYTES} can be queued`,
  );
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
