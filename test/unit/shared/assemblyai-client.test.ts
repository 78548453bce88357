import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AssemblyAiClient } from "../../../functions/shared/assemblyai-client";
import { storedTimes } from "../../../functions/shared/contract/winner";

/** Answers GET /v2/transcript by `answer(query)`: [status, body]. */
let answer: (query: URLSearchParams) => [number, unknown] = () => [404, { error: "not found" }];
let server: Server;
let client: AssemblyAiClient;

beforeAll(async () => {
  server = createServer((request, response) => {
    const url = new URL(request.url ?? "", "http://fake");
    const [status, body] = answer(url.searchParams);
    response.writeHead(status, { "content-type": "application/json" });
    response.end(typeof body === "string" ? body : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  client = new AssemblyAiClient({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    timeoutMs: 2_000,
  });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const page = (...transcripts: unknown[]) => ({ page_details: { limit: 1 }, transcripts });
const item = (id: string, created: unknown, completed: unknown = null) => ({
  id,
  status: "completed",
  created,
  completed,
});

describe("AssemblyAI's times for one transcript", () => {
  it("reads the transcript itself from the page after its predecessor", async () => {
    answer = (q) =>
      q.get("before_id") === "x"
        ? [200, page(item("p", "2025-11-27T05:00:00.1"))]
        : [200, page(item("x", "2025-11-27T05:00:01.123456", "2025-11-27T05:02:00"))];

    expect(await client.transcriptTimes("x", "key")).toEqual({
      type: "times",
      times: { created: "2025-11-27T05:00:01.123456Z", completed: "2025-11-27T05:02:00.000000Z" },
    });
  });

  it("is the oldest AssemblyAI lists when nothing was created before it", async () => {
    answer = () => [200, page()];

    expect(await client.transcriptTimes("x", "key")).toEqual({ type: "times", times: "oldest" });
  });

  it.each([
    ["the page after the predecessor is another transcript", item("y", "2025-11-27T05:00:01")],
    ["the transcript's created time is unreadable", item("x", "soon")],
  ])("cannot tell (arrival order decides) when %s", async (_name, after) => {
    answer = (q) => (q.has("before_id") ? [200, page(item("p", "2025-11-27T05:00:00"))] : [200, page(after)]);

    expect(await client.transcriptTimes("x", "key")).toEqual({ type: "times", times: "unknown" });
  });

  it.each([
    ["an error answer", 503, { error: "busy" }, "http_error"],
    ["a body that is not JSON", 200, "<html>", "invalid_body"],
    ["a list without transcripts", 200, { page_details: {} }, "invalid_body"],
    ["items without ids", 200, page({ status: "completed" }), "invalid_body"],
  ])("reports %s as a failure, never as times", async (_name, status, body, type) => {
    answer = () => [status, body];

    expect((await client.transcriptTimes("x", "key")).type).toBe(type);
  });

  it("takes its base URL with or without a trailing slash", async () => {
    answer = () => [200, page()];
    const slashed = new AssemblyAiClient({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}//`,
      timeoutMs: 2_000,
    });

    expect(await slashed.transcriptTimes("x", "key")).toEqual({ type: "times", times: "oldest" });
  });

  it("never sends an id that could not be part of a path", async () => {
    expect(await client.getTranscript("../admin", "key")).toMatchObject({ type: "http_error", status: 400 });
  });
});

describe("AssemblyAI's times kept on a record", () => {
  it("are read back normalised, and ignored when they are not timestamps", () => {
    expect(storedTimes({ transcript_created: "2025-11-27T05:00:01.123456Z" })).toEqual({
      created: "2025-11-27T05:00:01.123456Z",
    });
    expect(storedTimes({ transcript_created: 42, transcript_completed: "x" })).toBeUndefined();
    expect(storedTimes({ transcript_created: "yesterday" })).toBeUndefined();
  });
});
