/**
 * A job's status only moves forward, even when the event loop stalls across its timers (a busy machine).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { AssemblyAI } from "assemblyai";
import { type Simulator, startSimulator, type TranscriptStatusEvent } from "../../../local/simulator";

const RANK = { queued: 0, processing: 1, completed: 2, error: 2 } as const;

/** Blocks the event loop, as a CPU-starved process does. */
function busyWait(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

describe("simulator under an event-loop stall", () => {
  let sim: Simulator;
  let hook: Server;
  const webhookBodies: Array<{ transcript_id?: string; status?: string }> = [];

  beforeAll(async () => {
    hook = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        webhookBodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
    sim = await startSimulator({ processingDelayMs: 900 });
  });

  afterAll(async () => {
    await sim.close();
    await new Promise<void>((resolve) => hook.close(() => resolve()));
  });

  it("never turns a finished job back to processing, and its webhook says what a GET answers", async () => {
    const client = new AssemblyAI({ apiKey: "test", baseUrl: sim.url });
    const webhookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const statuses = new Map<string, string[]>();
    sim.events.on("status", (event: TranscriptStatusEvent) => {
      statuses.set(event.transcriptId, [...(statuses.get(event.transcriptId) ?? []), event.status]);
    });

    // Job W's completion timer (900 ms) is due before job X's processing timer (a third of 900 ms after
    // X's submit); a stall past both made Node run W's 900 ms list, X's completion in it, first.
    const first = await client.transcripts.submit({ audio: "https://audio.example.com/w.mp3" });
    await new Promise<void>((resolve) => {
      const check = () => (statuses.get(first.id)?.includes("processing") ? resolve() : setTimeout(check, 5));
      check();
    });
    await sleep(420);
    const second = await client.transcripts.submit({
      audio: "https://audio.example.com/x.mp3",
      webhook_url: webhookUrl,
    });
    busyWait(1_500);
    await sim.settled(second.id);

    const seen = statuses.get(second.id) ?? [];
    const ranks = seen.map((status) => RANK[status as keyof typeof RANK]);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    const fetched = await client.transcripts.get(second.id);
    expect(fetched.status).toBe("completed");
    const delivered = webhookBodies.filter((body) => body.transcript_id === second.id);
    expect(delivered).toEqual([{ transcript_id: second.id, status: fetched.status }]);
    await sim.settled(first.id);
    expect((await client.transcripts.get(first.id)).status).toBe("completed");
  });
});
