import { assembleSession } from "../../../functions/worker/sessions";
import { buildSessionBody, type Simulator, startSimulator } from "../../../local/simulator";
import { type Receiver, type Responder, startReceiver } from "./receiver";

type Message = Record<string, unknown> & { words: Array<Record<string, unknown>> };

describe("a streaming session's body", () => {
  it("has every turn unformatted then formatted, under one turn_order, with timed words", () => {
    const { body, text, turns } = buildSessionBody({
      sessionId: "s-1",
      text: "Smoke from hundreds of wildfires.  In Canada, today!",
    });

    expect(text).toBe("Smoke from hundreds of wildfires. In Canada, today!");
    expect(turns).toBe(2);
    const messages = body.messages as Message[];
    expect(messages.map((m) => [m.turn_order, m.turn_is_formatted, m.end_of_turn, m.transcript])).toEqual([
      [0, false, true, "smoke from hundreds of wildfires"],
      [0, true, true, "Smoke from hundreds of wildfires."],
      [1, false, true, "in canada today"],
      [1, true, true, "In Canada, today!"],
    ]);
    for (const message of messages) {
      expect(message).toMatchObject({
        type: "Turn",
        utterance: "",
        end_of_turn_confidence: expect.any(Number),
      });
      for (const word of message.words) {
        expect(word).toEqual({
          start: expect.any(Number),
          end: expect.any(Number),
          text: expect.any(String),
          confidence: expect.any(Number),
          word_is_final: true,
        });
        expect(Number(word.end)).toBeGreaterThan(Number(word.start));
      }
    }
    // Words follow each other in time, across turns.
    const starts = messages.filter((m) => m.turn_is_formatted).flatMap((m) => m.words.map((w) => w.start));
    expect([...starts].sort((a, b) => Number(a) - Number(b))).toEqual(starts);
    expect(body.session_id).toBe("s-1");
  });

  it("generates a number of turns deterministically from the session id", () => {
    const first = buildSessionBody({ sessionId: "s-2", turns: 4 });

    expect(first.turns).toBe(4);
    expect(first.body.messages).toHaveLength(8);
    expect(buildSessionBody({ sessionId: "s-2", turns: 4 })).toEqual(first);
    expect(buildSessionBody({ sessionId: "s-3", turns: 4 }).text).not.toBe(first.text);
    expect(buildSessionBody({ sessionId: "s-2", turns: 0 }).body.messages).toEqual([]);
  });

  it("adds partial turns when asked, the last word of each not yet final", () => {
    const { body } = buildSessionBody({
      sessionId: "s-4",
      text: "One two three four five six.",
      partials: true,
    });
    const partial = (body.messages as Message[]).filter((m) => m.end_of_turn === false);

    expect(partial.length).toBeGreaterThan(0);
    for (const message of partial) {
      expect(message.turn_is_formatted).toBe(false);
      expect(message.words.at(-1)?.word_is_final).toBe(false);
    }
  });

  it("assembles, on the worker's side, to exactly the text it reports", () => {
    for (const content of [
      { sessionId: "s-5", turns: 7, partials: true },
      { sessionId: "s-6", text: "Is it? Yes. It is, really!" },
    ]) {
      const { body, text } = buildSessionBody(content);

      expect(assembleSession(body).text).toBe(text);
    }
  });
});

