import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { startDynamoDbWriteSerializer } from "../../local/dynamodb-writes";

describe("local DynamoDB write serializer", () => {
  let upstream: Server;
  let inFlight = 0;
  let maxWritesInFlight = 0;
  let maxReadsInFlight = 0;

  beforeAll(async () => {
    upstream = createServer((request, response) => {
      const write = String(request.headers["x-amz-target"]).endsWith(".UpdateItem");
      inFlight++;
      if (write) maxWritesInFlight = Math.max(maxWritesInFlight, inFlight);
      else maxReadsInFlight = Math.max(maxReadsInFlight, inFlight);
      request.resume();
      request.on("end", async () => {
        await sleep(20);
        inFlight--;
        response.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
        response.end(JSON.stringify({ target: request.headers["x-amz-target"] }));
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  });

  afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

  beforeEach(() => {
    maxWritesInFlight = 0;
    maxReadsInFlight = 0;
  });

  const call = (endpoint: string, target: string) =>
    fetch(endpoint, {
      method: "POST",
      headers: {
        "x-amz-target": `DynamoDB_20120810.${target}`,
        "content-type": "application/x-amz-json-1.0",
      },
      body: "{}",
    }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as { target?: string },
    }));

  it("forwards writes one at a time, answering each with the emulator's answer", async () => {
    const { port } = upstream.address() as AddressInfo;
    const proxy = await startDynamoDbWriteSerializer(`http://127.0.0.1:${port}`);
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => call(proxy.endpoint, "UpdateItem")));

      expect(answers.every((a) => a.status === 200 && a.body.target === "DynamoDB_20120810.UpdateItem")).toBe(
        true,
      );
      expect(maxWritesInFlight).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it("lets reads through concurrently", async () => {
    const { port } = upstream.address() as AddressInfo;
    const proxy = await startDynamoDbWriteSerializer(`http://127.0.0.1:${port}`);
    try {
      await Promise.all(Array.from({ length: 8 }, () => call(proxy.endpoint, "GetItem")));

      expect(maxReadsInFlight).toBeGreaterThan(1);
    } finally {
      await proxy.close();
    }
  });
});
