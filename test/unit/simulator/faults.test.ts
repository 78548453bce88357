import { AssemblyAI } from "assemblyai";
import fc from "fast-check";
import { FaultInputError, FaultSwitches, type Simulator, startSimulator } from "../../../local/simulator";

const AUDIO = "https://audio.example.com/call.mp3";

describe("AssemblyAI simulator fault switches and stats", () => {
  let sim: Simulator;
  let client: AssemblyAI;
  let id: string;

  beforeEach(async () => {
    sim = await startSimulator({ processingDelayMs: 20 });
    client = new AssemblyAI({ apiKey: "test", baseUrl: sim.url });
    id = (await client.transcripts.submit({ audio: AUDIO })).id;
    await sim.settled(id);
    sim.resetStats();
  });

  afterEach(async () => {
    await sim.close();
  });

  const get = (transcriptId = id) =>
    fetch(`${sim.url}/v2/transcript/${transcriptId}`, { headers: { authorization: "test" } });

  it("answers 429 with Retry-After for the next N fetches, then the transcript", async () => {
    sim.faults.add({ status: 429, times: 2, retryAfterSeconds: 7 });

    const first = await get();
    const second = await get();
    const third = await get();

    expect(first.status).toBe(429);
    expect(first.headers.get("retry-after")).toBe("7");
    expect(await first.json()).toEqual({ error: expect.any(String) });
    expect(second.status).toBe(429);
    expect(third.status).toBe(200);
    expect(sim.faults.list()).toEqual([]);
  });

  it("answers 500 until cleared", async () => {
    sim.faults.add({ status: 500 });

    const statuses = [(await get()).status, (await get()).status, (await get()).status];
    sim.faults.clear();

    expect(statuses).toEqual([500, 500, 500]);
    expect((await get()).status).toBe(200);
  });

  it("answers 404 only for the transcript id it targets", async () => {
    const other = (await client.transcripts.submit({ audio: `${AUDIO}?other` })).id;
    sim.faults.add({ status: 404, transcriptId: id });

    await expect(client.transcripts.get(id)).rejects.toThrow("Transcript not found");
    await expect(client.transcripts.get(other)).resolves.toHaveProperty("id", other);
  });

  it("takes faults from options at start", async () => {
    await sim.close();
    sim = await startSimulator({ faults: [{ status: 500, times: 1, route: "GET /v2/transcript" }] });
    client = new AssemblyAI({ apiKey: "test", baseUrl: sim.url });

    await expect(client.transcripts.list()).rejects.toThrow("Internal server error");
    await expect(client.transcripts.list()).resolves.toHaveProperty("transcripts");
  });

  it("is switched over HTTP at /__simulator/faults without authorization", async () => {
    const added = await fetch(`${sim.url}/__simulator/faults`, {
      method: "POST",
      body: JSON.stringify({ status: 429, retryAfterSeconds: 3, times: 1, transcriptId: id }),
    });
    const listed = (await (await fetch(`${sim.url}/__simulator/faults`)).json()) as { faults: unknown[] };
    const faulted = await get();
    const bad = await fetch(`${sim.url}/__simulator/faults`, {
      method: "POST",
      body: JSON.stringify({ status: 418 }),
    });
    await fetch(`${sim.url}/__simulator/faults`, { method: "POST", body: JSON.stringify({ status: 500 }) });
    const cleared = await fetch(`${sim.url}/__simulator/faults`, { method: "DELETE" });

    expect(added.status).toBe(201);
    expect(listed.faults).toEqual([
      expect.objectContaining({
        status: 429,
        remaining: 1,
        transcriptId: id,
        route: "GET /v2/transcript/:id",
      }),
    ]);
    expect(faulted.status).toBe(429);
    expect(faulted.headers.get("retry-after")).toBe("3");
    expect(bad.status).toBe(400);
    expect(cleared.status).toBe(200);
    expect((await get()).status).toBe(200);
  });

  it("counts requests per route and per transcript, so a test can assert one fetch", async () => {
    await client.transcripts.get(id);
    await client.transcripts.list();
    await fetch(`${sim.url}/v2/transcript/${id}`); // a 401 still counts

    expect(sim.requestCount("GET /v2/transcript/:id", id)).toBe(2);
    expect(sim.requestCount("GET /v2/transcript")).toBe(1);
    const served = (await (await fetch(`${sim.url}/__simulator/stats`)).json()) as unknown;
    expect(served).toEqual(sim.stats());
    expect(sim.stats()).toEqual({
      total: 3,
      byRoute: { "GET /v2/transcript/:id": 2, "GET /v2/transcript": 1 },
      byTranscript: { [id]: { "GET /v2/transcript/:id": 2 } },
    });
  });

  it("counts faulted requests too and resets over HTTP", async () => {
    sim.faults.add({ status: 500, times: 1 });

    await get();
    await get();
    const before = sim.requestCount("GET /v2/transcript/:id", id);
    await fetch(`${sim.url}/__simulator/stats`, { method: "DELETE" });

    expect(before).toBe(2);
    expect(sim.stats().total).toBe(0);
  });
});

describe("FaultSwitches input checking", () => {
  it("accepts any well-formed rule and rejects anything else with a FaultInputError", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const switches = new FaultSwitches();
        try {
          const rule = switches.add(value as never);
          expect([404, 429, 500]).toContain(rule.status);
        } catch (error) {
          expect(error).toBeInstanceOf(FaultInputError);
        }
      }),
    );
  });

  it("fills the defaults: GET /v2/transcript/:id, every transcript, until cleared, Retry-After 1", () => {
    const rule = new FaultSwitches().add({ status: 429 });

    expect(rule).toEqual({
      id: expect.any(String),
      status: 429,
      route: "GET /v2/transcript/:id",
      transcriptId: null,
      retryAfterSeconds: 1,
      remaining: null,
      hits: 0,
    });
  });
});
