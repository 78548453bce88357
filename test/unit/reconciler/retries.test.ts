import { MAX_WAITING_FETCH_FAILURES } from "../../../functions/reconciler/constants";
import { reconcile } from "../../../functions/reconciler/core";
import { type FetchRetryPolicy, retryDecision } from "../../../functions/reconciler/retries";
import type { FetchRetryAttempt, WaitingFetchFailure } from "../../../functions/reconciler/types";
import { fakes, NOW, options, transcript } from "./support";

const HOUR = 60 * 60_000;
const iso = (msBeforeNow: number) => new Date(NOW.getTime() - msBeforeNow).toISOString();
const POLICY: FetchRetryPolicy = { maxAttempts: 3, delayMs: HOUR, windowMs: 30 * 24 * HOUR };
const OLD_KEY = "0ld0ld0ld0ld0ld0";
const NEW_KEY = "new0new0new0new0";

function waitingRecord(id: string, overrides: Partial<WaitingFetchFailure> = {}): WaitingFetchFailure {
  return {
    customerId: `c-${id}`,
    orderId: `o-${id}`,
    transcriptId: id,
    failedAt: iso(10 * 60_000),
    status: 401,
    keyFingerprint: OLD_KEY,
    ...overrides,
  };
}

function tried(id: string, attempts: number, msAgo: number, key = NEW_KEY): FetchRetryAttempt {
  return { transcriptId: id, attempts, lastAttemptAt: iso(msAgo), keyFingerprint: key };
}

describe("retryDecision", () => {
  const now = NOW.getTime();

  it("is due at once when the API key changed since the fetch was refused", () => {
    expect(retryDecision(waitingRecord("t"), undefined, NEW_KEY, now, POLICY)).toEqual({
      due: true,
      why: "key_changed",
    });
  });

  it("waits while the key is the one refused, until the delay has passed", () => {
    const record = waitingRecord("t", { failedAt: iso(HOUR - 1) });

    expect(retryDecision(record, undefined, OLD_KEY, now, POLICY)).toEqual({ due: false, why: "waiting" });
    expect(retryDecision(record, undefined, OLD_KEY, now + 1, POLICY)).toEqual({
      due: true,
      why: "delay_passed",
    });
  });

  it("compares the key with the one its last try used, not the worker's, and doubles the delay per try", () => {
    const record = waitingRecord("t", { failedAt: iso(10 * HOUR) });

    expect(retryDecision(record, tried("t", 1, HOUR), NEW_KEY, now, POLICY).due).toBe(false);
    expect(retryDecision(record, tried("t", 1, 2 * HOUR), NEW_KEY, now, POLICY).due).toBe(true);
    expect(retryDecision(record, tried("t", 2, 3 * HOUR), NEW_KEY, now, POLICY).due).toBe(false);
    expect(retryDecision(record, tried("t", 2, 3 * HOUR, OLD_KEY), NEW_KEY, now, POLICY)).toEqual({
      due: true,
      why: "key_changed",
    });
  });

  it("gives up after maxAttempts tries, once the last has had its delay", () => {
    const record = waitingRecord("t");

    expect(retryDecision(record, tried("t", 3, 7 * HOUR), NEW_KEY, now, POLICY)).toEqual({
      due: false,
      why: "waiting",
    });
    expect(retryDecision(record, tried("t", 3, 8 * HOUR), NEW_KEY, now, POLICY)).toEqual({
      due: false,
      why: "exhausted",
    });
  });

  it("still tries once more for each new key after the count is spent (a key fixed days later)", () => {
    const spent = tried("t", 3, 9 * HOUR, OLD_KEY);

    expect(retryDecision(waitingRecord("t"), spent, NEW_KEY, now, POLICY)).toEqual({
      due: true,
      why: "key_changed",
    });
    expect(
      retryDecision(
        waitingRecord("t"),
        { ...spent, attempts: 4, keyFingerprint: NEW_KEY },
        NEW_KEY,
        now,
        POLICY,
      ).due,
    ).toBe(false);
  });

  it("does not let an unreadable failure time hold a record back forever", () => {
    expect(
      retryDecision(waitingRecord("t", { failedAt: "whenever" }), undefined, OLD_KEY, now, POLICY).due,
    ).toBe(true);
  });
});

