/**
 * Fault switches and request counters: the knobs integration tests turn to make the simulated API misbehave
 * (rate limits, outages, missing transcripts) and the counters they read to assert what a client did.
 */

/** Routes the simulator serves, as counted in stats and targeted by fault switches. */
export const ROUTES = [
  "POST /v2/upload",
  "POST /v2/transcript",
  "GET /v2/transcript",
  "GET /v2/transcript/:id",
  "DELETE /v2/transcript/:id",
  "GET /v2/transcript/:id/redacted-audio",
  "GET /files/:id",
  "GET /files/redacted/:id.wav",
] as const;

export type RouteKey = (typeof ROUTES)[number];

/** The statuses a fault can force. */
export type FaultStatus = 404 | 429 | 500;

/** What a caller asks for (options, `sim.faults.add`, or `POST /__simulator/faults`). */
export interface FaultRuleInput {
  /** The HTTP status to answer instead of the real response. */
  readonly status: FaultStatus;
  /** How many matching requests to fail; omitted or null: until removed or cleared. */
  readonly times?: number | null;
  /** Only requests for this transcript id; omitted: every transcript. */
  readonly transcriptId?: string | null;
  /** `Retry-After` seconds sent with a 429. @default 1 */
  readonly retryAfterSeconds?: number;
  /** The route to fail. @default "GET /v2/transcript/:id" */
  readonly route?: RouteKey;
}

/** An active fault switch. */
export interface FaultRule {
  readonly id: string;
  readonly status: FaultStatus;
  readonly route: RouteKey;
  readonly transcriptId: string | null;
  readonly retryAfterSeconds: number;
  /** Requests still to fail; null: until removed or cleared. */
  remaining: number | null;
  /** Requests failed so far by this rule. */
  hits: number;
}

/** A fault request that makes no sense; the HTTP control endpoint answers 400 with its message. */
export class FaultInputError extends Error {
  override readonly name = "FaultInputError";
}

const FAULT_STATUSES: readonly number[] = [404, 429, 500];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks untrusted input (JSON from the control endpoint) and returns a well-formed rule input. */
export function parseFaultInput(value: unknown): FaultRuleInput {
  if (!isRecord(value)) throw new FaultInputError("A fault must be a JSON object");
  const { status, times, transcriptId, retryAfterSeconds, route } = value;
  if (typeof status !== "number" || !FAULT_STATUSES.includes(status)) {
    throw new FaultInputError(`status must be one of ${FAULT_STATUSES.join(", ")}`);
  }
  if (times !== undefined && times !== null && (!Number.isInteger(times) || (times as number) < 1)) {
    throw new FaultInputError("times must be a positive integer or null");
  }
  if (transcriptId !== undefined && transcriptId !== null && typeof transcriptId !== "string") {
    throw new FaultInputError("transcriptId must be a string");
  }
  if (
    retryAfterSeconds !== undefined &&
    (typeof retryAfterSeconds !== "number" || !Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0)
  ) {
    throw new FaultInputError("retryAfterSeconds must be a non-negative integer");
  }
  if (route !== undefined && !(ROUTES as readonly unknown[]).includes(route)) {
    throw new FaultInputError(`route must be one of: ${ROUTES.join(", ")}`);
  }
  return {
    status: status as FaultStatus,
    times: (times as number | null | undefined) ?? null,
    transcriptId: (transcriptId as string | null | undefined) ?? null,
    retryAfterSeconds: (retryAfterSeconds as number | undefined) ?? 1,
    route: (route as RouteKey | undefined) ?? "GET /v2/transcript/:id",
  };
}

/** The fault switches of one simulator; rules are consulted in the order they were added. */
export class FaultSwitches {
  private readonly rules: FaultRule[] = [];
  private nextId = 1;

  /** Adds a switch; throws FaultInputError when the input is malformed. */
  add(input: FaultRuleInput): FaultRule {
    const checked = parseFaultInput(input);
    const rule: FaultRule = {
      id: `fault-${this.nextId++}`,
      status: checked.status,
      route: checked.route ?? "GET /v2/transcript/:id",
      transcriptId: checked.transcriptId ?? null,
      retryAfterSeconds: checked.retryAfterSeconds ?? 1,
      remaining: checked.times ?? null,
      hits: 0,
    };
    this.rules.push(rule);
    return { ...rule };
  }

  /** Removes one switch; false when no such id. */
  remove(id: string): boolean {
    const index = this.rules.findIndex((rule) => rule.id === id);
    if (index < 0) return false;
    this.rules.splice(index, 1);
    return true;
  }

  clear(): void {
    this.rules.length = 0;
  }

  /** Snapshot of the active switches. */
  list(): FaultRule[] {
    return this.rules.map((rule) => ({ ...rule }));
  }

  /** The first rule that applies to this request, consuming one of its `times`; undefined: answer normally. */
  consume(route: RouteKey, transcriptId: string | undefined): FaultRule | undefined {
    const rule = this.rules.find(
      (candidate) =>
        candidate.route === route &&
        (candidate.transcriptId === null || candidate.transcriptId === transcriptId),
    );
    if (rule === undefined) return undefined;
    rule.hits++;
    if (rule.remaining !== null) {
      rule.remaining--;
      if (rule.remaining <= 0) this.remove(rule.id);
    }
    return { ...rule };
  }
}

/** Request counts; `byTranscript` keys are transcript (or file) ids. */
export interface SimulatorStats {
  readonly total: number;
  readonly byRoute: Readonly<Record<string, number>>;
  readonly byTranscript: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Counts every request that reached a known route, whatever it was answered (401 and faults included). */
export class RequestStats {
  private total = 0;
  private readonly byRoute = new Map<RouteKey, number>();
  private readonly byTranscript = new Map<string, Map<RouteKey, number>>();

  record(route: RouteKey, id: string | undefined): void {
    this.total++;
    this.byRoute.set(route, (this.byRoute.get(route) ?? 0) + 1);
    if (id === undefined) return;
    let routes = this.byTranscript.get(id);
    if (routes === undefined) {
      routes = new Map();
      this.byTranscript.set(id, routes);
    }
    routes.set(route, (routes.get(route) ?? 0) + 1);
  }

  /** Requests to `route`, for one id when given. */
  count(route: RouteKey, id?: string): number {
    if (id === undefined) return this.byRoute.get(route) ?? 0;
    return this.byTranscript.get(id)?.get(route) ?? 0;
  }

  snapshot(): SimulatorStats {
    return {
      total: this.total,
      byRoute: Object.fromEntries(this.byRoute),
      byTranscript: Object.fromEntries(
        [...this.byTranscript].map(([id, routes]) => [id, Object.fromEntries(routes)]),
      ),
    };
  }

  reset(): void {
    this.total = 0;
    this.byRoute.clear();
    this.byTranscript.clear();
  }
}
