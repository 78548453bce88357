/** HTTP plumbing for every endpoint: JSON answers, bounded body reading, and the error that becomes a 4xx. */
import type http from "node:http";

const MAX_JSON_BODY = 1024 * 1024;

/** A request the client got wrong: answered with `{ error }` and this status. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function sendJson(
  response: http.ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  response.writeHead(statusCode, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  response.end(text);
}

/** Reads the whole body; beyond `limit` it drains the rest and throws 413. */
export async function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(buffer);
  }
  if (tooLarge) throw new HttpError(413, `Request body is larger than ${limit} bytes`);
  return Buffer.concat(chunks);
}

export async function readJsonObject(request: http.IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(request, MAX_JSON_BODY);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new HttpError(400, "Invalid JSON body");
  }
  if (!isRecord(parsed)) throw new HttpError(400, "The request body must be a JSON object");
  return parsed;
}

/** An http(s) URL from a request field; throws 400 naming the field. */
export function parseHttpUrl(value: unknown, field: string): URL {
  if (typeof value !== "string" || value.length === 0)
    throw new HttpError(400, `${field} must be a URL string`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new HttpError(400, `Invalid ${field}: ${value}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new HttpError(400, `Invalid ${field}: ${value}`);
  return url;
}

/** A non-empty string field, or null when absent; throws 400 for anything else. */
export function optionalString(body: Record<string, unknown>, field: string): string | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.length === 0)
    throw new HttpError(400, `${field} must be a non-empty string`);
  return value;
}
