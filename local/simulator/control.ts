/**
 * The `/__simulator` control endpoints (no auth): the banner, fault switches, request counts, webhook
 * attempts, and streaming sessions that end (their webhook sent like any other).
 */
import type http from "node:http";
import {
  FaultInputError,
  type FaultRule,
  type FaultSwitches,
  parseFaultInput,
  type RequestStats,
} from "./faults";
import { HttpError, readJsonObject, sendJson } from "./http";
import { parseSessionEndRequest, type SessionBody, type SessionEndRequest } from "./sessions";
import type { DeliveryAttempt } from "./webhooks";

/** Builds the text for `describe()` and the CLI banner. */
export function describeSimulator(url: string): string {
  return [
    `AssemblyAI simulator at ${url}`,
    `  SDK:      new AssemblyAI({ apiKey: "any", baseUrl: "${url}" })`,
    `  EU:       ${url}/eu, its own transcripts (webhooks carry no EU source address: use aai_region=eu)`,
    "  API:      POST /v2/upload, POST /v2/transcript, GET /v2/transcript[?limit&status&created_on&before_id&after_id]",
    "            GET|DELETE /v2/transcript/:id, GET /v2/transcript/:id/redacted-audio (authorization header required)",
    "  Audio URL controls (query string): simulate=error | words=N | delay_ms=N",
    "  Faults:   POST /__simulator/faults {status: 429|500|404, times?, transcriptId?, retryAfterSeconds?, route?}",
    "            GET /__simulator/faults, DELETE /__simulator/faults[/:faultId]",
    "  Stats:    GET|DELETE /__simulator/stats, GET /__simulator/deliveries",
    "  Streaming: POST /__simulator/streaming-sessions {webhook_url, webhook_auth_header_name?, webhook_auth_header_value?,",
    "             text? | turns?, session_id?, partials?}: a session ends and its transcript is posted to webhook_url",
  ].join("\n");
}

export interface ControlDeps {
  readonly baseUrl: string;
  readonly faults: FaultSwitches;
  readonly stats: RequestStats;
  readonly deliveries: readonly DeliveryAttempt[];
  /** Ends a streaming session: its webhook is sent (with retries) in the background. */
  readonly endSession: (request: SessionEndRequest) => SessionBody;
}

/** Whether `path` belongs to the control endpoints rather than the API. */
export function isControlPath(path: string): boolean {
  return path === "/__simulator" || path.startsWith("/__simulator/");
}

/** Answers one control request; throws HttpError for an unknown path or method. */
export async function controlRoute(
  deps: ControlDeps,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  path: string,
): Promise<void> {
  const { faults, stats } = deps;
  const method = request.method ?? "GET";
  if (path === "/__simulator" || path === "/__simulator/") {
    response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    response.end(`${describeSimulator(deps.baseUrl)}\n`);
    return;
  }
  if (path === "/__simulator/faults") {
    if (method === "GET") return sendJson(response, 200, { faults: faults.list() });
    if (method === "DELETE") {
      faults.clear();
      return sendJson(response, 200, { faults: [] });
    }
    if (method === "POST") {
      const body = await readJsonObject(request);
      const inputs = Array.isArray(body.faults) ? body.faults : [body];
      try {
        // Validate every rule before adding any, so a bad batch changes nothing.
        const parsed = inputs.map((input: unknown) => parseFaultInput(input));
        const added: FaultRule[] = parsed.map((input) => faults.add(input));
        return sendJson(response, 201, { faults: added });
      } catch (error: unknown) {
        if (error instanceof FaultInputError) throw new HttpError(400, error.message);
        throw error;
      }
    }
    throw new HttpError(405, "Method not allowed", { allow: "GET, POST, DELETE" });
  }
  const faultMatch = /^\/__simulator\/faults\/([^/]+)$/.exec(path);
  if (faultMatch?.[1] !== undefined) {
    if (method !== "DELETE") throw new HttpError(405, "Method not allowed", { allow: "DELETE" });
    if (!faults.remove(decodeURIComponent(faultMatch[1]))) throw new HttpError(404, "Fault not found");
    return sendJson(response, 200, { faults: faults.list() });
  }
  if (path === "/__simulator/stats") {
    if (method === "GET") return sendJson(response, 200, stats.snapshot());
    if (method === "DELETE") {
      stats.reset();
      return sendJson(response, 200, stats.snapshot());
    }
    throw new HttpError(405, "Method not allowed", { allow: "GET, DELETE" });
  }
  if (path === "/__simulator/streaming-sessions") {
    if (method !== "POST") throw new HttpError(405, "Method not allowed", { allow: "POST" });
    const ended = deps.endSession(parseSessionEndRequest(await readJsonObject(request)));
    return sendJson(response, 202, {
      session_id: ended.body.session_id,
      turns: ended.turns,
      messages: ended.body.messages.length,
      text: ended.text,
    });
  }
  if (path === "/__simulator/deliveries") {
    if (method !== "GET") throw new HttpError(405, "Method not allowed", { allow: "GET" });
    return sendJson(response, 200, { deliveries: deps.deliveries });
  }
  throw new HttpError(404, "Not found");
}
