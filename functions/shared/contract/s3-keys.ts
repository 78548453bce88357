/** The bucket's key layout: where the worker writes each object and where the CLI and readers find it. */

import { createHash } from "node:crypto";
import { wellFormed } from "../values";
import type { RedactedAudioDelivery } from "./delivery";
import { BUCKET_PREFIXES, INBOX_PREFIX } from "./resources";

/**
 * The longest an id's key segment gets. S3 keys hold at most 1,024 bytes, and ids may be 2,048 bytes (a
 * customer_id) before percent-encoding triples them: two segments of this size, a prefix and a transcript
 * id stay well inside the limit.
 */
export const MAX_ID_SEGMENT_LENGTH = 200;
const LONG_ID_READABLE_PREFIX = 120;

/**
 * A customer or order id as one key segment: every character but letters, digits, `_` and `-` is
 * percent-encoded (UTF-8), `.` included. No id can then form a `.` or `..` segment or contain a `/`, so none
 * escapes its prefix (in tools that resolve such segments) and two different ids never share a key;
 * `decodeURIComponent` gives the id back. Ids of letters, digits, `_` and `-` stay as they are.
 *
 * An id whose encoding is longer than MAX_ID_SEGMENT_LENGTH becomes the start of its encoding, `~` and the
 * SHA-256 of the whole id: a key S3 accepts, the same for every delivery of that id, and never another id's
 * segment (an encoded segment never holds a `~`, which is escaped). Such ids are read back from the record.
 */
export function idSegment(id: string): string {
  const encoded = encodedSegment(id);
  if (encoded.length <= MAX_ID_SEGMENT_LENGTH) return encoded;
  const start = encoded.slice(0, LONG_ID_READABLE_PREFIX).replace(/%[0-9A-F]?$/, "");
  return `${start}~${createHash("sha256").update(id, "utf8").digest("hex")}`;
}

function encodedSegment(id: string): string {
  // A lone surrogate (which no URL's query can carry) becomes U+FFFD rather than making encoding throw.
  return encodeURIComponent(wellFormed(id)).replace(
    /[.!~*'()]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function orderPrefix(prefix: string, customerId: string, orderId: string): string {
  return `${prefix}${idSegment(customerId)}/${idSegment(orderId)}/`;
}

export function transcriptJsonKey(customerId: string, orderId: string, transcriptId: string): string {
  return `${orderPrefix(BUCKET_PREFIXES.transcripts, customerId, orderId)}${transcriptId}.json.gz`;
}

export function transcriptTextKey(customerId: string, orderId: string, transcriptId: string): string {
  return `${orderPrefix(BUCKET_PREFIXES.transcripts, customerId, orderId)}${transcriptId}.txt`;
}

export function unknownArchiveKey(
  customerId: string,
  orderId: string,
  receivedAt: string,
  requestId: string,
): string {
  return `${orderPrefix(BUCKET_PREFIXES.unknown, customerId, orderId)}${receivedAt}-${safeKeySegment(requestId)}.json`;
}

/** Where a message that failed validation is kept, so that nothing AssemblyAI sent is lost. */
export function malformedArchiveKey(receivedAt: string, messageId: string): string {
  return `${BUCKET_PREFIXES.unknown}_malformed/${receivedAt.slice(0, 10)}/${safeKeySegment(messageId)}.json`;
}

export function redactedAudioKey(delivery: RedactedAudioDelivery): string {
  const { customer_id: customerId, order_id: orderId } = delivery.metadata;
  const fileName = fileNameFromUrl(delivery.redacted_audio_url) ?? safeKeySegment(delivery.received_at);
  return `${orderPrefix(BUCKET_PREFIXES.redactedAudio, customerId, orderId)}${fileName}`;
}

/** The last path segment of a URL, made safe for an S3 key; undefined when there is none. */
export function fileNameFromUrl(url: string): string | undefined {
  let segment: string;
  try {
    segment = new URL(url).pathname.split("/").pop() ?? "";
    segment = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  const safe = safeKeySegment(segment).slice(-200);
  return /^[._]*$/.test(safe) ? undefined : safe;
}

export function safeKeySegment(value: string): string {
  return value.replace(/[^A-Za-z0-9._=@-]/g, "_");
}

/**
 * Where a claim-checked message waits: by day, then by arrival and request id (API Gateway's request ids
 * are unique, and a retried delivery is a new request, so no two messages share a key).
 */
export function claimCheckKey(receivedAt: string, requestId: string): string {
  return `${INBOX_PREFIX}${receivedAt.slice(0, 10)}/${receivedAt}-${safeKeySegment(requestId)}.json`;
}

/** Where the worker keeps a quarantined request: by day, then by arrival and request id. */
export function quarantineKey(receivedAt: string, requestId: string): string {
  return `${BUCKET_PREFIXES.quarantine}${receivedAt.slice(0, 10)}/${receivedAt}-${safeKeySegment(requestId)}.json`;
}
