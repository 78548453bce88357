import http from "node:http";
import type { AddressInfo } from "node:net";
import { AssemblyAiApi, AssemblyAiRequestError } from "../../../functions/reconciler/assemblyai";

/** A real local HTTP server standing in for AssemblyAI: each test sets how it answers. */
let server: http.Server;
let baseUrl: string;
let answer: (request: http.IncomingMessage, response: http.ServerResponse) => void;
const seen: { url: string | undefined; authorization: string | undefined }[] = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    seen.push({ url: request.url, authorization: request.headers.authorization });
    answer(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
});

const api = (timeoutMs = 1_000) => new AssemblyAiApi({ baseUrl, timeoutMs, apiKey: async () => "key-1" });
const json = (status: number, body: unknown) => (_: http.IncomingMessage, response: http.ServerResponse) => {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
};

describe("the reconciler's AssemblyAI client", () => {
  it("lists with the query given and the key in the authorization header", async () => {
    answer = json(200, {
      page_details: { prev_url: null },
      transcripts: [{ id: "t-1", status: "completed" }],
    });

    const list = await api().listTranscripts({ limit: "200", before_id: "t-9" });

    expect(list.transcripts).toHaveLength(1);
    expect(seen).toEqual([{ url: "/v2/transcript?limit=200&before_id=t-9", authorization: "key-1" }]);
  });

  it("reads a transcript by id", async () => {
    answer = json(200, { id: "t-1", status: "completed", webhook_url: "https://x.example/webhook" });

    const transcript = await api().getTranscript("t-1");

    expect(transcript.webhook_url).toBe("https://x.example/webhook");
    expect(seen[0]?.url).toBe("/v2/transcript/t-1");
  });

  it("keeps the status and AssemblyAI's message of an error answer", async () => {
    answer = json(429, { error: "Too many requests" });

    const failure = await api()
      .getTranscript("t-1")
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(AssemblyAiRequestError);
    expect(failure).toMatchObject({
      status: 429,
      message: "GET /v2/transcript/t-1 answered HTTP 429: Too many requests",
    });
  });

  it("times out a request that does not answer", async () => {
    answer = () => undefined;

    await expect(api(100).listTranscripts({})).rejects.toThrow("GET /v2/transcript timed out");
  });

  it("refuses a body that is not a transcript list", async () => {
    answer = json(200, { transcripts: "none" });

    await expect(api().listTranscripts({})).rejects.toThrow("not a transcript list");
  });

  it("never puts a malformed id in a path", async () => {
    await expect(api().getTranscript("../admin")).rejects.toThrow("malformed");
    expect(seen).toEqual([]);
  });
});
