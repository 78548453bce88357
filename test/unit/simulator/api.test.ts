import { AssemblyAI, type Transcript } from "assemblyai";
import { DELETED_TRANSCRIPT_TEXT } from "../../../functions/shared/assemblyai";
import { type Simulator, startSimulator } from "../../../local/simulator";

const AUDIO = "https://audio.example.com/call.mp3";

describe("AssemblyAI simulator API, driven by the official SDK", () => {
  let sim: Simulator;
  let client: AssemblyAI;

  beforeEach(async () => {
    sim = await startSimulator({ processingDelayMs: 30 });
    client = new AssemblyAI({ apiKey: "test", baseUrl: sim.url });
  });

  afterEach(async () => {
    await sim.close();
  });

  const finished = async (id: string): Promise<Transcript> => {
    await sim.settled(id);
    return client.transcripts.get(id);
  };

  it("uploads raw bytes and answers an upload_url on the simulator that serves them back", async () => {
    const bytes = Buffer.from("RIFF fake audio bytes");

    const uploadUrl = await client.files.upload(bytes);

    expect(uploadUrl).toMatch(new RegExp(`^${sim.url}/files/[A-Za-z0-9-]+$`));
    const served = await fetch(uploadUrl);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(bytes);
  });

  it("refuses an upload larger than the configured cap with 413", async () => {
    await sim.close();
    sim = await startSimulator({ maxUploadBytes: 10 });

    const response = await fetch(`${sim.url}/v2/upload`, {
      method: "POST",
      headers: { authorization: "test" },
      body: Buffer.alloc(11),
    });

    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: expect.any(String) });
  });

  it("queues a submitted job, then completes it with words, utterances and metadata", async () => {
    const submitted = await client.transcripts.submit({ audio: AUDIO });
    expect(submitted.status).toBe("queued");
    expect(submitted.text).toBeNull();

    const transcript = await finished(submitted.id);

    expect(transcript).toMatchObject({
      id: submitted.id,
      status: "completed",
      audio_url: AUDIO,
      language_code: "en_us",
      speech_model_used: "universal",
      webhook_url: null,
      webhook_status_code: null,
      webhook_auth: false,
    });
    expect(transcript.text?.length).toBeGreaterThan(0);
    expect(transcript.words?.length).toBeGreaterThanOrEqual(24);
    expect(transcript.words?.length).toBeLessThanOrEqual(64);
    expect(transcript.confidence).toBeGreaterThan(0);
    expect(transcript.audio_duration).toBeGreaterThan(0);
    expect(transcript.words?.[0]).toEqual({
      text: expect.any(String),
      start: expect.any(Number),
      end: expect.any(Number),
      confidence: expect.any(Number),
      speaker: expect.stringMatching(/^[ABC]$/),
    });
    const utteranceWords = transcript.utterances?.flatMap((utterance) => utterance.words);
    expect(utteranceWords).toEqual(transcript.words);
    expect(transcript.words?.map((word) => word.text).join(" ")).toBe(transcript.text);
  });

  it("passes through a processing state between queued and completed", async () => {
    await sim.close();
    sim = await startSimulator({ processingDelayMs: 300 });
    client = new AssemblyAI({ apiKey: "test", baseUrl: sim.url });
    const statuses: string[] = [];
    sim.events.on("status", (event: { status: string }) => statuses.push(event.status));

    const { id } = await client.transcripts.submit({ audio: AUDIO });
    await sim.settled(id);

    expect(statuses).toEqual(["processing", "completed"]);
  });

  it("gives the same transcript for the same audio URL and another for another URL", async () => {
    const first = await client.transcripts.submit({ audio: AUDIO });
    const second = await client.transcripts.submit({ audio: AUDIO });
    const other = await client.transcripts.submit({ audio: `${AUDIO}?v=2` });

    const [a, b, c] = await Promise.all([finished(first.id), finished(second.id), finished(other.id)]);

    expect(a.text).toBe(b.text);
    expect(a.words).toEqual(b.words);
    expect(c.text).not.toBe(a.text);
  });

  it("makes an N-word transcript for words=N", async () => {
    const { id } = await client.transcripts.submit({ audio: `${AUDIO}?words=257` });

    const transcript = await finished(id);

    expect(transcript.words).toHaveLength(257);
    expect(transcript.text?.split(" ")).toHaveLength(257);
  });

  // How fast it serves one is a benchmark row (`npm run bench -- --only large`), not a timed assertion.
  it("serves a 120,000-word (10-hour) transcript of 10+ MB", async () => {
    const { id } = await client.transcripts.submit({ audio: `${AUDIO}?words=120000` });
    await sim.settled(id);

    const response = await fetch(`${sim.url}/v2/transcript/${id}`, { headers: { authorization: "test" } });
    const body = await response.text();
    const transcript = JSON.parse(body) as Transcript;

    expect(body.length).toBeGreaterThan(10 * 1024 * 1024);
    expect(transcript.words).toHaveLength(120000);
    expect(transcript.audio_duration).toBeGreaterThan(9 * 3600);
  });

  it("ends a simulate=error job in status error with an error message", async () => {
    const { id } = await client.transcripts.submit({ audio: `${AUDIO}?simulate=error` });

    const transcript = await finished(id);

    expect(transcript.status).toBe("error");
    expect(transcript.error).toContain("Download error");
    expect(transcript.text).toBeNull();
    expect(transcript.words).toBeNull();
  });

  it("ends a job for an upload URL the simulator does not hold in error", async () => {
    const { id } = await client.transcripts.submit({ audio: `${sim.url}/files/no-such-upload` });

    expect((await finished(id)).status).toBe("error");
  });

  it("echoes request options and never returns the webhook auth header value", async () => {
    const submitted = await client.transcripts.submit({
      audio: AUDIO,
      webhook_url: "http://127.0.0.1:9/hook?customer_id=7",
      webhook_auth_header_name: "X-Webhook-Secret",
      webhook_auth_header_value: "s3cret",
      punctuate: false,
      redact_pii: true,
      redact_pii_policies: ["person_name"],
    });
    await sim.close(); // no webhook delivery needed here

    expect(submitted).toMatchObject({
      webhook_url: "http://127.0.0.1:9/hook?customer_id=7",
      webhook_auth: true,
      webhook_auth_header_name: "X-Webhook-Secret",
      punctuate: false,
      redact_pii: true,
      redact_pii_policies: ["person_name"],
    });
    expect(JSON.stringify(submitted)).not.toContain("s3cret");
    expect(submitted).not.toHaveProperty("webhook_auth_header_value");
  });

  it("never puts created or completed on the transcript object, even when the submit body has them", async () => {
    const response = await fetch(`${sim.url}/v2/transcript`, {
      method: "POST",
      headers: { authorization: "test", "content-type": "application/json" },
      body: JSON.stringify({ audio_url: AUDIO, created: "2001-01-01T00:00:00.000000", completed: "x" }),
    });
    const submitted = (await response.json()) as Record<string, unknown>;
    await sim.settled(submitted.id as string);

    const fetched = await fetch(`${sim.url}/v2/transcript/${submitted.id}`, {
      headers: { authorization: "test" },
    });
    const transcript = (await fetched.json()) as Record<string, unknown>;

    expect(transcript.status).toBe("completed");
    for (const body of [submitted, transcript]) {
      expect(body).not.toHaveProperty("created");
      expect(body).not.toHaveProperty("completed");
    }
  });

  it("answers 401 without an authorization header on every /v2 route", async () => {
    const routes: [string, string][] = [
      ["POST", "/v2/upload"],
      ["POST", "/v2/transcript"],
      ["GET", "/v2/transcript"],
      ["GET", "/v2/transcript/abc"],
      ["DELETE", "/v2/transcript/abc"],
      ["GET", "/v2/transcript/abc/redacted-audio"],
    ];

    for (const [method, path] of routes) {
      const response = await fetch(`${sim.url}${path}`, { method });
      expect({ path, status: response.status, body: await response.json() }).toEqual({
        path,
        status: 401,
        body: { error: "Authentication error, API token missing/invalid" },
      });
    }
  });

  it("accepts only the configured key when an apiKey option is given", async () => {
    await sim.close();
    sim = await startSimulator({ apiKey: "right-key" });

    await expect(
      new AssemblyAI({ apiKey: "wrong-key", baseUrl: sim.url }).transcripts.list(),
    ).rejects.toThrow("Authentication error, API token missing/invalid");
    await expect(
      new AssemblyAI({ apiKey: "right-key", baseUrl: sim.url }).transcripts.list(),
    ).resolves.toHaveProperty("transcripts", []);
  });

  it("answers 404 Transcript not found for an unknown id", async () => {
    const response = await fetch(`${sim.url}/v2/transcript/5552493-16d8-42d8-8feb-c2a16b56f6e8`, {
      headers: { authorization: "test" },
    });

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "Transcript not found" });
    await expect(client.transcripts.get("unknown")).rejects.toThrow("Transcript not found");
  });

  it("answers 400 for a missing audio_url and for a body that is not JSON", async () => {
    const post = (body: string) =>
      fetch(`${sim.url}/v2/transcript`, {
        method: "POST",
        headers: { authorization: "test", "content-type": "application/json" },
        body,
      });

    const missing = await post(JSON.stringify({ webhook_url: "https://example.com/hook" }));
    const invalid = await post("{not json");

    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: expect.stringContaining("audio_url") });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toEqual({ error: expect.any(String) });
  });

  it.each([
    ["a line break", "secret\r\nX-Injected: 1"],
    ["non-ASCII", "sécret"],
    ["an empty value", ""],
  ])("answers 400 for a webhook_auth_header_value with %s instead of failing later", async (_name, value) => {
    const response = await fetch(`${sim.url}/v2/transcript`, {
      method: "POST",
      headers: { authorization: "test", "content-type": "application/json" },
      body: JSON.stringify({
        audio_url: "https://example.com/a.mp3",
        webhook_url: "https://example.com/hook",
        webhook_auth_header_name: "X-Webhook-Secret",
        webhook_auth_header_value: value,
      }),
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: expect.stringContaining("webhook_auth_header") });
  });

  it("answers 405 with an Allow header for a wrong method on a known route", async () => {
    const response = await fetch(`${sim.url}/v2/transcript/abc`, {
      method: "PUT",
      headers: { authorization: "test" },
    });

    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, DELETE");
    expect(await response.json()).toEqual({ error: "Method not allowed" });
  });

  it("deletes a transcript: afterwards it reads completed, 'Deleted by user.' and its content is gone", async () => {
    const { id } = await client.transcripts.submit({ audio: AUDIO });
    await sim.settled(id);

    const answered = await client.transcripts.delete(id);
    const after = await client.transcripts.get(id);

    expect(answered.id).toBe(id);
    for (const transcript of [answered, after]) {
      expect(transcript).toMatchObject({
        status: "completed",
        text: DELETED_TRANSCRIPT_TEXT,
        words: null,
        utterances: null,
        audio_url: "http://deleted_by_user",
      });
    }
  });

  it("refuses to delete a transcript that is still queued", async () => {
    await sim.close();
    sim = await startSimulator({ processingDelayMs: 5000 });
    client = new AssemblyAI({ apiKey: "test", baseUrl: sim.url });
    const { id } = await client.transcripts.submit({ audio: AUDIO });

    await expect(client.transcripts.delete(id)).rejects.toThrow(/still queued/);
  });
});

