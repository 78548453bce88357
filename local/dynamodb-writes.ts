/**
 * DynamoDB applies each write to an item atomically; moto does not: two UpdateItem calls on one item at the
 * same moment can lose one of them (measured: about 1 in 100 when both create the item). The functions'
 * conditional writes rely on the real guarantee, so locally they reach DynamoDB through this proxy, which
 * forwards reads as they come and writes to the same item one at a time. Writes to different items go on
 * side by side (one slow write must not hold up the rest), and a write whose client hung up while it
 * waited is dropped: nobody would read its answer, and the client's retry is already on its way.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { TABLE_PARTITION_KEY, TABLE_SORT_KEY } from "../lib/resource-spec";

const WRITES = /\.(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/;

export interface DynamoDbWriteSerializer {
  /** Endpoint the functions use for DynamoDB (set as AWS_ENDPOINT_URL_DYNAMODB). */
  readonly endpoint: string;
  close(): Promise<void>;
}

export interface DynamoDbWriteSerializerOptions {
  /** The tables' key attribute names, to find a PutItem's item key. @default the stack's table keys */
  readonly keyAttributes?: readonly string[];
}

type AttributeMap = Record<string, unknown>;

const isMap = (value: unknown): value is AttributeMap =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The items a write touches, one lock name each (table and key, attribute names sorted). A body that names
 * no item locks its whole table's name, which still serializes it against other such writes.
 */
export function itemLocks(target: string, body: string, keyAttributes: readonly string[]): string[] {
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch {
    return ["?"];
  }
  if (!isMap(input)) return ["?"];
  const lockOf = (table: unknown, key: unknown): string => {
    if (!isMap(key)) return String(table);
    const names = Object.keys(key).sort();
    return JSON.stringify([table, ...names.map((name) => [name, key[name]])]);
  };
  const keyOfItem = (item: unknown): AttributeMap | undefined =>
    isMap(item)
      ? Object.fromEntries(keyAttributes.filter((a) => a in item).map((a) => [a, item[a]]))
      : undefined;
  const operation = target.slice(target.lastIndexOf(".") + 1);
  switch (operation) {
    case "PutItem":
      return [lockOf(input.TableName, keyOfItem(input.Item))];
    case "UpdateItem":
    case "DeleteItem":
      return [lockOf(input.TableName, input.Key)];
    case "TransactWriteItems": {
      const items = Array.isArray(input.TransactItems) ? input.TransactItems : [];
      return items.flatMap((entry: unknown) => {
        if (!isMap(entry)) return [];
        return Object.values(entry)
          .filter(isMap)
          .map((part) => lockOf(part.TableName, part.Key ?? keyOfItem(part.Item)));
      });
    }
    case "BatchWriteItem": {
      const byTable = isMap(input.RequestItems) ? input.RequestItems : {};
      return Object.entries(byTable).flatMap(([table, requests]) =>
        (Array.isArray(requests) ? requests : []).filter(isMap).map((entry) => {
          const put = isMap(entry.PutRequest) ? entry.PutRequest : undefined;
          const del = isMap(entry.DeleteRequest) ? entry.DeleteRequest : undefined;
          return lockOf(table, del?.Key ?? keyOfItem(put?.Item));
        }),
      );
    }
    default:
      return ["?"];
  }
}

export async function startDynamoDbWriteSerializer(
  upstream: string,
  options: DynamoDbWriteSerializerOptions = {},
): Promise<DynamoDbWriteSerializer> {
  const target = new URL(upstream);
  const keyAttributes = options.keyAttributes ?? [TABLE_PARTITION_KEY, TABLE_SORT_KEY];
  // The last write queued per lock name; a new write waits for the ones before it on each of its items.
  const tails = new Map<string, Promise<void>>();

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

  const serialize = (locks: readonly string[], write: () => Promise<void>): void => {
    const unique = [...new Set(locks)];
    const before = unique.map((lock) => tails.get(lock) ?? Promise.resolve());
    const done = Promise.all(before).then(write);
    for (const lock of unique) {
      const tail = done.finally(() => {
        if (tails.get(lock) === tail) tails.delete(lock);
      });
      tails.set(lock, tail);
    }
  };

  const server: Server = createServer((incoming, outgoing) => {
    let hungUp = false;
    outgoing.once("close", () => {
      if (!outgoing.writableEnded) hungUp = true;
    });
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks);
      const operation = String(incoming.headers["x-amz-target"] ?? "");
      if (!WRITES.test(operation)) {
        void forward(incoming, outgoing, body);
        return;
      }
      serialize(itemLocks(operation, body.toString("utf8"), keyAttributes), () =>
        hungUp ? Promise.resolve() : forward(incoming, outgoing, body),
      );
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
