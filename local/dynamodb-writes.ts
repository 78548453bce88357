/**
 * DynamoDB applies each write to an item atomically, and a read sees an item before or after a write, never
 * half of one. moto does neither: two UpdateItem calls on one item at the same moment can lose one of them
 * (measured: about 1 in 100 when both create the item), and a GetItem that runs while moto applies an
 * update can return the item half-updated (seen under CPU load: `status` set, `text_s3_key` not yet). The
 * functions' conditional writes and the tests' reads rely on the real guarantees, so locally everything
 * reaches DynamoDB through this proxy, which gives each item one lane: writes and GetItem on one item run
 * one at a time, in arrival order, while different items go side by side (one slow write must not hold up
 * the rest). Reads that span a table (Query, Scan, BatchGetItem) wait for the writes in flight on it, and
 * writes arriving meanwhile wait for them. A write whose client hung up while it waited is dropped: nobody
 * would read its answer, and the client's retry is already on its way.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { TABLE_PARTITION_KEY, TABLE_SORT_KEY } from "../functions/shared/contract/resources";

const WRITES = /\.(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/;
/** Item reads that take the item's lane; TransactGetItems names its items like a transaction. */
const ITEM_READS = /\.(GetItem|TransactGetItems)$/;
/** Reads over a table (or several): they wait for the table's lanes to drain. */
const TABLE_READS = /\.(Query|Scan|BatchGetItem)$/;

export interface DynamoDbWriteSerializer {
  /** Endpoint the functions, the CLI and the tests use for DynamoDB (AWS_ENDPOINT_URL_DYNAMODB). */
  readonly endpoint: string;
  close(): Promise<void>;
}

export interface DynamoDbWriteSerializerOptions {
  /** The tables' key attribute names, to find a PutItem's item key. @default the stack's table keys */
  readonly keyAttributes?: readonly string[];
  /**
   * Called once a write has been applied (2xx), before its answer goes back: what it returns is awaited
   * first (the local stack's crash fault kills the writer there, so it never hears the answer).
   */
  readonly afterWrite?: (write: {
    readonly operation: string;
    readonly body: string;
    readonly authorization: string | undefined;
  }) => Promise<void> | void;
}

type AttributeMap = Record<string, unknown>;

const isMap = (value: unknown): value is AttributeMap =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The items an operation touches, one lock name each (JSON of table, then key attributes sorted by name). A
 * body that names no item gets one shared name, which still serializes it against other such bodies.
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
    case "GetItem":
      return [lockOf(input.TableName, input.Key)];
    case "TransactGetItems":
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

/** The tables a Query, Scan or BatchGetItem reads. */
export function tablesRead(body: string): string[] {
  try {
    const input: unknown = JSON.parse(body);
    if (!isMap(input)) return [];
    if (typeof input.TableName === "string") return [input.TableName];
    return isMap(input.RequestItems) ? Object.keys(input.RequestItems) : [];
  } catch {
    return [];
  }
}

/** The table part of a lock name from itemLocks. */
function tableOfLock(lock: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(lock);
    return Array.isArray(parsed) && typeof parsed[0] === "string" ? parsed[0] : undefined;
  } catch {
    return undefined;
  }
}

export async function startDynamoDbWriteSerializer(
  upstream: string,
  options: DynamoDbWriteSerializerOptions = {},
): Promise<DynamoDbWriteSerializer> {
  const target = new URL(upstream);
  const keyAttributes = options.keyAttributes ?? [TABLE_PARTITION_KEY, TABLE_SORT_KEY];
  // The last operation queued per item lane; a new one waits for those before it on each of its items.
  const tails = new Map<string, Promise<void>>();

  const forward = (
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    body: Buffer,
    written?: () => Promise<void> | void,
  ): Promise<void> =>
    new Promise((resolve) => {
      const proxied = request(
        {
          hostname: target.hostname,
          port: target.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        async (answer) => {
          const status = answer.statusCode ?? 502;
          if (written !== undefined && status >= 200 && status < 300) {
            answer.pause();
            try {
              await written();
            } catch {
              // A failing hook must not hold the lane: the answer goes back as it came.
            }
          }
          outgoing.writeHead(status, answer.headers);
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

  // Table-wide reads in flight per table: an item operation arriving meanwhile waits for them.
  const tableReads = new Map<string, Promise<void>>();

  const register = (lanes: Map<string, Promise<void>>, names: readonly string[], done: Promise<void>) => {
    for (const name of names) {
      const tail = done.finally(() => {
        if (lanes.get(name) === tail) lanes.delete(name);
      });
      lanes.set(name, tail);
    }
  };

  const serializeItems = (locks: readonly string[], run: () => Promise<void>): void => {
    const unique = [...new Set(locks)];
    const tables = [...new Set(unique.map(tableOfLock).filter((t): t is string => t !== undefined))];
    const before = [
      ...unique.map((lock) => tails.get(lock)),
      ...tables.map((table) => tableReads.get(table)),
    ].filter((p): p is Promise<void> => p !== undefined);
    register(tails, unique, Promise.all(before).then(run));
  };

  const serializeTables = (tables: readonly string[], run: () => Promise<void>): void => {
    const before = [...tails.entries()]
      .filter(([lock]) => {
        const table = tableOfLock(lock);
        return table !== undefined && tables.includes(table);
      })
      .map(([, tail]) => tail);
    for (const table of tables) {
      const previous = tableReads.get(table);
      if (previous) before.push(previous);
    }
    register(tableReads, tables, Promise.all(before).then(run));
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
      const afterWrite = options.afterWrite;
      const written =
        afterWrite && WRITES.test(operation)
          ? () =>
              afterWrite({
                operation: operation.slice(operation.lastIndexOf(".") + 1),
                body: body.toString("utf8"),
                authorization: incoming.headers.authorization,
              })
          : undefined;
      const run = () => (hungUp ? Promise.resolve() : forward(incoming, outgoing, body, written));
      if (WRITES.test(operation) || ITEM_READS.test(operation)) {
        serializeItems(itemLocks(operation, body.toString("utf8"), keyAttributes), run);
      } else if (TABLE_READS.test(operation)) {
        serializeTables(tablesRead(body.toString("utf8")), run);
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
