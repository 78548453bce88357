/**
 * Serves a Lambda handler the way an API Gateway HTTP API does (payload format 2.0): each HTTP request
 * becomes a real v2 event (lower-cased headers, rawQueryString and queryStringParameters, requestContext
 * with method, path and sourceIp, base64 for binary bodies) and the handler's result becomes the response.
 * Like the deployed stage, it throttles (a token bucket, 429 past it) and writes one access-log line per
 * request in the stage's format (lib/access-log.ts).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from "aws-lambda";
import { RECEIVER_TIMEOUT_SECONDS, WEBHOOK_PATH } from "../functions/shared/contract/resources";
import { type AccessLogValues, THROTTLED_BODY, THROTTLED_STATUS } from "../lib/access-log";
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
  /**
   * The stage's throttle, as API Gateway applies it: a request that arrives when the bucket is empty is
   * answered 429 without invoking the handler.
   * @default unthrottled
   */
  readonly throttle?: StageThrottle;
  /** Called once per request, after its answer, with its access-log values. @default none */
  readonly onAccessLog?: (values: AccessLogValues) => void;
  /** Milliseconds since the epoch, for the throttle's bucket. @default Date.now */
  readonly now?: () => number;
  readonly onError?: (error: unknown) => void;
}

/** The stage settings (`throttleRateLimit`, `throttleBurstLimit` in lib/config.ts). */
export interface StageThrottle {
  /** Tokens added per second. */
  readonly rateLimit: number;
  /** The bucket's size: how many requests may arrive at once. */
  readonly burstLimit: number;
}

/**
 * API Gateway's throttle: a bucket of `burstLimit` tokens, full at the start, refilled at `rateLimit` a
 * second; each request takes one, and a request that finds none is throttled.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly settings: StageThrottle,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = settings.burstLimit;
    this.updatedAt = now();
  }

  /** Takes a token if there is one. */
  take(): boolean {
    const now = this.now();
    const elapsedSeconds = Math.max(0, now - this.updatedAt) / 1000;
    this.tokens = Math.min(this.settings.burstLimit, this.tokens + elapsedSeconds * this.settings.rateLimit);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export async function serveHttpApi(handler: HttpApiHandler, options: HttpApiOptions): Promise<HttpApiServer> {
  const slots = new Slots(options.maxConcurrency ?? Number.POSITIVE_INFINITY);
  const now = options.now ?? Date.now;
  const bucket = options.throttle ? new TokenBucket(options.throttle, now) : undefined;
  const server = createServer((request, response) => {
    const arrived = new Date(now());
    const log = (values: AccessLogValues) =>
      options.onAccessLog?.({
        ip: sourceIpOf(request),
        requestTime: apiGatewayTime(arrived),
        method: request.method,
        path: new URL(request.url ?? "/", "http://localhost").pathname,
        responseLatency: now() - arrived.getTime(),
        ...values,
      });
    // Throttled on arrival, before the handler or a slot: the function never sees the request.
    if (bucket && !bucket.take()) {
      request.resume();
      send(response, THROTTLED_STATUS, { "content-type": "application/json" }, THROTTLED_BODY);
      log({
        requestId: randomUUID(),
        status: THROTTLED_STATUS,
        responseLength: Buffer.byteLength(THROTTLED_BODY),
        error: "Too Many Requests",
      });
      return;
    }
    slots
      .run(
        () => response.destroyed,
        () => handle(handler, request, response),
      )
      .then((answered) => {
        if (answered) log(answered);
      })
      .catch((error: unknown) => {
        options.onError?.(error);
        const body = '{"message":"Internal Server Error"}';
        send(response, 500, { "content-type": "application/json" }, body);
        log({
          requestId: randomUUID(),
          status: 500,
          responseLength: Buffer.byteLength(body),
          // The error's name only: its message is the handler's business, and may quote the request.
          integrationError: error instanceof Error ? error.name : "Error",
          error: "Internal Server Error",
        });
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
  async run<T>(abandoned: () => boolean, task: () => Promise<T>): Promise<T | undefined> {
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return abandoned() ? undefined : await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** Answers one request through the handler; resolves with what its access-log line says. */
async function handle(
  handler: HttpApiHandler,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<AccessLogValues> {
  const body = await readBody(request);
  if (body === undefined) {
    const tooLarge = '{"message":"Request Entity Too Large"}';
    send(response, 413, { "content-type": "application/json" }, tooLarge);
    return {
      requestId: randomUUID(),
      status: 413,
      responseLength: Buffer.byteLength(tooLarge),
      error: "Request Entity Too Large",
    };
  }
  const event = toHttpApiEvent(request, body);
  const invoked = Date.now();
  const result = await handler(
    event,
    lambdaContext("local-receiver", 256, RECEIVER_TIMEOUT_SECONDS * 1000, event.requestContext.requestId),
  );
  const integration = {
    requestId: event.requestContext.requestId,
    // The stage routes POST /webhook, and everything else to the same function as $default.
    routeKey:
      event.rawPath === WEBHOOK_PATH && event.requestContext.http.method === "POST"
        ? `POST ${WEBHOOK_PATH}`
        : "$default",
    integrationStatus: 200,
    integrationLatency: Date.now() - invoked,
  };
  if (typeof result === "string") {
    send(response, 200, { "content-type": "application/json" }, result);
    return { ...integration, status: 200, responseLength: Buffer.byteLength(result) };
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
  const status = result.statusCode ?? 200;
  send(response, status, headers, payload);
  return { ...integration, status, responseLength: Buffer.byteLength(payload) };
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
  const sourceIp = sourceIpOf(request);
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

function sourceIpOf(request: IncomingMessage): string {
  return (request.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
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
