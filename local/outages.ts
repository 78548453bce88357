/**
 * Simulated AWS outages for the local stack: the functions reach SQS through a TCP proxy that can be cut,
 * so tests (and curious people) can watch the receiver answer 5xx during an outage and AssemblyAI's retry
 * land the delivery once it is over. Control: `PUT {controlUrl}/outages/sqs` with `{"down": true|false}`,
 * `GET {controlUrl}/outages`.
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
  close(): Promise<void>;
}

export async function startOutageControl(
  upstream: string,
  onChange?: (line: string) => void,
): Promise<OutageControl> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  let down = false;

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
    if (request.url !== "/outages/sqs" || request.method !== "PUT") {
      return reply(404, { error: "not_found", message: "use GET /outages or PUT /outages/sqs" });
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
