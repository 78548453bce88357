import { AssemblyAI } from "assemblyai";
import { type Simulator, type SimulatorOptions, startSimulator } from "../../../local/simulator";
import { type Receiver, type Responder, startReceiver, unusedPort } from "./receiver";

const AUDIO = "https://audio.example.com/call.mp3";

describe("AssemblyAI simulator webhook delivery", () => {
  let sim: Simulator | undefined;
  let receiver: Receiver | undefined;

  afterEach(async () => {
    await sim?.close();
    await receiver?.close();
    sim = undefined;
    receiver = undefined;
  });

  const start = async (respond: Responder, options: SimulatorOptions = {}) => {
    receiver = await startReceiver(respond);
    sim = await startSimulator({
      processingDelayMs: 20,
      webhookRetryIntervalMs: 20,
      webhookTimeoutMs: 500,
      ...options,
    });
    return { sim, receiver, client: new AssemblyAI({ apiKey: "test", baseUrl: sim.url }) };
  };

  it("POSTs the documented JSON body to webhook_url with its query string and the custom auth header", async () => {
    const { sim, receiver, client } = await start(() => 200);
    const { id } = await client.transcripts.submit({
      audio: AUDIO,
      webhook_url: `${receiver.url}/hooks/assemblyai?customer_id=1234&order_id=5678&empty=&a=b%20c`,
      webhook_auth_header_name: "X-My-Webhook-Secret",
      webhook_auth_header_value: "secret-value",
    });

    await sim.settled(id);

    expect(receiver.received).toHaveLength(1);
    const [delivery] = receiver.received;
    expect(delivery?.method).toBe("POST");
    expect(delivery?.url).toBe("/hooks/assemblyai?customer_id=1234&order_id=5678&empty=&a=b%20c");
    expect(delivery?.headers["content-type"]).toBe("application/json");
    expect(delivery?.headers["x-my-webhook-secret"]).toBe("secret-value");
    expect(JSON.parse(delivery?.body ?? "")).toEqual({ transcript_id: id, status: "completed" });
    expect(await client.transcripts.get(id)).toMatchObject({
      webhook_status_code: 200,
      webhook_auth: true,
      webhook_auth_header_name: "X-My-Webhook-Secret",
    });
  });

  it("delivers status error for a failed job, without an auth header when none was configured", async () => {
    const { sim, receiver, client } = await start(() => 204);
    const { id } = await client.transcripts.submit({
      audio: `${AUDIO}?simulate=error`,
      webhook_url: `${receiver.url}/hook`,
    });

    await sim.settled(id);

    expect(JSON.parse(receiver.received[0]?.body ?? "")).toEqual({ transcript_id: id, status: "error" });
    expect(Object.keys(receiver.received[0]?.headers ?? {})).not.toContain("x-my-webhook-secret");
    expect(await client.transcripts.get(id)).toMatchObject({ webhook_status_code: 204, webhook_auth: false });
  });

  it("retries after a 500 and records the 200 that finally came", async () => {
    const { sim, receiver, client } = await start((_, index) => (index === 0 ? 500 : 200));
    const { id } = await client.transcripts.submit({ audio: AUDIO, webhook_url: `${receiver.url}/hook` });

    const attempts = await sim.settled(id);

    expect(receiver.received).toHaveLength(2);
    expect(attempts.map((a) => [a.attempt, a.statusCode, a.outcome])).toEqual([
      [1, 500, "retrying"],
      [2, 200, "delivered"],
    ]);
    expect((await client.transcripts.get(id)).webhook_status_code).toBe(200);
  });

  it.each([400, 401, 404, 410, 499])("treats a %i as final: exactly one attempt", async (status) => {
    const { sim, receiver, client } = await start(() => status);
    const { id } = await client.transcripts.submit({ audio: AUDIO, webhook_url: `${receiver.url}/hook` });

    const attempts = await sim.settled(id);

    expect(receiver.received).toHaveLength(1);
    expect(attempts).toEqual([
      expect.objectContaining({ attempt: 1, statusCode: status, outcome: "failed" }),
    ]);
    expect((await client.transcripts.get(id)).webhook_status_code).toBe(status);
  });

  it("gives up after 10 attempts in all when the receiver keeps failing", async () => {
    const { sim, receiver, client } = await start(() => 503);
    const { id } = await client.transcripts.submit({ audio: AUDIO, webhook_url: `${receiver.url}/hook` });

    const attempts = await sim.settled(id);

    expect(receiver.received).toHaveLength(10);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(attempts.at(-1)?.outcome).toBe("failed");
    expect((await client.transcripts.get(id)).webhook_status_code).toBe(503);
  });

  it("retries an attempt that times out, and one that finds the connection refused", async () => {
    const refusedPort = await unusedPort();
    const { sim, receiver, client } = await start((_, index) => (index === 0 ? "hang" : 200), {
      webhookTimeoutMs: 100,
      webhookMaxAttempts: 3,
    });
    const slow = await client.transcripts.submit({ audio: AUDIO, webhook_url: `${receiver.url}/hook` });
    const down = await client.transcripts.submit({
      audio: AUDIO,
      webhook_url: `http://127.0.0.1:${refusedPort}/hook`,
    });

    const slowAttempts = await sim.settled(slow.id);
    const downAttempts = await sim.settled(down.id);

    expect(slowAttempts.map((a) => [a.statusCode, a.error, a.outcome])).toEqual([
      [null, "timeout after 100 ms", "retrying"],
      [200, null, "delivered"],
    ]);
    expect(downAttempts.map((a) => [a.statusCode, a.error, a.outcome])).toEqual([
      [null, "ECONNREFUSED", "retrying"],
      [null, "ECONNREFUSED", "retrying"],
      [null, "ECONNREFUSED", "failed"],
    ]);
    expect((await client.transcripts.get(down.id)).webhook_status_code).toBeNull();
  });

  it("emits each attempt and logs one readable line per attempt", async () => {
    const lines: string[] = [];
    const { sim, receiver, client } = await start((_, index) => (index === 0 ? 502 : 200), {
      logger: (line) => lines.push(line),
    });
    const emitted: unknown[] = [];
    sim.events.on("delivery", (attempt) => emitted.push(attempt));
    const { id } = await client.transcripts.submit({ audio: AUDIO, webhook_url: `${receiver.url}/hook` });

    await sim.settled(id);

    expect(emitted).toHaveLength(2);
    expect(lines.filter((line) => line.startsWith("webhook"))).toEqual([
      `webhook transcript ${id} attempt 1: 502 -> retrying`,
      `webhook transcript ${id} attempt 2: 200 -> delivered`,
    ]);
    const served = (await (await fetch(`${sim.url}/__simulator/deliveries`)).json()) as {
      deliveries: unknown[];
    };
    expect(served.deliveries).toHaveLength(2);
  });

  it("sends the redacted audio webhook after the transcript webhook and serves a valid WAV", async () => {
    const { sim, receiver, client } = await start(() => 200);
    const { id } = await client.transcripts.submit({
      audio: AUDIO,
      webhook_url: `${receiver.url}/hook?k=v`,
      webhook_auth_header_name: "X-Secret",
      webhook_auth_header_value: "v",
      redact_pii: true,
      redact_pii_audio: true,
      redact_pii_policies: ["person_name"],
    });

    await sim.settled(id);

    const bodies = receiver.received.map((request) => JSON.parse(request.body) as unknown);
    const redactedUrl = `${sim.url}/files/redacted/${id}.wav`;
    expect(bodies).toEqual([
      { transcript_id: id, status: "completed" },
      { redacted_audio_url: redactedUrl, status: "redacted_audio_ready" },
    ]);
    expect(receiver.received[1]?.url).toBe("/hook?k=v");
    expect(receiver.received[1]?.headers["x-secret"]).toBe("v");
    expect(await client.transcripts.redactedAudio(id)).toEqual({
      redacted_audio_url: redactedUrl,
      status: "redacted_audio_ready",
    });
    const file = await fetch(redactedUrl);
    const wav = Buffer.from(await file.arrayBuffer());
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("audio/wav");
    expect(wav.toString("ascii", 0, 4)).toBe("RIFF");
    expect(wav.toString("ascii", 8, 12)).toBe("WAVE");
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
  });

  it("sends no redacted audio webhook for a job that failed", async () => {
    const { sim, receiver, client } = await start(() => 200);
    const { id } = await client.transcripts.submit({
      audio: `${AUDIO}?simulate=error`,
      webhook_url: `${receiver.url}/hook`,
      redact_pii_audio: true,
    });

    await sim.settled(id);

    expect(receiver.received).toHaveLength(1);
    expect((await fetch(`${sim.url}/files/redacted/${id}.wav`)).status).toBe(404);
  });

  it("stops retrying when closed and leaves no timer behind", async () => {
    const { sim, receiver, client } = await start(() => 500, { webhookRetryIntervalMs: 60_000 });
    const { id } = await client.transcripts.submit({ audio: AUDIO, webhook_url: `${receiver.url}/hook` });
    await new Promise<void>((resolve) => sim.events.once("delivery", () => resolve()));
    const settled = sim.settled(id);

    await sim.close();

    await expect(settled).resolves.toHaveLength(1);
    expect(receiver.received).toHaveLength(1);
  });
});
