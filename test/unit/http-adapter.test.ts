import { setTimeout as sleep } from "node:timers/promises";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { type HttpApiServer, serveHttpApi } from "../../local/http-adapter";

describe("local HTTP API adapter", () => {
  let server: HttpApiServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("serves a request as an HTTP API v2 event and answers with the handler's result", async () => {
    let seen: APIGatewayProxyEventV2 | undefined;
    server = await serveHttpApi(
      async (event) => {
        seen = event;
        return { statusCode: 202, headers: { "x-answer": "yes" }, body: '{"ok":true}' };
      },
      { port: 0 },
    );

    const response = await fetch(`${server.url}/webhook?customer_id=a&order_id=b`, {
      method: "POST",
      body: "{}",
    });

    expect(response.status).toBe(202);
    expect(response.headers.get("x-answer")).toBe("yes");
    expect(seen).toMatchObject({
      rawPath: "/webhook",
      rawQueryString: "customer_id=a&order_id=b",
      body: "{}",
    });
  });

  it("runs at most maxConcurrency invocations at once and serves every request in turn", async () => {
    let inFlight = 0;
    let most = 0;
    server = await serveHttpApi(
      async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await sleep(20);
        inFlight--;
        return { statusCode: 200, body: "{}" };
      },
      { port: 0, maxConcurrency: 3 },
    );
    const url = server.url;

    const statuses = await Promise.all(
      Array.from({ length: 12 }, () => fetch(url, { method: "POST" }).then((r) => r.status)),
    );

    expect(statuses).toEqual(Array(12).fill(200));
    expect(most).toBe(3);
  });

  it("never invokes the handler for a request whose caller hung up while it waited", async () => {
    const invoked: string[] = [];
    let release: () => void = () => {};
    server = await serveHttpApi(
      async (event) => {
        invoked.push(event.rawPath);
        if (event.rawPath === "/slow") await new Promise<void>((resolve) => (release = resolve));
        return { statusCode: 200, body: "{}" };
      },
      { port: 0, maxConcurrency: 1 },
    );
    const url = server.url;
    const slow = fetch(`${url}/slow`, { method: "POST" });
    while (invoked.length === 0) await sleep(5);
    const abort = new AbortController();
    const abandoned = fetch(`${url}/abandoned`, { method: "POST", signal: abort.signal }).catch(
      () => "aborted",
    );
    await sleep(50);
    abort.abort();
    await abandoned;
    await sleep(50);

    release();
    await slow;
    await fetch(`${url}/after`, { method: "POST" });

    expect(invoked).toEqual(["/slow", "/after"]);
  });
});
