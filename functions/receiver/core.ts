/**
 * The receiver's pure core: route a request, then, once it is authenticated, read its body and metadata,
 * classify the payload and build the queue message (a delivery, or the request quarantined). Plain values in,
 * plain values out; no I/O, no clock, no environment.
 */
import {
  buildDeliveryMessage as build,
  buildQuarantineMessage,
  type DeliveryMessage,
  type DeliveryMetadata,
  keptHeaders,
  parseMetadata as parseContractMetadata,
  type QuarantineReason,
  SESSION_ID_PATTERN,
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

/**
 * A step that either produces a value or finds why the delivery cannot be routed. Past authentication no
 * problem is a 4xx (AssemblyAI would never retry it): the request is quarantined with the reason instead.
 */
export type Step<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: QuarantineReason; readonly message: string };

function problem(reason: QuarantineReason, message: string): Step<never> {
  return { ok: false, reason, message };
}

/** The body's bytes: base64 decoded when API Gateway encoded it. */
export function bodyBytes(body: string | undefined, isBase64Encoded: boolean): Buffer {
  return Buffer.from(body ?? "", isBase64Encoded ? "base64" : "utf8");
}

/** The body as text: bounded in bytes, valid UTF-8. */
export function decodeBody(bytes: Uint8Array, maxBytes: number): Step<string> {
  if (bytes.length > maxBytes) {
    return problem(
      "payload_too_large",
      `the body is ${bytes.length} bytes; at most ${maxBytes} are routed (it is kept, quarantined)`,
    );
  }
  try {
    return { ok: true, value: UTF8.decode(bytes) };
  } catch {
    return problem("invalid_utf8", "the body is not valid UTF-8 text");
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
export function parsePayload(text: string): Step<Payload> {
  if (text.trim().length === 0)
    return problem("invalid_json", "the body is empty; a JSON object is expected");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return problem("invalid_json", "the body is not valid JSON");
  }
  if (!isRecord(parsed)) {
    const shape = parsed === null ? "null" : Array.isArray(parsed) ? "an array" : `a ${typeof parsed}`;
    return problem("invalid_payload", `the body is ${shape}; a JSON object is expected`);
  }
  if (exceedsDepth(parsed, MAX_PAYLOAD_DEPTH)) {
    return problem("invalid_payload", `the body is nested deeper than ${MAX_PAYLOAD_DEPTH} levels`);
  }
  return { ok: true, value: parsed };
}

/** The webhook URL's metadata (the contract's rules), or the problem naming the parameter. */
export function parseMetadata(rawQueryString: string | undefined): Step<DeliveryMetadata> {
  const parsed = parseContractMetadata(rawQueryString);
  return parsed.ok ? parsed : problem(parsed.problem.code, parsed.problem.message);
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
export function classifyPayload(payload: Payload, hostRules: readonly HostRule[]): Step<Classification> {
  const hasTranscriptId = Object.hasOwn(payload, "transcript_id");
  const transcriptId = payload.transcript_id;
  if (hasTranscriptId && (typeof transcriptId !== "string" || !TRANSCRIPT_ID_PATTERN.test(transcriptId))) {
    // It names no transcript the worker could fetch: kept for a person to look at.
    return problem("invalid_transcript_id", "transcript_id must be 1 to 128 letters, digits or dashes");
  }
  const id = typeof transcriptId === "string" ? { transcript_id: transcriptId } : {};
  const status = payload.status;
  if (typeof transcriptId === "string" && (status === "completed" || status === "error")) {
    return { ok: true, value: { kind: "transcript", transcript_id: transcriptId, status } };
  }
  const url = payload.redacted_audio_url;
  if (status === "redacted_audio_ready" && typeof url === "string") {
    const hostProblem = redactedAudioUrlProblem(url, hostRules);
    // Never downloaded, but kept: should AssemblyAI move its files, a final 4xx would lose the notice.
    if (hostProblem !== undefined)
      return { ok: true, value: { kind: "unknown", ...id, note: `redacted_audio_url ${hostProblem}` } };
    return { ok: true, value: { kind: "redacted_audio", redacted_audio_url: url, ...id } };
  }
  const session = classifyStreamingSession(payload);
  if (session !== undefined) return { ok: true, value: session };
  return { ok: true, value: { kind: "unknown", ...id } };
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

/** What the receiver knows of a request once it is authenticated: all it needs to decide what to queue. */
export interface AuthenticatedRequest {
  readonly body: string | undefined;
  readonly isBase64Encoded: boolean;
  readonly rawQueryString: string | undefined;
  readonly headers: Readonly<Record<string, string | undefined>> | undefined;
  readonly receivedAt: Date;
  readonly sourceIp: string;
  readonly requestId: string;
}

export interface IntakeRules {
  readonly maxBodyBytes: number;
  readonly redactedAudioHosts: readonly HostRule[];
  /** The secret's header, never kept with a quarantined request. */
  readonly authHeaderName: string;
}

/**
 * What to queue for an authenticated request: the delivery, or, when it cannot be routed, the request kept
 * whole as a quarantine message. Never a refusal: whatever an authenticated sender posts is kept.
 */
export function intake(request: AuthenticatedRequest, rules: IntakeRules): DeliveryMessage {
  const bytes = bodyBytes(request.body, request.isBase64Encoded);
  const quarantine = (failed: { reason: QuarantineReason; message: string }) => {
    // Decoded again, keeping a byte order mark (the routing decoder drops it): the body is kept byte for byte.
    const text = exactUtf8(bytes);
    return buildQuarantineMessage({
      receivedAt: request.receivedAt,
      sourceIp: request.sourceIp,
      requestId: request.requestId,
      reason: failed.reason,
      reasonMessage: failed.message,
      rawQuery: request.rawQueryString ?? "",
      headers: keptHeaders(request.headers, rules.authHeaderName),
      ...(text !== undefined
        ? { body: text, bodyEncoding: "utf8" as const }
        : { body: bytes.toString("base64"), bodyEncoding: "base64" as const }),
    });
  };
  const text = decodeBody(bytes, rules.maxBodyBytes);
  if (!text.ok) return quarantine(text);
  const payload = parsePayload(text.value);
  if (!payload.ok) return quarantine(payload);
  const metadata = parseMetadata(request.rawQueryString);
  if (!metadata.ok) return quarantine(metadata);
  const classification = classifyPayload(payload.value, rules.redactedAudioHosts);
  if (!classification.ok) return quarantine(classification);
  return buildDeliveryMessage(classification.value, {
    metadata: metadata.value,
    payload: payload.value,
    receivedAt: request.receivedAt,
    sourceIp: request.sourceIp,
    requestId: request.requestId,
  });
}

const EXACT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The bytes as text when they are UTF-8, every byte kept (a byte order mark included). */
function exactUtf8(bytes: Uint8Array): string | undefined {
  try {
    return EXACT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Log values are bounded: an id may be up to 2 KB, and a log line is for finding a delivery, not storing it. */
const MAX_LOGGED_ID_LENGTH = 256;

/**
 * The ids worth logging for a delivery: a routed message's; for a request refused before intake (401, 403,
 * 404, 405) the ids its query names, so that an operator can tell whose job carries a wrong secret. None
 * for a quarantined request (its problem may be those very ids).
 */
export function loggableIds(
  message: DeliveryMessage | undefined,
  rawQueryString?: string | undefined,
): {
  transcriptId?: string;
  customerId?: string;
  orderId?: string;
} {
  const cut = (value: string) => value.slice(0, MAX_LOGGED_ID_LENGTH);
  if (message === undefined) {
    const metadata = parseContractMetadata(rawQueryString);
    return metadata.ok
      ? { customerId: cut(metadata.value.customer_id), orderId: cut(metadata.value.order_id) }
      : {};
  }
  // The receiver never builds a delete retry (the worker's own message); it has no payload either.
  if (message.kind === "quarantine" || message.kind === "assemblyai_delete") return {};
  const transcriptId = message.kind === "transcript" ? message.transcript_id : message.payload.transcript_id;
  return {
    customerId: cut(message.metadata.customer_id),
    orderId: cut(message.metadata.order_id),
    ...(typeof transcriptId === "string" && TRANSCRIPT_ID_PATTERN.test(transcriptId) ? { transcriptId } : {}),
  };
}
