import fc from "fast-check";
import {
  decide,
  type HeldTranscript,
  type IncomingTranscript,
  type RecordStatus,
  type TranscriptTimes,
} from "../../../functions/shared/contract/winner";

const t = (created: string, completed?: string): TranscriptTimes => ({
  created: `2025-11-27T${created}.000000Z`,
  ...(completed === undefined ? {} : { completed: `2025-11-27T${completed}.000000Z` }),
});
const held = (
  transcriptId: string | undefined,
  status?: string,
  times?: TranscriptTimes,
): HeldTranscript => ({
  transcriptId,
  status,
  receivedAt: "2025-11-27T09:00:00.000Z",
  times,
});
const incoming = (
  transcriptId: string,
  status: RecordStatus,
  times?: TranscriptTimes,
  receivedAt = "2025-11-27T08:00:00.000Z",
): IncomingTranscript => ({ transcriptId, status, receivedAt, times });

describe("the winner rule", () => {
  it.each([
    ["nothing stored", held(undefined), incoming("b", "completed"), "write"],
    ["the same transcript and status", held("a", "completed"), incoming("a", "completed"), "duplicate"],
    [
      "the same transcript's result, a failure",
      held("a", "completed"),
      incoming("a", "fetch_failed"),
      "superseded",
    ],
    [
      "the same transcript's failure, a result",
      held("a", "fetch_failed"),
      incoming("a", "completed"),
      "write",
    ],
    [
      "another's result, a failure",
      held("a", "error", t("01:00:00")),
      incoming("b", "fetch_failed", t("02:00:00")),
      "superseded",
    ],
    [
      "an older transcript",
      held("a", "completed", t("01:00:00")),
      incoming("b", "completed", t("02:00:00")),
      "write",
    ],
    [
      "a newer transcript",
      held("a", "completed", t("03:00:00")),
      incoming("b", "completed", t("02:00:00")),
      "superseded",
    ],
    [
      "the same creation, completed earlier",
      held("a", "completed", t("01:00:00", "01:05:00")),
      incoming("b", "completed", t("01:00:00", "01:09:00")),
      "write",
    ],
    [
      "a full tie",
      held("a", "completed", t("01:00:00")),
      incoming("b", "completed", t("01:00:00")),
      "superseded",
    ],
    [
      "the oldest listed, stored",
      held("a", "completed", "oldest"),
      incoming("b", "completed", t("01:00:00")),
      "write",
    ],
    [
      "another's failure, an older result",
      held("a", "fetch_failed", t("03:00:00")),
      incoming("b", "completed"),
      "write",
    ],
    [
      "the oldest listed, arriving",
      held("a", "completed", t("01:00:00")),
      incoming("b", "completed", "oldest"),
      "superseded",
    ],
  ] as const)("with %s: %s", (_name, stored, delivery, expected) => {
    expect(decide(stored, delivery).verdict).toBe(expected);
  });

  it("asks for the times it lacks, and only those", () => {
    expect(decide(held("a", "completed"), incoming("b", "completed", t("01:00:00")))).toEqual({
      verdict: "need_times",
      held: true,
      incoming: false,
    });
    expect(decide(held("a", "completed", t("01:00:00")), incoming("b", "error"))).toEqual({
      verdict: "need_times",
      held: false,
      incoming: true,
    });
  });

  it("falls back to arrival order only where AssemblyAI cannot tell", () => {
    const stored = held("a", "completed", "unknown");
    expect(
      decide(stored, incoming("b", "completed", t("01:00:00"), "2025-11-27T10:00:00.000Z")).verdict,
    ).toBe("write");
    expect(
      decide(stored, incoming("b", "completed", t("01:00:00"), "2025-11-27T08:00:00.000Z")).verdict,
    ).toBe("superseded");
  });

  it("says when arrival order decided, so that the decision can be revisited", () => {
    const stored = held("a", "completed", "unknown");
    expect(decide(stored, incoming("b", "completed", t("01:00:00"), "2025-11-27T10:00:00.000Z"))).toEqual({
      verdict: "write",
      byArrival: true,
    });
    expect(
      decide(stored, incoming("b", "completed", t("01:00:00"), "2025-11-27T08:00:00.000Z")),
    ).toMatchObject({
      verdict: "superseded",
      byArrival: true,
      reason: expect.stringContaining("cannot order"),
    });
    // Decided by AssemblyAI's times: nothing to revisit.
    expect(decide(held("a", "completed", t("02:00:00")), incoming("b", "completed", t("01:00:00")))).toEqual({
      verdict: "superseded",
      reason: expect.any(String),
    });
    expect(decide(held("a", "completed", t("01:00:00")), incoming("b", "completed", t("02:00:00")))).toEqual({
      verdict: "write",
    });
  });

  /**
   * Jobs for one order, each with its own AssemblyAI times; their deliveries (webhook retries, replays,
   * reconciler copies) arrive in any order, each applied by the rule to what is stored. Whatever the order,
   * the record ends with the newest transcript that has a result (the newest failure when none has).
   */
  it("stores the newest transcript whatever order the deliveries arrive in", () => {
    const job = fc.record({
      createdSecond: fc.integer({ min: 0, max: 50 }),
      completedSecond: fc.integer({ min: 0, max: 50 }),
      status: fc.constantFrom<RecordStatus>("completed", "error", "fetch_failed"),
      copies: fc.integer({ min: 1, max: 3 }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(job, {
          minLength: 1,
          maxLength: 5,
          selector: (j) => `${j.createdSecond}/${j.completedSecond}`,
        }),
        fc.func(fc.integer()),
        (jobs, shuffleKey) => {
          const time = (second: number) => `2025-11-27T01:00:${String(second).padStart(2, "0")}.000000Z`;
          const deliveries = jobs.flatMap((j, index) =>
            Array.from({ length: j.copies }, (_, copy) => ({
              transcriptId: `t-${index}`,
              status: j.status,
              times: { created: time(j.createdSecond), completed: time(j.completedSecond) },
              order: shuffleKey(index * 10 + copy),
            })),
          );
          deliveries.sort((a, b) => a.order - b.order);
          let stored: HeldTranscript = { transcriptId: undefined, status: undefined };
          deliveries.forEach((delivery, arrival) => {
            const receivedAt = new Date(Date.UTC(2025, 10, 27, 2, 0, arrival)).toISOString();
            const verdict = decide(stored, { ...delivery, receivedAt });
            if (verdict.verdict === "need_times") throw new Error("times were given");
            if (verdict.verdict === "write") {
              stored = {
                transcriptId: delivery.transcriptId,
                status: delivery.status,
                receivedAt,
                times: delivery.times,
              };
            }
          });
          const newer = (a: (typeof jobs)[number], b: (typeof jobs)[number]) =>
            a.createdSecond !== b.createdSecond
              ? a.createdSecond > b.createdSecond
              : a.completedSecond > b.completedSecond;
          const withResult = jobs.filter((j) => j.status !== "fetch_failed");
          const pool = withResult.length > 0 ? withResult : jobs;
          const newest = pool.reduce((best, j) => (newer(j, best) ? j : best));
          return stored.transcriptId === `t-${jobs.indexOf(newest)}`;
        },
      ),
      { numRuns: 500 },
    );
  });
});
