/**
 * Simulated AWS outages for the local stack: the functions reach SQS through a TCP proxy that can be cut,
 * so tests (and curious people) can watch the receiver answer 5xx during an outage and AssemblyAI's retry
 * land the delivery once it is over. Control: `PUT {controlUrl}/outages/sqs` with `{"down": true|false}`,
 * `GET {controlUrl}/outages`.
 *
 * And a fault: `PUT {controlUrl}/faults/worker-crash-after-write` with `{"times": n}` kills the worker's
 * execution environment right after each of its next n record writes commits, before the worker hears the
 * answer (local/start.ts does the killing), as a Lambda environment that dies between its write and its
 * next step; `GET {controlUrl}/faults` tells how many are still armed.
 */
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect, createServer, type Socket, type Server as TcpServer } from "node:net";

export interface OutageControl {
  /** Endpoint the functions use for SQS (set as AWS_ENDPOINT_URL_SQS). */
  readonly sqsEndpoint: string;
  /** Base URL of the control API. */
  readonly controlUrl: string;
  setSqsDown(down: boolean): void;
  /** Whether a worker crash is armed; takes one if so. */
  takeWorkerCrash(): boolean;
  close(): Promise<void>;
}

/** The fault's name in the control API. */
export const WORKER_CRASH_FAULT = "worker-crash-after-write";

export async function startOutageControl(
  upstream: string,
  onChange?: (line: string) => void,
): Promise<OutageControl> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  let down = false;
  let workerCrashes = 0;

  const proxy: TcpServer = createServer((client) => {
    if (down) {
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

  const setSqsDown = (next: boolean) => {
    down = next;
    // Cut kept-alive connections too, or clients would keep talking through them.
    if (down) for (const socket of sockets) socket.destroy();
    onChange?.(
      down ? "SQS is now unreachable for the functions (simulated outage)" : "SQS is reachable again",
    );
  };

  const control: Server = createHttpServer((request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (request.url === "/outages" && request.method === "GET") return reply(200, { sqs: { down } });
    if (request.url === "/faults" && request.method === "GET") {
      return reply(200, { [WORKER_CRASH_FAULT]: { times: workerCrashes } });
    }
    const fault = request.url === `/faults/${WORKER_CRASH_FAULT}` && request.method === "PUT";
    if (!fault && (request.url !== "/outages/sqs" || request.method !== "PUT")) {
      return reply(404, {
        error: "not_found",
        message: `use GET /outages, PUT /outages/sqs, GET /faults or PUT /faults/${WORKER_CRASH_FAULT}`,
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
      if (typeof value !== "boolean") {
        return reply(400, { error: "invalid_body", message: 'send {"down": true} or {"down": false}' });
      }
      setSqsDown(value);
      reply(200, { sqs: { down } });
    });
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));

  return {
    sqsEndpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    controlUrl: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
    setSqsDown,
    takeWorkerCrash() {
      if (workerCrashes === 0) return false;
      workerCrashes -= 1;
      return true;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      control.closeAllConnections();
      await Promise.all([
        new Promise<void>((resolve) => proxy.close(() => resolve())),
        new Promise<void>((resolve) => control.close(() => resolve())),
      ]);
    },
  };
}
