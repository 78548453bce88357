import fc from "fast-check";
import { assembleSession } from "../../../functions/worker/sessions";

type Turn = Record<string, unknown>;

/** A Turn message as AssemblyAI's streaming API sends it, final and formatted unless told otherwise. */
function turn(order: number, transcript: string, extra: Turn = {}): Turn {
  const words = transcript
    .split(/\s+/)
    .filter(Boolean)
    .map((text, index) => ({
      start: order * 10_000 + index * 300,
      end: order * 10_000 + index * 300 + 250,
      text,
      confidence: 0.9,
      word_is_final: true,
    }));
  return {
    type: "Turn",
    turn_order: order,
    turn_is_formatted: true,
    end_of_turn: true,
    transcript,
    end_of_turn_confidence: 0.5,
    words,
    utterance: "",
    ...extra,
  };
}

const session = (messages: unknown) => assembleSession({ session_id: "s-1", messages });

describe("assembleSession", () => {
  it("joins the final formatted turns in turn order, whatever order the messages came in", () => {
    const result = session([turn(2, "Third."), turn(0, "First one."), turn(1, "Second.")]);

    expect(result).toEqual({ text: "First one. Second. Third.", turns: 3, wordCount: 4, durationMs: 20_250 });
  });

  it("ignores partial turns and the unformatted copy of a turn that has a formatted one", () => {
    const result = session([
      turn(0, "smoke", { end_of_turn: false, turn_is_formatted: false }),
      turn(0, "smoke from", { end_of_turn: false, turn_is_formatted: false }),
      turn(0, "smoke from wildfires", { turn_is_formatted: false }),
      turn(0, "Smoke from wildfires."),
      // The unformatted copy may also come after the formatted one: it still does not replace it.
      turn(1, "Is spreading.", {}),
      turn(1, "is spreading", { turn_is_formatted: false }),
      turn(2, "and then", { end_of_turn: false, turn_is_formatted: false }),
    ]);

    expect(result.text).toBe("Smoke from wildfires. Is spreading.");
    expect(result.turns).toBe(2);
    expect(result.wordCount).toBe(5);
  });

  it("keeps one entry per turn_order: the last formatted message wins when one is repeated", () => {
    const result = session([turn(0, "Hello there."), turn(1, "Bye."), turn(0, "Hello, there!")]);

    expect(result.text).toBe("Hello, there! Bye.");
    expect(result.turns).toBe(2);
  });

  it("uses a turn's unformatted final message when it has no formatted one (formatting off)", () => {
    const result = session([
      turn(0, "hello there", { turn_is_formatted: false }),
      turn(1, "bye", { turn_is_formatted: false }),
    ]);

    expect(result.text).toBe("hello there bye");
  });

  it("gives empty text, no turns and no duration for a session with no messages", () => {
    expect(session([])).toEqual({ text: "", turns: 0, wordCount: 0, durationMs: undefined });
    expect(assembleSession({ session_id: "s-1" })).toEqual({
      text: "",
      turns: 0,
      wordCount: 0,
      durationMs: undefined,
    });
  });

  it("ignores messages of other types (Begin, Termination, SpeechStarted, anything new)", () => {
    const result = session([
      { type: "Begin", id: "s-1", expires_at: 1_700_000_000 },
      { type: "SpeechStarted", timestamp: 100 },
      turn(0, "Only this."),
      { ...turn(1, "Not a turn."), type: "Translation" },
      { type: "Termination", audio_duration_seconds: 60, session_duration_seconds: 61 },
    ]);

    expect(result).toEqual({ text: "Only this.", turns: 1, wordCount: 2, durationMs: 550 });
  });

  it("skips malformed turns and words instead of failing on them", () => {
    const result = session([
      null,
      42,
      "Turn",
      [turn(5, "Nested in an array.")],
      turn(0, "Kept."),
      turn(-1, "Negative order."),
      turn(1.5, "Fractional order."),
      turn(Number.MAX_SAFE_INTEGER + 1, "Unsafe order."),
      { ...turn(2, "x"), turn_order: "2" },
      { ...turn(3, "x"), transcript: 3 },
      { ...turn(4, "x"), end_of_turn: "true" },
      { ...turn(6, "Odd words."), words: [null, "word", { text: "w", end: "9" }, { text: "v", end: -5 }] },
      { ...turn(7, "No words."), words: "none" },
    ]);

    expect(result.text).toBe("Kept. Odd words. No words.");
    // Only objects count as words, and only a finite, non-negative end counts towards the duration.
    expect(result.wordCount).toBe(3);
    expect(result.durationMs).toBe(250);
  });

  it("skips turns whose transcript is blank without leaving a double space", () => {
    expect(session([turn(0, "A."), turn(1, "   "), turn(2, "B.")]).text).toBe("A. B.");
  });

  it("never throws, and always answers a well-formed result, for any JSON body", () => {
    const turnLike = fc.record(
      {
        type: fc.oneof(fc.constant("Turn"), fc.string()),
        turn_order: fc.oneof(fc.nat(20), fc.integer(), fc.double(), fc.string()),
        turn_is_formatted: fc.oneof(fc.boolean(), fc.jsonValue()),
        end_of_turn: fc.oneof(fc.boolean(), fc.jsonValue()),
        transcript: fc.oneof(fc.string(), fc.jsonValue()),
        words: fc.oneof(fc.array(fc.oneof(fc.record({ end: fc.double() }), fc.jsonValue())), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({ messages: fc.array(fc.oneof(turnLike, fc.jsonValue())) }),
          fc.record({ messages: fc.jsonValue() }),
        ),
        (payload) => {
          const result = assembleSession(payload);

          expect(typeof result.text).toBe("string");
          expect(Number.isSafeInteger(result.turns) && result.turns >= 0).toBe(true);
          expect(Number.isSafeInteger(result.wordCount) && result.wordCount >= 0).toBe(true);
          if (result.durationMs !== undefined) {
            expect(Number.isFinite(result.durationMs) && result.durationMs >= 0).toBe(true);
          }
        },
      ),
    );
  });

  it("for any set of final formatted turns, gives their transcripts in turn order", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat(1_000), { maxLength: 20 }),
        fc.func(fc.stringMatching(/^[A-Za-z][a-z]{0,8}\.$/)),
        (orders, textOf) => {
          const messages = orders.map((order) => turn(order, textOf(order)));
          const expected = [...orders]
            .sort((a, b) => a - b)
            .map((order) => textOf(order))
            .join(" ");

          expect(session(messages).text).toBe(expected);
        },
      ),
    );
  });
});