/** A list page as it travels, before the SDK turns `created` and `completed` into Dates. */
interface WireList {
  page_details: { prev_url: string | null; next_url: string | null };
  transcripts: { id: string; created: string; completed: string | null }[];
}

const WIRE_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;

describe("AssemblyAI simulator regions", () => {
  let sim: Simulator;

  beforeEach(async () => {
    sim = await startSimulator({ processingDelayMs: 10, apiKey: "us-key", euApiKey: "eu-key" });
  });

  afterEach(async () => {
    await sim.close();
  });

  it("serves an EU region under /eu that the SDK reaches through baseUrl, with its own key", async () => {
    const eu = new AssemblyAI({ apiKey: "eu-key", baseUrl: sim.euUrl });

    const submitted = await eu.transcripts.submit({ audio: AUDIO });
    await sim.settled(submitted.id);

    expect(sim.euUrl).toBe(`${sim.url}/eu`);
    expect(await eu.transcripts.get(submitted.id)).toMatchObject({ id: submitted.id, status: "completed" });
    const usKeyOnEu = await fetch(`${sim.euUrl}/v2/transcript/${submitted.id}`, {
      headers: { authorization: "us-key" },
    });
    expect(usKeyOnEu.status).toBe(401);
  });

  it("keeps each region's transcripts readable and listed only there", async () => {
    const us = new AssemblyAI({ apiKey: "us-key", baseUrl: sim.url });
    const eu = new AssemblyAI({ apiKey: "eu-key", baseUrl: sim.euUrl });
    const inEu = await eu.transcripts.submit({ audio: AUDIO });
    const inUs = await us.transcripts.submit({ audio: AUDIO });
    await Promise.all([sim.settled(inEu.id), sim.settled(inUs.id)]);

    const fromUs = await fetch(`${sim.url}/v2/transcript/${inEu.id}`, {
      headers: { authorization: "us-key" },
    });
    const fromEu = await fetch(`${sim.euUrl}/v2/transcript/${inUs.id}`, {
      headers: { authorization: "eu-key" },
    });

    expect([fromUs.status, fromEu.status]).toEqual([404, 404]);
    expect((await eu.transcripts.list()).transcripts.map((item) => item.id)).toEqual([inEu.id]);
    expect((await us.transcripts.list()).transcripts.map((item) => item.id)).toEqual([inUs.id]);
  });

  it("hands out EU upload URLs that are served under /eu", async () => {
    const eu = new AssemblyAI({ apiKey: "eu-key", baseUrl: sim.euUrl });

    const uploadUrl = await eu.files.upload(Buffer.from("RIFF eu bytes"));

    expect(uploadUrl.startsWith(`${sim.euUrl}/files/`)).toBe(true);
    expect(Buffer.from(await (await fetch(uploadUrl)).arrayBuffer()).toString()).toBe("RIFF eu bytes");
  });
});

