/**
 * Serves a Lambda handler the way an API Gateway HTTP API does (payload format 2.0): each HTTP request
 * becomes a real v2 event (lower-cased headers, rawQueryString and queryStringParameters, requestContext
 * with method, path and sourceIp, base64 for binary bodies) and the handler's result becomes the response.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from "aws-lambda";
import { RECEIVER_TIMEOUT_SECONDS } from "../functions/shared/contract/resources";
import { lambdaContext } from "./lambda-context";

export type HttpApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

/** API Gateway's own payload limit for HTTP APIs. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
const TEXT_TYPES = /^(text\/|application\/(json|.*\+json|x-www-form-urlencoded|xml|javascript))/i;

export interface HttpApiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** `npm start`'s LOCAL_RECEIVER_CONCURRENCY default, also what the benchmark serves the receiver with. */
export const DEFAULT_LOCAL_RECEIVER_CONCURRENCY = 4;

export interface HttpApiOptions {
  readonly port: number;
  readonly host?: string;
  /**
   * Most invocations in flight at once; later requests wait their turn (and are dropped if their caller
   * hangs up first). Local only: SQS answers in milliseconds at any concurrency, but moto serves one request
   * at a time and its latency grows with the crowd (SendMessage: about 25 ms alone, seconds at 50 at once),
   * so an unbounded burst would show the emulator collapsing rather than the receiver working.
   * @default unbounded
   */
  readonly maxConcurrency?: number;
  readonly onError?: (error: unknown) => void;
}

export async function serveHttpApi(handler: HttpApiHandler, options: HttpApiOptions): Promise<HttpApiServer> {
  const slots = new Slots(options.maxConcurrency ?? Number.POSITIVE_INFINITY);
  const server = createServer((request, response) => {
    slots
      .run(
        () => response.destroyed,
        () => handle(handler, request, response),
      )
      .catch((error: unknown) => {
        options.onError?.(error);
        send(response, 500, { "content-type": "application/json" }, '{"message":"Internal Server Error"}');
      });
  });
  const host = options.host ?? "127.0.0.1";
  await listen(server, options.port, host);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => closeServer(server),
  };
}

/** A counting semaphore: at most `size` tasks at once, the rest in arrival order. */
class Slots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {}

  /** Runs `task` when a slot is free, unless `abandoned()` says by then that nobody waits for it. */
  async run(abandoned: () => boolean, task: () => Promise<void>): Promise<void> {
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      if (!abandoned()) await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

async function handle(handler: HttpApiHandler, request: IncomingMessage, response: ServerResponse) {
  const body = await readBody(request);
  if (body === undefined) {
    send(response, 413, { "content-type": "application/json" }, '{"message":"Request Entity Too Large"}');
    return;
  }
  const event = toHttpApiEvent(request, body);
  const result = await handler(
    event,
    lambdaContext("local-receiver", 256, RECEIVER_TIMEOUT_SECONDS * 1000, event.requestContext.requestId),
  );
  if (typeof result === "string") {
    send(response, 200, { "content-type": "application/json" }, result);
    return;
  }
  const payload =
    result.body === undefined
      ? ""
      : result.isBase64Encoded
        ? Buffer.from(result.body, "base64")
        : result.body;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  if (result.cookies?.length) headers["set-cookie"] = result.cookies;
  send(response, result.statusCode ?? 200, headers, payload);
}

/** The HTTP API v2 event for a request, as API Gateway builds it. */
export function toHttpApiEvent(
  request: IncomingMessage,
  body: Buffer,
  now = new Date(),
): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? "/", "http://localhost");
  const rawQueryString = url.search.slice(1);
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = (request.rawHeaders[i] ?? "").toLowerCase();
    const value = request.rawHeaders[i + 1] ?? "";
    if (name === "cookie") {
      cookies = [...(cookies ?? []), ...value.split(/;\s*/)];
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const queryStringParameters: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    queryStringParameters[key] =
      queryStringParameters[key] === undefined ? value : `${queryStringParameters[key]},${value}`;
  }
  const method = request.method ?? "GET";
  const sourceIp = (request.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
  const requestId = randomUUID();
  const isText = body.length === 0 || TEXT_TYPES.test(headers["content-type"] ?? "");
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString,
    cookies,
    headers,
    queryStringParameters: rawQueryString ? queryStringParameters : undefined,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "127.0.0.1",
      domainPrefix: (headers.host ?? "local").split(".")[0] ?? "local",
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId,
      routeKey: "$default",
      stage: "$default",
      time: apiGatewayTime(now),
      timeEpoch: now.getTime(),
    },
    body: body.length === 0 ? undefined : isText ? body.toString("utf8") : body.toString("base64"),
    isBase64Encoded: !isText,
  };
}

function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on("end", () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function send(
  response: ServerResponse,
  status: number,
  headers: Record<string, string | string[]>,
  body: string | Buffer,
) {
  if (response.headersSent) return;
  response.writeHead(status, headers);
  response.end(body);
}

function apiGatewayTime(date: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
