import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { itemLocks, startDynamoDbWriteSerializer } from "../../local/dynamodb-writes";

/** What the fake emulator saw: per item, how many writes were in flight at once; every write's order id. */
interface Seen {
  maxWritesInFlightPerItem: Map<string, number>;
  maxWritesInFlight: number;
  maxReadsInFlight: number;
  writes: string[];
}

describe("local DynamoDB write serializer", () => {
  let upstream: Server;
  let seen: Seen;
  const inFlightPerItem = new Map<string, number>();
  let inFlight = 0;
  // Order ids whose write the fake emulator holds until released.
  const held = new Map<string, () => void>();

  beforeAll(async () => {
    upstream = createServer((request, response) => {
      const write = String(request.headers["x-amz-target"]).endsWith("Item");
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          Key?: { order_id?: { S: string } };
        };
        const order = body.Key?.order_id?.S ?? "";
        inFlight++;
        if (write && !String(request.headers["x-amz-target"]).endsWith("GetItem")) {
          seen.writes.push(order);
          const now = (inFlightPerItem.get(order) ?? 0) + 1;
          inFlightPerItem.set(order, now);
          seen.maxWritesInFlightPerItem.set(
            order,
            Math.max(now, seen.maxWritesInFlightPerItem.get(order) ?? 0),
          );
          seen.maxWritesInFlight = Math.max(seen.maxWritesInFlight, inFlight);
        } else {
          seen.maxReadsInFlight = Math.max(seen.maxReadsInFlight, inFlight);
        }
        if (order.startsWith("held")) await new Promise<void>((resolve) => held.set(order, resolve));
        else await sleep(20);
        inFlight--;
        if (seen.writes.includes(order)) inFlightPerItem.set(order, (inFlightPerItem.get(order) ?? 1) - 1);
        response.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
        response.end(JSON.stringify({ target: request.headers["x-amz-target"], order }));
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  });

  afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

  beforeEach(() => {
    seen = { maxWritesInFlightPerItem: new Map(), maxWritesInFlight: 0, maxReadsInFlight: 0, writes: [] };
    inFlight = 0;
    inFlightPerItem.clear();
  });

  const startProxy = () => {
    const { port } = upstream.address() as AddressInfo;
    return startDynamoDbWriteSerializer(`http://127.0.0.1:${port}`);
  };

  const call = (endpoint: string, target: string, order: string, signal?: AbortSignal) =>
    fetch(endpoint, {
      method: "POST",
      headers: {
        "x-amz-target": `DynamoDB_20120810.${target}`,
        "content-type": "application/x-amz-json-1.0",
      },
      body: JSON.stringify({
        TableName: "records",
        Key: { customer_id: { S: "c" }, order_id: { S: order } },
      }),
      ...(signal ? { signal } : {}),
    }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as { target?: string; order?: string },
    }));

  it("forwards writes to one item one at a time, answering each with the emulator's answer", async () => {
    const proxy = await startProxy();
    try {
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => call(proxy.endpoint, "UpdateItem", "o1")),
      );

      expect(answers.every((a) => a.status === 200 && a.body.target === "DynamoDB_20120810.UpdateItem")).toBe(
        true,
      );
      expect(seen.maxWritesInFlightPerItem.get("o1")).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it("lets a write to another item pass while one item's write is slow", async () => {
    const proxy = await startProxy();
    try {
      const slow = call(proxy.endpoint, "UpdateItem", "held-1");
      const queuedBehindSlow = call(proxy.endpoint, "UpdateItem", "held-1");
      await waitFor(() => held.has("held-1"));

      const other = await call(proxy.endpoint, "UpdateItem", "o2");

      expect(other).toEqual({ status: 200, body: { target: "DynamoDB_20120810.UpdateItem", order: "o2" } });
      expect(seen.writes).toEqual(["held-1", "o2"]);
      held.get("held-1")?.();
      held.delete("held-1");
      await slow;
      await waitFor(() => held.has("held-1"));
      held.get("held-1")?.();
      held.delete("held-1");
      await queuedBehindSlow;
      expect(seen.maxWritesInFlightPerItem.get("held-1")).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it("drops a queued write whose client hung up before its turn", async () => {
    const proxy = await startProxy();
    try {
      const slow = call(proxy.endpoint, "UpdateItem", "held-2");
      await waitFor(() => held.has("held-2"));
      const abort = new AbortController();
      const abandoned = call(proxy.endpoint, "UpdateItem", "held-2", abort.signal).catch(() => "aborted");
      await sleep(50);
      abort.abort();
      expect(await abandoned).toBe("aborted");
      await sleep(50);

      held.get("held-2")?.();
      held.delete("held-2");
      await slow;
      await call(proxy.endpoint, "UpdateItem", "o3");

      expect(seen.writes).toEqual(["held-2", "o3"]);
    } finally {
      await proxy.close();
    }
  });

  it("lets reads of different items through side by side", async () => {
    const proxy = await startProxy();
    try {
      await Promise.all(Array.from({ length: 8 }, (_, i) => call(proxy.endpoint, "GetItem", `r${i}`)));

      expect(seen.maxReadsInFlight).toBeGreaterThan(1);
    } finally {
      await proxy.close();
    }
  });

  it("holds a GetItem until the write in progress on its item has finished, so it never sees half of it", async () => {
    const proxy = await startProxy();
    try {
      const write = call(proxy.endpoint, "UpdateItem", "held-3");
      await waitFor(() => held.has("held-3"));
      let read: string | undefined;
      const reading = call(proxy.endpoint, "GetItem", "held-3").then(() => {
        read = "answered";
      });
      await sleep(50);
      expect(read).toBeUndefined();

      held.get("held-3")?.();
      held.delete("held-3");
      await waitFor(() => held.has("held-3"));
      held.get("held-3")?.();
      held.delete("held-3");
      await Promise.all([write, reading]);
      expect(read).toBe("answered");
    } finally {
      await proxy.close();
    }
  });

  it("runs a Query after the writes in flight on its table, and a later write after the Query", async () => {
    const proxy = await startProxy();
    const order: string[] = [];
    const log = (what: string) => (answer: unknown) => {
      order.push(what);
      return answer;
    };
    try {
      const write = call(proxy.endpoint, "UpdateItem", "held-4").then(log("write"));
      await waitFor(() => held.has("held-4"));
      const query = call(proxy.endpoint, "Query", "").then(log("query"));
      await sleep(30);
      const later = call(proxy.endpoint, "UpdateItem", "o5").then(log("later write"));
      await sleep(50);
      expect(order).toEqual([]);

      held.get("held-4")?.();
      held.delete("held-4");
      await Promise.all([write, query, later]);
      expect(order).toEqual(["write", "query", "later write"]);
    } finally {
      await proxy.close();
    }
  });
});

describe("itemLocks", () => {
  const keys = ["customer_id", "order_id"];
  const key = (order: string) => ({ customer_id: { S: "c" }, order_id: { S: order } });

  it("names the same item the same way whatever the operation and the key's attribute order", () => {
    const update = itemLocks(
      "DynamoDB_20120810.UpdateItem",
      JSON.stringify({ TableName: "t", Key: key("a") }),
      keys,
    );
    const put = itemLocks(
      "DynamoDB_20120810.PutItem",
      JSON.stringify({
        TableName: "t",
        Item: { order_id: { S: "a" }, text: { S: "x" }, customer_id: { S: "c" } },
      }),
      keys,
    );

    expect(put).toEqual(update);
    expect(
      itemLocks("DynamoDB_20120810.DeleteItem", JSON.stringify({ TableName: "t", Key: key("b") }), keys),
    ).not.toEqual(update);
  });

  it("locks every item a transaction or a batch writes", () => {
    const transaction = itemLocks(
      "DynamoDB_20120810.TransactWriteItems",
      JSON.stringify({
        TransactItems: [
          { Update: { TableName: "t", Key: key("a") } },
          { Put: { TableName: "t", Item: key("b") } },
        ],
      }),
      keys,
    );
    const batch = itemLocks(
      "DynamoDB_20120810.BatchWriteItem",
      JSON.stringify({
        RequestItems: { t: [{ PutRequest: { Item: key("a") } }, { DeleteRequest: { Key: key("b") } }] },
      }),
      keys,
    );

    expect(transaction).toHaveLength(2);
    expect(batch).toEqual(transaction);
  });

  it("puts a body it cannot read in one shared lane", () => {
    expect(itemLocks("DynamoDB_20120810.UpdateItem", "not json", keys)).toEqual(["?"]);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}