describe("AssemblyAI simulator transcript list", () => {
  let sim: Simulator;
  let client: AssemblyAI;
  let ids: string[];
  let submittedFromMs: number;

  const listWire = async (query: Record<string, string> = {}): Promise<WireList> => {
    const response = await fetch(`${sim.url}/v2/transcript?${new URLSearchParams(query)}`, {
      headers: { authorization: "test" },
    });
    return (await response.json()) as WireList;
  };

  beforeAll(async () => {
    submittedFromMs = Date.now();
    sim = await startSimulator({ processingDelayMs: 20 });
    client = new AssemblyAI({ apiKey: "test", baseUrl: sim.url });
    ids = [];
    for (let i = 0; i < 5; i++) {
      const audio = i === 1 ? `${AUDIO}?simulate=error&n=${i}` : `${AUDIO}?n=${i}`;
      ids.push((await client.transcripts.submit({ audio })).id);
    }
    await Promise.all(ids.map((id) => sim.settled(id)));
  });

  afterAll(async () => {
    await sim.close();
  });

  it("lists newest first with the list item fields, limit 10 by default", async () => {
    const page = await client.transcripts.list();

    expect(page.page_details).toEqual({
      limit: 10,
      result_count: 5,
      current_url: `${sim.url}/v2/transcript?limit=10`,
      prev_url: null,
      next_url: null,
    });
    expect(page.transcripts.map((item) => item.id)).toEqual([...ids].reverse());
    const item = page.transcripts[0];
    expect(item).toEqual({
      id: ids[4],
      resource_url: `${sim.url}/v2/transcript/${ids[4]}`,
      status: "completed",
      created: expect.any(Date),
      completed: expect.any(Date),
      audio_url: `${AUDIO}?n=4`,
      error: null,
    });
  });

  it("pages to older transcripts through prev_url until it is null, and back through next_url", async () => {
    const seen: string[] = [];
    let page = await client.transcripts.list({ limit: 2 });
    const pages = [page];
    seen.push(...page.transcripts.map((item) => item.id));
    while (page.page_details.prev_url !== null) {
      page = await client.transcripts.list(page.page_details.prev_url);
      pages.push(page);
      seen.push(...page.transcripts.map((item) => item.id));
    }

    expect(seen).toEqual([...ids].reverse());
    expect(pages.map((p) => p.page_details.result_count)).toEqual([2, 2, 1]);
    expect(pages[1]?.page_details.prev_url).toBe(`${sim.url}/v2/transcript?limit=2&before_id=${ids[1]}`);

    const last = pages[2];
    const newer = await client.transcripts.list(last?.page_details.next_url ?? "");
    expect(newer.transcripts.map((item) => item.id)).toEqual([ids[2], ids[1]]);
  });

  it("filters by status, created_on, after_id and throttled_only", async () => {
    const today = new Date().toISOString().slice(0, 10);

    const errors = await client.transcripts.list({ status: "error" });
    const createdToday = await client.transcripts.list({ created_on: today });
    const otherDay = await client.transcripts.list({ created_on: "2001-01-01" });
    const after = await client.transcripts.list({ after_id: ids[2] });
    const throttled = await client.transcripts.list({ throttled_only: true });

    expect(errors.transcripts.map((item) => [item.id, item.status])).toEqual([[ids[1], "error"]]);
    expect(errors.transcripts[0]?.error).toContain("Download error");
    expect(errors.transcripts[0]?.completed).toEqual(expect.any(Date));
    expect(createdToday.page_details.result_count).toBe(5);
    expect(otherDay.transcripts).toEqual([]);
    expect(after.transcripts.map((item) => item.id)).toEqual([ids[4], ids[3]]);
    expect(throttled.transcripts).toEqual([]);
  });

  it("sends created and completed as UTC ISO-8601 without a zone, with microseconds, newest first", async () => {
    const { transcripts } = await listWire();

    for (const item of transcripts) {
      expect(item.created).toMatch(WIRE_TIMESTAMP);
      expect(item.completed).toMatch(WIRE_TIMESTAMP);
      expect((item.completed as string) > item.created).toBe(true);
      expect(Date.parse(`${item.created}Z`)).toBeGreaterThanOrEqual(submittedFromMs);
      expect(Date.parse(`${item.created}Z`)).toBeLessThanOrEqual(Date.now());
    }
    const created = transcripts.map((item) => item.created);
    expect(created).toEqual([...created].sort().reverse());
    expect(new Set(created).size).toBe(created.length);
  });

  it("lists completed as null until the transcript is done", async () => {
    const slow = await startSimulator({ processingDelayMs: 60_000 });
    try {
      const { id } = await new AssemblyAI({ apiKey: "test", baseUrl: slow.url }).transcripts.submit({
        audio: AUDIO,
      });
      const response = await fetch(`${slow.url}/v2/transcript`, { headers: { authorization: "test" } });
      const { transcripts } = (await response.json()) as WireList;

      expect(transcripts).toEqual([expect.objectContaining({ id, completed: null, status: "queued" })]);
      expect(transcripts[0]?.created).toMatch(WIRE_TIMESTAMP);
    } finally {
      await slow.close();
    }
  });

  it("gives a transcript's predecessor before it, and the transcript itself after that predecessor", async () => {
    const [predecessor, transcript] = [ids[2] as string, ids[3] as string];
    const listed = (await listWire()).transcripts.find((item) => item.id === transcript);

    const before = await listWire({ before_id: transcript, limit: "1" });
    const after = await listWire({ after_id: predecessor, limit: "1" });

    expect(before.transcripts.map((item) => item.id)).toEqual([predecessor]);
    expect(before.page_details.prev_url).toBe(`${sim.url}/v2/transcript?limit=1&before_id=${predecessor}`);
    expect(before.page_details.next_url).toBe(`${sim.url}/v2/transcript?limit=1&after_id=${predecessor}`);
    expect(after.transcripts).toEqual([
      expect.objectContaining({ id: transcript, created: listed?.created, completed: listed?.completed }),
    ]);
    expect(after.transcripts[0]?.completed).toMatch(WIRE_TIMESTAMP);
  });

  it("pages after_id to the adjacent newer page: the oldest of the newer ones, newest first", async () => {
    const page = await listWire({ after_id: ids[0] as string, limit: "2" });

    expect(page.transcripts.map((item) => item.id)).toEqual([ids[2], ids[1]]);
    expect(page.page_details.prev_url).toBe(`${sim.url}/v2/transcript?limit=2&before_id=${ids[1]}`);
    expect(page.page_details.next_url).toBe(`${sim.url}/v2/transcript?limit=2&after_id=${ids[2]}`);
  });

  it("caps limit at 200 and rejects malformed filters with 400", async () => {
    const capped = await client.transcripts.list({ limit: 500 });

    expect(capped.page_details.limit).toBe(200);
    await expect(client.transcripts.list({ limit: 0 })).rejects.toThrow(/limit/);
    await expect(client.transcripts.list({ created_on: "27-11-2026" })).rejects.toThrow(/created_on/);
    await expect(client.transcripts.list(`${sim.url}/v2/transcript?status=done`)).rejects.toThrow(/status/);
  });
});