describe("reconcile: fetch_failed records waiting for a retry", () => {
  const retryOptions = (overrides: Parameters<typeof options>[0] = {}) =>
    options({ apiKeyFingerprint: NEW_KEY, fetchRetryPolicy: POLICY, ...overrides });

  it("reads and queues again, with the transcript's status, one refused for a key since replaced", async () => {
    const { deps, api, queued, waiting } = fakes([transcript("t-f", 300, { status: "error" })], {
      withRetries: true,
    });
    waiting.push(waitingRecord("t-f"));

    const report = await reconcile(deps, retryOptions());

    expect(api.reads).toEqual(["t-f"]);
    expect(queued).toEqual([
      expect.objectContaining({
        source: "reconciler",
        transcript_id: "t-f",
        status: "error",
        metadata: expect.objectContaining({ customer_id: "c-t-f", order_id: "o-t-f" }),
      }),
    ]);
    expect(report).toMatchObject({ fetchRetryWaiting: 1, fetchRetried: 1, queued: 1 });
    expect(report.transcripts).toEqual([
      expect.objectContaining({ transcriptId: "t-f", outcome: "queued", fetchRetry: { attempt: 1 } }),
    ]);
    expect(report.nextFetchRetries).toEqual([
      { transcriptId: "t-f", attempts: 1, lastAttemptAt: NOW.toISOString(), keyFingerprint: NEW_KEY },
    ]);
  });

  it("spends no call on one refused for the key still in use, before its delay", async () => {
    const { deps, api, queued, waiting } = fakes([transcript("t-f", 300)], { withRetries: true });
    waiting.push(waitingRecord("t-f", { keyFingerprint: NEW_KEY }));

    const report = await reconcile(deps, retryOptions());

    expect(api.reads).toEqual([]);
    expect(queued).toEqual([]);
    expect(report).toMatchObject({ fetchRetryWaiting: 1, fetchRetried: 0 });
    expect(report.nextFetchRetries).toEqual([]);
  });

  it("counts a try that still fails to read, queues nothing, and waits the doubled delay next time", async () => {
    const { deps, api, queued, waiting } = fakes([transcript("t-f", 300)], { withRetries: true });
    waiting.push(waitingRecord("t-f", { status: 404 }));
    api.readStatusOf.set("t-f", 404);

    const first = await reconcile(deps, retryOptions());
    const second = await reconcile(
      deps,
      retryOptions({ now: new Date(NOW.getTime() + HOUR), fetchRetries: first.nextFetchRetries }),
    );

    expect(queued).toEqual([]);
    expect(first.transcripts).toEqual([
      expect.objectContaining({ transcriptId: "t-f", outcome: "skipped", fetchRetry: { attempt: 1 } }),
    ]);
    expect(first.nextFetchRetries).toEqual([expect.objectContaining({ attempts: 1 })]);
    expect(api.reads).toEqual(["t-f"]);
    expect(second.nextFetchRetries).toEqual(first.nextFetchRetries);
  });

  it("gives up after maxAttempts tries and says so once", async () => {
    const { deps, queued, waiting } = fakes([transcript("t-f", 300)], { withRetries: true });
    waiting.push(waitingRecord("t-f"));
    const exhausted = [tried("t-f", 3, 9 * HOUR)];

    const first = await reconcile(deps, retryOptions({ fetchRetries: exhausted }));
    const second = await reconcile(deps, retryOptions({ fetchRetries: first.nextFetchRetries }));

    expect(queued).toEqual([]);
    expect(first).toMatchObject({ fetchRetriesAbandoned: 1, skipped: 1 });
    expect(first.transcripts).toEqual([
      expect.objectContaining({ transcriptId: "t-f", fetchRetry: { attempt: 3, abandoned: true } }),
    ]);
    expect(first.nextFetchRetries).toEqual([{ ...exhausted[0], abandoned: true }]);
    expect(second).toMatchObject({ fetchRetriesAbandoned: 0, skipped: 0 });
    expect(second.transcripts).toEqual([]);
  });

  it("gives up at once on a transcript whose webhook_url no longer names the record", async () => {
    const { deps, queued, waiting } = fakes(
      [transcript("t-moved", 300, { query: "customer_id=someone&order_id=else" })],
      { withRetries: true },
    );
    waiting.push(waitingRecord("t-moved"));

    const report = await reconcile(deps, retryOptions());

    expect(queued).toEqual([]);
    expect(report).toMatchObject({ fetchRetriesAbandoned: 1 });
    expect(report.nextFetchRetries).toEqual([expect.objectContaining({ attempts: 3, abandoned: true })]);
  });

  it("drops the tries of records that no longer wait (stored since)", async () => {
    const { deps, waiting } = fakes([], { withRetries: true });
    waiting.push(waitingRecord("t-still", { keyFingerprint: NEW_KEY }));

    const report = await reconcile(
      deps,
      retryOptions({ fetchRetries: [tried("t-stored", 1, HOUR), tried("t-still", 1, HOUR / 2)] }),
    );

    expect(report.nextFetchRetries.map((entry) => entry.transcriptId)).toEqual(["t-still"]);
  });

  it("keeps calls for due retries when the window alone would spend the whole budget", async () => {
    const backlog = Array.from({ length: 20 }, (_, i) => transcript(`t-${i}`, 50 - i));
    const { deps, queued, waiting } = fakes([...backlog, transcript("t-f", 300)], { withRetries: true });
    waiting.push(waitingRecord("t-f"));

    const report = await reconcile(deps, retryOptions({ maxApiCalls: 8 }));

    expect(queued.map((m) => (m.kind === "transcript" ? m.transcript_id : ""))).toContain("t-f");
    expect(report.apiCalls).toBe(8);
  });

  it("still queues due retries when the listing fails (nothing in the window stalls them)", async () => {
    const { deps, api, queued, waiting } = fakes([transcript("t-f", 300)], { withRetries: true });
    waiting.push(waitingRecord("t-f"));
    api.failListAfter = 0;

    const report = await reconcile(deps, retryOptions());

    expect(report.stopReason).toBe("failure");
    expect(queued.map((m) => (m.kind === "transcript" ? m.transcript_id : ""))).toEqual(["t-f"]);
  });

  it("counts no try when the queue write fails, and fails the run", async () => {
    const { deps, waiting } = fakes([transcript("t-f", 300)], { withRetries: true });
    waiting.push(waitingRecord("t-f"));
    deps.enqueue = async () => {
      throw new Error("SQS is down");
    };

    const report = await reconcile(deps, retryOptions());

    expect(report.stopReason).toBe("failure");
    expect(report.failure).toContain("SQS is down");
    expect(report.nextFetchRetries).toEqual([]);
  });

  it("reads the index for records that failed within the window only, and at most a bounded number", async () => {
    const { deps, waiting } = fakes([], { withRetries: true });
    const calls: Array<[string, number]> = [];
    const read = deps.waitingFetchFailures?.bind(deps);
    deps.waitingFetchFailures = async (since, limit) => {
      calls.push([since.toISOString(), limit]);
      return read ? read(since, limit) : { records: [], complete: true };
    };
    waiting.push(waitingRecord("t-ancient", { failedAt: iso(31 * 24 * HOUR) }));

    const report = await reconcile(deps, retryOptions());

    expect(calls).toEqual([[iso(POLICY.windowMs), MAX_WAITING_FETCH_FAILURES]]);
    expect(report.fetchRetryWaiting).toBe(0);
  });

  it("leaves waiting records alone without the API key's fingerprint (the CLI keeps no tries)", async () => {
    const { deps, api, queued, waiting } = fakes([transcript("t-f", 300)], { withRetries: true });
    waiting.push(waitingRecord("t-f"));

    const report = await reconcile(deps, options());

    expect(api.reads).toEqual([]);
    expect(queued).toEqual([]);
    expect(report.fetchRetryWaiting).toBe(0);
  });
});
