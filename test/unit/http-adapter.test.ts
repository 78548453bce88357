import { setTimeout as sleep } from "node:timers/promises";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { type AccessLogValues, accessLogFormat, renderAccessLog, THROTTLED_BODY } from "../../lib/access-log";
import { type HttpApiServer, serveHttpApi, TokenBucket } from "../../local/http-adapter";

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("the stage throttle's token bucket", () => {
  it("admits a whole burst at once, then nothing until time passes", () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ rateLimit: 10, burstLimit: 5 }, clock.now);

    const taken = Array.from({ length: 6 }, () => bucket.take());

    expect(taken).toEqual([true, true, true, true, true, false]);
  });

  it("refills at the rate: one token per 1/rate seconds", () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ rateLimit: 10, burstLimit: 1 }, clock.now);
    expect(bucket.take()).toBe(true);

    clock.advance(99);
    expect(bucket.take()).toBe(false);
    clock.advance(1);
    expect(bucket.take()).toBe(true);
  });

  it("never holds more than the burst, however long it was idle", () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ rateLimit: 100, burstLimit: 3 }, clock.now);
    clock.advance(3_600_000);

    const taken = Array.from({ length: 4 }, () => bucket.take());

    expect(taken).toEqual([true, true, true, false]);
  });

  it("admits steady traffic at the rate for good, and throttles what comes faster", () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ rateLimit: 500, burstLimit: 1000 }, clock.now);
    let admitted = 0;
    // 2,000 requests over 10 seconds, one every 5 ms (200 a second): all admitted.
    for (let i = 0; i < 2_000; i++, clock.advance(5)) if (bucket.take()) admitted++;
    expect(admitted).toBe(2_000);

    // Then 3,000 at once: the full bucket (1,000) and not one more.
    let burst = 0;
    for (let i = 0; i < 3_000; i++) if (bucket.take()) burst++;
    expect(burst).toBe(1_000);
  });
});

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

  it("answers 429 past the throttle as API Gateway does, without invoking the handler, and logs it", async () => {
    const clock = manualClock();
    const logged: AccessLogValues[] = [];
    let invocations = 0;
    server = await serveHttpApi(
      async () => {
        invocations++;
        return { statusCode: 200, body: "{}" };
      },
      {
        port: 0,
        throttle: { rateLimit: 1, burstLimit: 2 },
        now: clock.now,
        onAccessLog: (values) => logged.push(values),
      },
    );
    const post = () => fetch(`${server?.url}/webhook`, { method: "POST", body: "{}" });

    const first = await post();
    const second = await post();
    const third = await post();
    clock.advance(1_000);
    const fourth = await post();

    expect([first.status, second.status, third.status, fourth.status]).toEqual([200, 200, 429, 200]);
    expect(third.headers.get("content-type")).toBe("application/json");
    expect(await third.text()).toBe(THROTTLED_BODY);
    expect(invocations).toBe(3);
    expect(logged.map((values) => values.status)).toEqual([200, 200, 429, 200]);
    expect(logged[2]).toMatchObject({ method: "POST", path: "/webhook", error: "Too Many Requests" });
    expect(logged[2]?.integrationStatus).toBeUndefined();
    expect(logged[0]).toMatchObject({ routeKey: "POST /webhook", integrationStatus: 200 });
  });

  it("writes access-log lines with exactly the deployed format's fields, the stack's name among them", async () => {
    const logged: AccessLogValues[] = [];
    server = await serveHttpApi(async () => ({ statusCode: 404, body: '{"error":"not_found"}' }), {
      port: 0,
      onAccessLog: (values) => logged.push(values),
    });

    await fetch(`${server.url}/elsewhere?x=1`);
    const line = JSON.parse(renderAccessLog("Local", logged[0] ?? {}));

    expect(Object.keys(line).sort()).toEqual(Object.keys(JSON.parse(accessLogFormat("Local"))).sort());
    expect(line).toMatchObject({
      stack: "Local",
      method: "GET",
      path: "/elsewhere",
      routeKey: "$default",
      status: "404",
      responseLength: "21",
      ip: "127.0.0.1",
      error: "-",
    });
  });
});