describe("POST /__simulator/streaming-sessions", () => {
  let sim: Simulator | undefined;
  let receiver: Receiver | undefined;

  afterEach(async () => {
    await sim?.close();
    await receiver?.close();
    sim = undefined;
    receiver = undefined;
  });

  const start = async (respond: Responder) => {
    receiver = await startReceiver(respond);
    sim = await startSimulator({ webhookRetryIntervalMs: 20, webhookTimeoutMs: 500 });
    return { sim, receiver };
  };

  const endSession = (s: Simulator, body: unknown) =>
    fetch(`${s.url}/__simulator/streaming-sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  /** Waits for the session's webhook to settle (delivered, refused or out of attempts). */
  const settled = async (s: Simulator, sessionId: string) => {
    for (;;) {
      const attempts = s.deliveries.filter((attempt) => attempt.transcriptId === sessionId);
      if (attempts.some((attempt) => attempt.outcome !== "retrying")) return attempts;
      await new Promise((resolve) => s.events.once("delivery", resolve));
    }
  };

  it("posts the session's body to webhook_url with its query string and the auth header", async () => {
    const { sim, receiver } = await start(() => 200);

    const reply = await endSession(sim, {
      webhook_url: `${receiver.url}/webhook?customer_id=c&order_id=o`,
      webhook_auth_header_name: "X-Webhook-Secret",
      webhook_auth_header_value: "secret-value",
      text: "Hello there. Goodbye.",
      session_id: "273e79fd-1b4a-4e0e-9d7c-3f1c2b7a5d9e",
    });
    const answer = (await reply.json()) as Record<string, unknown>;
    const attempts = await settled(sim, "273e79fd-1b4a-4e0e-9d7c-3f1c2b7a5d9e");

    expect(reply.status).toBe(202);
    expect(answer).toEqual({
      session_id: "273e79fd-1b4a-4e0e-9d7c-3f1c2b7a5d9e",
      turns: 2,
      messages: 4,
      text: "Hello there. Goodbye.",
    });
    expect(receiver.received).toHaveLength(1);
    const [delivery] = receiver.received;
    expect(delivery?.url).toBe("/webhook?customer_id=c&order_id=o");
    expect(delivery?.headers["x-webhook-secret"]).toBe("secret-value");
    expect(delivery?.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(delivery?.body ?? "") as { session_id: string; messages: unknown[] };
    expect(body.session_id).toBe("273e79fd-1b4a-4e0e-9d7c-3f1c2b7a5d9e");
    expect(body.messages).toHaveLength(4);
    expect(attempts.map((a) => [a.kind, a.attempt, a.statusCode, a.outcome])).toEqual([
      ["streaming_session", 1, 200, "delivered"],
    ]);
  });

  it("retries a 5xx like a transcript webhook and stops at a 4xx", async () => {
    const { sim, receiver } = await start((_, index) => (index === 0 ? 503 : 401));

    const reply = await endSession(sim, { webhook_url: `${receiver.url}/webhook`, turns: 2 });
    const { session_id: sessionId } = (await reply.json()) as { session_id: string };
    const attempts = await settled(sim, sessionId);

    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(attempts.map((a) => [a.attempt, a.statusCode, a.outcome])).toEqual([
      [1, 503, "retrying"],
      [2, 401, "failed"],
    ]);
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]?.body).toBe(receiver.received[0]?.body);
  });

  it.each([
    [{}, "webhook_url is required"],
    [{ webhook_url: "ftp://x.example/" }, "Invalid webhook_url: ftp://x.example/"],
    [{ webhook_url: "http://x.example/", text: "a", turns: 1 }, "give text or turns, not both"],
    [{ webhook_url: "http://x.example/", turns: -1 }, "turns must be an integer from 0 to 10000"],
    [{ webhook_url: "http://x.example/", text: 5 }, "text must be a string"],
    [
      { webhook_url: "http://x.example/", session_id: "a/b" },
      "session_id must be 1 to 128 letters, digits or dashes",
    ],
    [
      { webhook_url: "http://x.example/", webhook_auth_header_name: "X-Secret" },
      "webhook_auth_header_name and webhook_auth_header_value must be given together",
    ],
  ])("refuses %j with 400 and sends nothing", async (body, error) => {
    const { sim, receiver } = await start(() => 200);

    const reply = await endSession(sim, body);

    expect(reply.status).toBe(400);
    expect(await reply.json()).toEqual({ error });
    expect(sim.deliveries).toEqual([]);
    expect(receiver.received).toEqual([]);
  });

  it("answers 405 to anything but POST", async () => {
    const { sim } = await start(() => 200);

    const reply = await fetch(`${sim.url}/__simulator/streaming-sessions`);

    expect(reply.status).toBe(405);
    expect(reply.headers.get("allow")).toBe("POST");
  });
});
