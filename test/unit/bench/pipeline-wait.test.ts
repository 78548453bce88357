/**
 * The pipeline benchmark's wait: when the receiver falls so far behind that the simulator's webhooks time
 * out and run out of attempts, the run ends once nothing more can be stored, not at its deadline.
 */
import { AssemblyAI } from "assemblyai";
import { type PipelineProbe, waitForPipeline } from "../../../bench/lib/pipeline-wait";
import { type Simulator, startSimulator } from "../../../local/simulator";
import { type Receiver, type Responder, startReceiver } from "../simulator/receiver";

const DEADLINE_MS = 10 * 60_000;

describe("the pipeline benchmark's wait for stored deliveries", () => {
  let sim: Simulator | undefined;
  let receiver: Receiver | undefined;

  afterEach(async () => {
    await sim?.close();
    await receiver?.close();
    sim = undefined;
    receiver = undefined;
  });

  /** `jobs` transcripts whose webhooks go to a receiver answering as `respond` says. */
  const submit = async (jobs: number, respond: Responder) => {
    receiver = await startReceiver(respond);
    sim = await startSimulator({
      processingDelayMs: 10,
      webhookTimeoutMs: 100,
      webhookRetryIntervalMs: 20,
      webhookMaxAttempts: 3,
    });
    const client = new AssemblyAI({ apiKey: "test", baseUrl: sim.url });
    for (let i = 0; i < jobs; i++) {
      await client.transcripts.submit({
        audio: `https://audio.example.com/${i}.mp3`,
        webhook_url: `${receiver.url}/webhook?order_id=${i}`,
      });
    }
    return sim;
  };

  const probe = (simulator: Simulator, overrides: Partial<PipelineProbe> = {}): PipelineProbe => ({
    deliveries: simulator.deliveries,
    stored: () => 0,
    queueDepth: async () => 0,
    polled: () => 0,
    ...overrides,
  });

  // "exhausted", not "deadline": it stopped because the webhooks were done, without waiting out the deadline.
  it("ends as exhausted, not at its deadline, once every webhook has timed out of its attempts", async () => {
    const simulator = await submit(5, () => "hang");
    const lines: string[] = [];

    const end = await waitForPipeline(probe(simulator), {
      transcripts: 5,
      deadlineMs: DEADLINE_MS,
      say: (line) => lines.push(line),
      progressEveryMs: 100,
      queueCheckEveryMs: 20,
    });

    expect(end).toEqual({
      reason: "exhausted",
      webhooks: { attempts: 15, timedOut: 15, delivered: 0, failed: 5 },
    });
    expect(lines.some((line) => line.startsWith("warning: webhook attempts are timing out"))).toBe(true);
    expect(
      lines.some((line) => /15 webhook attempts \(15 timed out\), 0 delivered, 5 failed/.test(line)),
    ).toBe(true);
  });

  it("keeps waiting while the queue still holds messages after every webhook has settled", async () => {
    const simulator = await submit(2, () => 200);
    let depthChecks = 0;
    let stored = 0;
    // The worker is still busy: two checks see messages, then it stores both and the queue is empty.
    const queueDepth = async () => {
      depthChecks++;
      if (depthChecks === 3) stored = 2;
      return depthChecks <= 2 ? 2 : 0;
    };

    const end = await waitForPipeline(probe(simulator, { stored: () => stored, queueDepth }), {
      transcripts: 2,
      deadlineMs: DEADLINE_MS,
      say: () => {},
      queueCheckEveryMs: 20,
    });

    expect(end.reason).toBe("stored");
    expect(end.webhooks).toEqual({ attempts: 2, timedOut: 0, delivered: 2, failed: 0 });
  });

  it("ends at its deadline while webhooks are still being retried", async () => {
    const simulator = await submit(1, () => 503);

    const end = await waitForPipeline(probe(simulator), {
      transcripts: 1,
      deadlineMs: 30,
      say: () => {},
    });

    expect(end.reason).toBe("deadline");
  });
});
