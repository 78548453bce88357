/**
 * DynamoDB applies each write to an item atomically; moto does not: two UpdateItem calls on one item at the
 * same moment can lose one of them (measured: about 1 in 100 when both create the item). The functions'
 * conditional writes rely on the real guarantee, so locally they reach DynamoDB through this proxy, which
 * forwards reads as they come and writes one at a time.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const WRITES = /\.(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/;

export interface DynamoDbWriteSerializer {
  /** Endpoint the functions use for DynamoDB (set as AWS_ENDPOINT_URL_DYNAMODB). */
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function startDynamoDbWriteSerializer(upstream: string): Promise<DynamoDbWriteSerializer> {
  const target = new URL(upstream);
  let writes: Promise<void> = Promise.resolve();

  const forward = (incoming: IncomingMessage, outgoing: ServerResponse, body: Buffer): Promise<void> =>
    new Promise((resolve) => {
      const proxied = request(
        {
          hostname: target.hostname,
          port: target.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
          answer.on("end", resolve);
          answer.on("error", () => resolve());
          // A client that hangs up mid-answer must not hold up every later write.
          outgoing.on("close", () => resolve());
        },
      );
      proxied.setTimeout(30_000, () =>
        proxied.destroy(new Error("DynamoDB emulator did not answer in 30 s")),
      );
      proxied.on("error", (error) => {
        if (!outgoing.headersSent) outgoing.writeHead(502, { "content-type": "application/json" });
        outgoing.end(JSON.stringify({ __type: "LocalProxyError", message: error.message }));
        resolve();
      });
      proxied.end(body);
    });

  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks);
      if (WRITES.test(String(incoming.headers["x-amz-target"] ?? ""))) {
        writes = writes.then(() => forward(incoming, outgoing, body));
      } else {
        void forward(incoming, outgoing, body);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
