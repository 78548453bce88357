/**
 * Simulated AWS outages for the local stack: the functions reach SQS and EventBridge through TCP proxies
 * that can be cut, so tests (and curious people) can watch the receiver answer 5xx during an SQS outage and
 * AssemblyAI's retry land the delivery once it is over, or the publisher keep events EventBridge could not
 * take in its dead-letter queue. Control: `PUT {controlUrl}/outages/sqs` (or `/outages/events`) with
 * `{"down": true|false}`, `GET {controlUrl}/outages`.
 *
 * And a fault: `PUT {controlUrl}/faults/worker-crash-after-write` with `{"times": n}` kills the worker's
 * execution environment right after each of its next n record writes commits, before the worker hears the
 * answer (local/start.ts does the killing), as a Lambda environment that dies between its write and its
 * next step; `GET {controlUrl}/faults` tells how many are still armed.
 */
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect, createServer, type Socket, type Server as TcpServer } from "node:net";

/** The services whose outage can be simulated, by their SigV4 signing names. */
export const OUTAGE_SERVICES = ["sqs", "events"] as const;
export type OutageService = (typeof OUTAGE_SERVICES)[number];

export interface OutageControl {
  /** Endpoint the functions use for SQS (the AWS call recorder's upstream for it). */
  readonly sqsEndpoint: string;
  /** Endpoint the functions use for EventBridge. */
  readonly eventsEndpoint: string;
  /** Base URL of the control API. */
  readonly controlUrl: string;
  setDown(service: OutageService, down: boolean): void;
  /** Whether a worker crash is armed; takes one if so. */
  takeWorkerCrash(): boolean;
  close(): Promise<void>;
}

/** The fault's name in the control API. */
export const WORKER_CRASH_FAULT = "worker-crash-after-write";

const NAMES: Record<OutageService, string> = { sqs: "SQS", events: "EventBridge" };

interface CuttableProxy {
  readonly endpoint: string;
  down: boolean;
  cut(): void;
  close(): Promise<void>;
}

async function cuttableProxy(upstream: string): Promise<CuttableProxy> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  const state = { down: false };
  const proxy: TcpServer = createServer((client) => {
    if (state.down) {
      client.destroy();
      return;
    }
    const server = connect(Number(target.port || 80), target.hostname);
    for (const socket of [client, server]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        server.destroy();
      });
    }
    client.pipe(server).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    // Kept-alive connections too, or clients would keep talking through them.
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

/** `upstream` for every service, unless `upstreams` names one of its own (EventBridge's: local/event-bus-tap.ts). */
export async function startOutageControl(
  upstream: string,
  onChange?: (line: string) => void,
  upstreams: Partial<Record<OutageService, string>> = {},
): Promise<OutageControl> {
  const proxies = {
    sqs: await cuttableProxy(upstreams.sqs ?? upstream),
    events: await cuttableProxy(upstreams.events ?? upstream),
  } satisfies Record<OutageService, CuttableProxy>;
  let workerCrashes = 0;

  const setDown = (service: OutageService, next: boolean) => {
    const proxy = proxies[service];
    proxy.down = next;
    if (next) proxy.cut();
    onChange?.(
      next
        ? `${NAMES[service]} is now unreachable for the functions (simulated outage)`
        : `${NAMES[service]} is reachable again`,
    );
  };
  const outages = () =>
    Object.fromEntries(OUTAGE_SERVICES.map((service) => [service, { down: proxies[service].down }]));

  const control: Server = createHttpServer((request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (request.url === "/outages" && request.method === "GET") return reply(200, outages());
    if (request.url === "/faults" && request.method === "GET") {
      return reply(200, { [WORKER_CRASH_FAULT]: { times: workerCrashes } });
    }
    const fault = request.url === `/faults/${WORKER_CRASH_FAULT}` && request.method === "PUT";
    const service = OUTAGE_SERVICES.find((name) => request.url === `/outages/${name}`);
    if (!fault && (service === undefined || request.method !== "PUT")) {
      return reply(404, {
        error: "not_found",
        message: `use GET /outages, PUT /outages/sqs, PUT /outages/events, GET /faults or PUT /faults/${WORKER_CRASH_FAULT}`,
      });
    }
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
      if (fault) {
        const times = (parsed as { times?: unknown } | undefined)?.times;
        if (typeof times !== "number" || !Number.isInteger(times) || times < 0) {
          return reply(400, { error: "invalid_body", message: 'send {"times": n}, n a whole number' });
        }
        workerCrashes = times;
        onChange?.(
          `the worker will be killed after each of its next ${times} record write(s) (simulated crash)`,
        );
        return reply(200, { [WORKER_CRASH_FAULT]: { times } });
      }
      const value = (parsed as { down?: unknown } | undefined)?.down;
      if (typeof value !== "boolean" || service === undefined) {
        return reply(400, { error: "invalid_body", message: 'send {"down": true} or {"down": false}' });
      }
      setDown(service, value);
      reply(200, outages());
    });
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));

  return {
    sqsEndpoint: proxies.sqs.endpoint,
    eventsEndpoint: proxies.events.endpoint,
    controlUrl: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
    setDown,
    takeWorkerCrash() {
      if (workerCrashes === 0) return false;
      workerCrashes -= 1;
      return true;
    },
    async close() {
      control.closeAllConnections();
      await Promise.all([
        ...Object.values(proxies).map((proxy) => proxy.close()),
        new Promise<void>((resolve) => control.close(() => resolve())),
      ]);
    },
  };
}
