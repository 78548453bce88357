import { DEFAULT_MAX_READ_ATTEMPTS } from "../../../functions/reconciler/constants";
import { CHECKPOINT_OVERLAP_MS, instant, reconcile } from "../../../functions/reconciler/core";
import { fakes, minutesAgo, NOW, options, transcript, WEBHOOK_URL } from "./support";

const minutes = (n: number) => n * 60_000;
const iso = (msBeforeNow: number) => new Date(NOW.getTime() - msBeforeNow).toISOString();

describe("reconcile: finding missed deliveries", () => {
  it("queues a finished transcript of ours that nothing stored, as a reconciler delivery", async () => {
    const { deps, queued } = fakes([transcript("t-1", 30, { query: "customer_id=c1&order_id=o1&lang=en" })]);

    const report = await reconcile(deps, options());

    expect(queued).toEqual([
      {
        version: 1,
        source: "reconciler",
        kind: "transcript",
        transcript_id: "t-1",
        status: "completed",
        metadata: {
          customer_id: "c1",
          order_id: "o1",
          params: { customer_id: "c1", order_id: "o1", lang: "en" },
        },
        // When it entered the pipeline: the run's clock; AssemblyAI's times travel beside it.
        received_at: NOW.toISOString(),
        created: `${minutesAgo(30)}Z`,
        completed: `${minutesAgo(29)}Z`,
        source_ip: "",
        request_id: `reconciler-${NOW.getTime()}-t-1`,
        payload: { transcript_id: "t-1", status: "completed" },
      },
    ]);
    expect(report).toMatchObject({ examined: 1, matched: 1, queued: 1, alreadyStored: 0, apiCalls: 2 });
    expect(report.transcripts).toEqual([
      {
        transcriptId: "t-1",
        customerId: "c1",
        orderId: "o1",
        outcome: "queued",
        requestId: `reconciler-${NOW.getTime()}-t-1`,
      },
    ]);
  });

  it("queues an errored transcript with status error", async () => {
    const { deps, queued } = fakes([transcript("t-1", 30, { status: "error", completed: null })]);

    await reconcile(deps, options());

    expect(queued.map((m) => (m.kind === "transcript" ? m.status : m.kind))).toEqual(["error"]);
  });

  it("matches the webhook URL whatever the host's case or a trailing slash, and ignores other endpoints", async () => {
    const { deps, queued } = fakes([
      transcript("ours-upper", 10, {
        webhook_url: `${WEBHOOK_URL.replace("abc123.execute-api", "ABC123.Execute-Api")}/?customer_id=c&order_id=o1`,
      }),
      transcript("other-path", 11, { webhook_url: `${WEBHOOK_URL}s?customer_id=c&order_id=o2` }),
      transcript("other-host", 12, { webhook_url: "https://example.com/webhook?customer_id=c&order_id=o3" }),
      transcript("no-webhook", 13, { webhook_url: null }),
    ]);

    const report = await reconcile(deps, options({ webhookUrl: `${WEBHOOK_URL}/` }));

    expect(queued.map((m) => (m.kind === "transcript" ? m.transcript_id : ""))).toEqual(["ours-upper"]);
    expect(report).toMatchObject({ examined: 4, matched: 1, queued: 1 });
  });

  it("skips ours with unusable metadata, saying why, as the receiver would have refused it", async () => {
    const { deps, queued } = fakes([
      transcript("no-order", 10, { query: "customer_id=c1" }),
      transcript("bad-id", 11, { query: "customer_id=c1&customer_id=c2&order_id=o1" }),
    ]);

    const report = await reconcile(deps, options());

    expect(queued).toEqual([]);
    expect(report).toMatchObject({ matched: 2, skipped: 2, queued: 0 });
    expect(report.transcripts).toEqual([
      {
        transcriptId: "bad-id",
        outcome: "skipped",
        reason: "query parameter customer_id is given more than once",
      },
      { transcriptId: "no-order", outcome: "skipped", reason: "query parameter order_id is required" },
    ]);
  });

  it("queues without times one AssemblyAI listed with no readable created time (the worker looks them up)", async () => {
    const { deps, queued } = fakes([transcript("t-1", 10, { created: "not a time", completed: null })]);

    const report = await reconcile(deps, options());

    expect(report).toMatchObject({ matched: 1, queued: 1 });
    expect(queued[0]).not.toHaveProperty("created");
  });

  it("leaves alone transcripts still queued or processing", async () => {
    const { deps, api } = fakes([
      transcript("queued", 5, { status: "queued", completed: null }),
      transcript("processing", 6, { status: "processing", completed: null }),
    ]);

    const report = await reconcile(deps, options());

    expect(api.reads).toEqual([]);
    expect(report).toMatchObject({ examined: 0, pending: 2, apiCalls: 1 });
  });
});

describe("reconcile: what is already stored", () => {
  it("does not queue a transcript its record already holds", async () => {
    const { deps, stored, queued } = fakes([transcript("t-1", 30)]);
    stored.set("c-t-1/o-t-1", { transcriptId: "t-1", receivedAt: iso(minutes(29)) });

    const report = await reconcile(deps, options());

    expect(queued).toEqual([]);
    expect(report).toMatchObject({ matched: 1, alreadyStored: 1, queued: 0 });
  });

  it("spends no API call on a transcript the transcript_id index already holds", async () => {
    const { deps, indexed, api, queued } = fakes([transcript("t-1", 30), transcript("t-2", 20)], {
      withIndex: true,
    });
    indexed.add("t-1");

    const report = await reconcile(deps, options());

    expect(api.reads).toEqual(["t-2"]);
    expect(queued).toHaveLength(1);
    expect(report).toMatchObject({ examined: 2, matched: 2, alreadyStored: 1, queued: 1, apiCalls: 2 });
  });

  it("queues a transcript whose order holds an older transcript (created earlier, listed in this run)", async () => {
    const query = "customer_id=c&order_id=o";
    const { deps, stored, queued } = fakes([
      transcript("older", 50, { query }),
      transcript("newer", 20, { query }),
    ]);
    stored.set("c/o", { transcriptId: "older", receivedAt: iso(minutes(49)) });

    const report = await reconcile(deps, options());

    expect(queued.map((m) => (m.kind === "transcript" ? m.transcript_id : ""))).toEqual(["newer"]);
    expect(report).toMatchObject({ alreadyStored: 1, queued: 1, superseded: 0 });
  });

  it("never queues a transcript over a newer one stored for the same order", async () => {
    const query = "customer_id=c&order_id=o";
    const { deps, stored, queued } = fakes([
      transcript("older", 50, { query }),
      transcript("newer", 20, { query }),
    ]);
    stored.set("c/o", { transcriptId: "newer", receivedAt: iso(minutes(19)) });

    const report = await reconcile(deps, options());

    expect(queued).toEqual([]);
    expect(report).toMatchObject({ alreadyStored: 1, superseded: 1, queued: 0 });
    expect(report.transcripts).toEqual([
      {
        transcriptId: "older",
        customerId: "c",
        orderId: "o",
        outcome: "superseded",
        reason: "the stored transcript newer is newer by AssemblyAI's times",
      },
    ]);
  });

  it("queues over a stored transcript older than everything listed (delivered before the run began)", async () => {
    const { deps, stored, queued } = fakes([transcript("t-1", 30, { query: "customer_id=c&order_id=o" })]);
    stored.set("c/o", { transcriptId: "from-last-week", receivedAt: "2025-05-25T09:00:00.000Z" });

    const report = await reconcile(deps, options());

    expect(queued).toHaveLength(1);
    expect(report.queued).toBe(1);
  });

  it("leaves it to the worker when the stored transcript's times are not at hand (it looks them up)", async () => {
    const { deps, stored, queued } = fakes([transcript("t-1", 30, { query: "customer_id=c&order_id=o1" })]);
    stored.set("c/o1", {
      transcriptId: "not-listed",
      receivedAt: new Date(NOW.getTime() - 5_000).toISOString(),
    });

    const report = await reconcile(deps, options());

    expect(report).toMatchObject({ superseded: 0, queued: 1 });
    expect(queued[0]).toMatchObject({ transcript_id: "t-1", created: `${minutesAgo(30)}Z` });
  });

  it("keeps out of the queue one older than the stored transcript by the times the record keeps", async () => {
    const { deps, stored, queued } = fakes([transcript("t-1", 30, { query: "customer_id=c&order_id=o1" })]);
    stored.set("c/o1", {
      transcriptId: "not-listed",
      status: "completed",
      times: { created: `${minutesAgo(5)}Z` },
    });

    const report = await reconcile(deps, options());

    expect(queued).toEqual([]);
    expect(report.transcripts[0]?.reason).toBe(
      "the stored transcript not-listed is newer by AssemblyAI's times",
    );
  });
});

describe("reconcile: what the worker orders deliveries by", () => {
  const query = "customer_id=c&order_id=o";
  const queuedOf = (queued: readonly object[], id: string) =>
    (queued as Record<string, unknown>[]).find((m) => m.transcript_id === id);

  it("carries AssemblyAI's created and completed from the listing, with their microseconds", async () => {
    const { deps, queued } = fakes([transcript("t-1", 30, { completed: "2025-06-01T11:45:07.654321" })]);

    await reconcile(deps, options());

    expect(queuedOf(queued, "t-1")).toMatchObject({ completed: "2025-06-01T11:45:07.654321Z" });
    expect(String(queuedOf(queued, "t-1")?.created)).toMatch(/^\d{4}-.*\.\d{6}Z$/);
  });

  it("carries no completed time for an errored transcript that has none", async () => {
    const { deps, queued } = fakes([transcript("t-1", 30, { status: "error", completed: null })]);

    await reconcile(deps, options());

    expect(queuedOf(queued, "t-1")).not.toHaveProperty("completed");
    expect(queuedOf(queued, "t-1")).toHaveProperty("created");
  });

  it("stamps received_at with the run's clock, as every producer does", async () => {
    const { deps, queued } = fakes([transcript("older", 50, { query }), transcript("newer", 20, { query })]);

    await reconcile(deps, options());

    expect(queued.map((m) => m.received_at)).toEqual([NOW.toISOString(), NOW.toISOString()]);
    const older = String(queuedOf(queued, "older")?.created);
    const newer = String(queuedOf(queued, "newer")?.created);
    // Queued together, yet the newer wins whichever the worker takes first: by created, not arrival.
    expect(older < newer).toBe(true);
  });
});

describe("reconcile: webhooks our receiver already accepted", () => {
  it("does not queue or log a transcript whose webhook got a 2xx, and counts it as delivered", async () => {
    const { deps, api, queued } = fakes([
      transcript("ok-200", 30, { webhook_status_code: 200 }),
      transcript("ok-204", 29, { webhook_status_code: 204 }),
      transcript("refused-401", 28, { webhook_status_code: 401 }),
      transcript("failed-503", 27, { webhook_status_code: 503 }),
      transcript("no-answer", 26, { webhook_status_code: null }),
    ]);
    const lookups: string[] = [];
    const storedTranscript = deps.storedTranscript;
    deps.storedTranscript = async (customerId, orderId) => {
      lookups.push(customerId);
      return storedTranscript(customerId, orderId);
    };

    const report = await reconcile(deps, options());

    expect(api.reads).toHaveLength(5);
    // Each record is read (one GetItem): a delivered transcript may have lost only by arrival order.
    expect(lookups).toEqual(["c-ok-200", "c-ok-204", "c-refused-401", "c-failed-503", "c-no-answer"]);
    expect(queued.map((m) => (m.kind === "transcript" ? m.transcript_id : ""))).toEqual([
      "refused-401",
      "failed-503",
      "no-answer",
    ]);
    expect(report).toMatchObject({ examined: 5, matched: 5, delivered: 2, queued: 3, alreadyStored: 0 });
    expect(report.transcripts.map((t) => t.transcriptId)).toEqual(["refused-401", "failed-503", "no-answer"]);
  });

  it("queues again, with the list's times, a delivered transcript that lost only by arrival order", async () => {
    const { deps, stored, queued } = fakes([
      transcript("lost", 30, { webhook_status_code: 200 }),
      transcript("decided", 29, { webhook_status_code: 200 }),
    ]);
    // "lost" was beaten by "kept" only because it arrived first; "decided" lost by AssemblyAI's times.
    // The record now holds "kept"'s times (created long before "lost").
    stored.set("c-lost/o-lost", {
      transcriptId: "kept",
      status: "completed",
      undecided: "lost",
      times: { created: "2020-01-01T00:00:00.000000Z" },
    });
    stored.set("c-decided/o-decided", { transcriptId: "newer", status: "completed" });

    const report = await reconcile(deps, options());

    expect(queued.map((m) => (m.kind === "transcript" ? m.transcript_id : ""))).toEqual(["lost"]);
    expect(queued[0]).toMatchObject({ created: expect.any(String), source: "reconciler" });
    expect(report).toMatchObject({ delivered: 1, queued: 1 });
    expect(report.transcripts).toEqual([
      expect.objectContaining({
        transcriptId: "lost",
        outcome: "queued",
        reason: expect.stringContaining("arrival"),
      }),
    ]);
  });

  it("leaves a delivered transcript noted as undecided once the list's times show the stored one is newer", async () => {
    const { deps, stored, queued } = fakes([
      transcript("kept", 29, { webhook_status_code: 200 }),
      transcript("lost", 30, { webhook_status_code: 200 }),
    ]);
    stored.set("c-lost/o-lost", { transcriptId: "kept", status: "completed", undecided: "lost" });

    const report = await reconcile(deps, options());

    // Both are in the listing: "kept" was created later, so "lost" would lose again; nothing is queued.
    expect(queued).toEqual([]);
    expect(report).toMatchObject({ superseded: 1, queued: 0 });
  });

  it("leaves a delivered transcript noted as undecided while the stored one's times are still unknown", async () => {
    const { deps, stored, queued } = fakes([transcript("lost", 30, { webhook_status_code: 200 })]);
    stored.set("c-lost/o-lost", { transcriptId: "kept", status: "completed", undecided: "lost" });

    const report = await reconcile(deps, options());

    // Queued now, it would win by arrival again, whichever is newer: it waits for a run that can order them.
    expect(queued).toEqual([]);
    expect(report).toMatchObject({ delivered: 1, queued: 0 });
  });

  it("still checks the transcript_id index first, spending no API call on a stored one", async () => {
    const { deps, api, indexed } = fakes([transcript("t-1", 30, { webhook_status_code: 200 })], {
      withIndex: true,
    });
    indexed.add("t-1");

    const report = await reconcile(deps, options());

    expect(api.reads).toEqual([]);
    expect(report).toMatchObject({ alreadyStored: 1, delivered: 0, apiCalls: 1 });
  });

  it("counts nothing as delivered for other endpoints", async () => {
    const { deps } = fakes([
      transcript("elsewhere", 30, {
        webhook_url: "https://example.com/webhook?customer_id=c&order_id=o",
        webhook_status_code: 200,
      }),
    ]);

    const report = await reconcile(deps, options());

    expect(report).toMatchObject({ examined: 1, matched: 0, delivered: 0 });
  });
});

describe("reconcile: transcripts that can never be read", () => {
  const many = (count: number) => Array.from({ length: count }, (_, i) => transcript(`t-${i}`, 50 - i));

  it.each([400, 404, 410])(
    "skips one AssemblyAI answers %i for, saying why, and moves the checkpoint past it",
    async (status) => {
      const { deps, api, queued } = fakes(many(3));
      api.readStatusOf.set("t-1", status);

      const report = await reconcile(deps, options());

      expect(queued.map((m) => (m.kind === "transcript" ? m.transcript_id : ""))).toEqual(["t-0", "t-2"]);
      expect(report).toMatchObject({ examined: 3, matched: 2, skipped: 1, queued: 2 });
      expect(report.stopReason).toBeUndefined();
      expect(report.transcripts).toContainEqual({
        transcriptId: "t-1",
        outcome: "skipped",
        reason: `cannot be read (final ${status}): GET /v2/transcript/{id} answered ${status}: Transcript not found`,
      });
      expect(report.nextCheckpoint).toBe(iso(CHECKPOINT_OVERLAP_MS));
      expect(report.nextSettledBefore).toBe(iso(CHECKPOINT_OVERLAP_MS));
    },
  );

  it.each([401, 403, 429, 500, 503])(
    "skips one AssemblyAI answers %i for, recovers the later ones in the same run, and keeps it to retry",
    async (status) => {
      const { deps, api, queued } = fakes(many(3));
      api.readStatusOf.set("t-1", status);

      const report = await reconcile(deps, options());

      expect(queued.map((m) => (m.kind === "transcript" ? m.transcript_id : ""))).toEqual(["t-0", "t-2"]);
      expect(report).toMatchObject({ examined: 3, skipped: 1, queued: 2, unreadRetrying: 1 });
      expect(report.stopReason).toBeUndefined();
      expect(report.transcripts).toContainEqual({
        transcriptId: "t-1",
        outcome: "skipped",
        unread: "retrying",
        reason: expect.stringContaining(
          `not read (attempt 1 of ${DEFAULT_MAX_READ_ATTEMPTS}, retried next run)`,
        ),
      });
      expect(report.nextUnread).toEqual([
        {
          transcriptId: "t-1",
          status: "completed",
          created: `${minutesAgo(49)}Z`,
          completed: `${minutesAgo(48)}Z`,
          attempts: 1,
          lastError: expect.stringContaining(`answered ${status}`),
        },
      ]);
      // Never pinned by it: the checkpoint moves past it as past any examined transcript.
      expect(report.nextCheckpoint).toBe(iso(CHECKPOINT_OVERLAP_MS));
    },
  );

  it("skips one whose read carries no status (a timeout, a network error), and keeps it to retry", async () => {
    const { deps, api, queued } = fakes(many(2));
    const getTranscript = api.getTranscript.bind(api);
    api.getTranscript = async (id) => {
      if (id === "t-0") throw new Error("GET /v2/transcript/t-0 timed out");
      return getTranscript(id);
    };

    const report = await reconcile(deps, options());

    expect(queued).toHaveLength(1);
    expect(report).toMatchObject({ examined: 2, skipped: 1, queued: 1, unreadRetrying: 1 });
    expect(report.stopReason).toBeUndefined();
    expect(report.nextUnread.map((u) => [u.transcriptId, u.lastError])).toEqual([
      ["t-0", "Error: GET /v2/transcript/t-0 timed out"],
    ]);
  });

  it("retries on the next run one it could not read, even though the checkpoint moved past it", async () => {
    const { deps, api, queued } = fakes(many(3));
    api.readStatusOf.set("t-1", 500);
    const first = await reconcile(deps, options());
    api.readStatusOf.delete("t-1");
    queued.length = 0;
    api.reads.length = 0;
    const later = new Date(NOW.getTime() + minutes(5));

    const second = await reconcile(
      deps,
      options({
        now: later,
        since: new Date(first.nextCheckpoint),
        settledBefore: new Date(first.nextSettledBefore as string),
        unread: first.nextUnread,
      }),
    );

    expect(api.reads).toEqual(["t-1"]);
    expect(queued).toEqual([
      expect.objectContaining({ transcript_id: "t-1", created: `${minutesAgo(49)}Z`, source: "reconciler" }),
    ]);
    expect(second).toMatchObject({ queued: 1, unreadRetrying: 0, unreadAbandoned: 0, nextUnread: [] });
  });

  it("gives up after maxReadAttempts runs, reporting it as abandoned, and drops it from retry", async () => {
    const { deps, api } = fakes(many(2));
    api.readStatusOf.set("t-0", 503);
    let report = await reconcile(deps, options({ maxReadAttempts: 3 }));
    const attempts = [report.nextUnread[0]?.attempts];
    for (let run = 1; run < 3; run += 1) {
      report = await reconcile(deps, options({ maxReadAttempts: 3, unread: report.nextUnread }));
      attempts.push(report.nextUnread[0]?.attempts);
    }

    expect(attempts).toEqual([1, 2, undefined]);
    expect(report).toMatchObject({ unreadRetrying: 0, unreadAbandoned: 1, nextUnread: [] });
    expect(report.transcripts).toContainEqual({
      transcriptId: "t-0",
      outcome: "skipped",
      unread: "abandoned",
      reason: expect.stringContaining("not read in 3 runs, given up"),
    });
  });

  it("keeps, unchanged, what it had to retry when the run stops before reaching it", async () => {
    const { deps, api } = fakes(many(2));
    api.readStatusOf.set("t-0", 500);
    const first = await reconcile(deps, options());

    const second = await reconcile(deps, options({ unread: first.nextUnread, maxApiCalls: 1 }));

    expect(second.stopReason).toBe("budget");
    expect(second.nextUnread).toEqual(first.nextUnread);
  });

  it("skips a malformed listed id without reading it, and moves on", async () => {
    const { deps, api, queued } = fakes([transcript("bad id/..", 40), transcript("t-ok", 30)], {
      withIndex: true,
    });

    const report = await reconcile(deps, options());

    expect(api.reads).toEqual(["t-ok"]);
    expect(queued.map((m) => (m.kind === "transcript" ? m.transcript_id : ""))).toEqual(["t-ok"]);
    expect(report).toMatchObject({ examined: 2, matched: 1, skipped: 1, queued: 1, apiCalls: 2 });
    expect(report.transcripts[0]).toEqual({
      transcriptId: "bad id/..",
      outcome: "skipped",
      reason: "the listed transcript id is malformed",
    });
    expect(report.stopReason).toBeUndefined();
  });

  it("shortens a very long malformed id in the report", async () => {
    const { deps } = fakes([transcript("x".repeat(300), 40)]);

    const report = await reconcile(deps, options());

    expect(report.transcripts[0]?.transcriptId).toBe(`${"x".repeat(128)}…`);
  });
});

describe("reconcile: paging, budget and checkpoint", () => {
  const many = (count: number, fromMinutesAgo = 55) =>
    Array.from({ length: count }, (_, i) =>
      transcript(`t-${String(i).padStart(3, "0")}`, fromMinutesAgo - i * 0.1),
    );

  it("pages newest first with before_id set to the oldest id of the previous page, and stops at since", async () => {
    const { deps, api } = fakes([...many(5), transcript("before-since", 61), transcript("ancient", 300)]);

    const report = await reconcile(deps, options({ pageSize: 2 }));

    expect(api.listQueries).toEqual([
      { limit: "2" },
      { limit: "2", before_id: "t-003" },
      { limit: "2", before_id: "t-001" },
    ]);
    expect(report).toMatchObject({ examined: 5, queued: 5, apiCalls: 3 + 5, budgetExhausted: false });
    expect(api.reads).not.toContain("before-since");
  });

  it("stops listing when AssemblyAI has no older page", async () => {
    const { deps, api } = fakes(many(3));

    await reconcile(deps, options({ pageSize: 3 }));

    expect(api.listQueries).toHaveLength(1);
  });

  it("moves the checkpoint to the run's start less the overlap once everything was examined", async () => {
    const { deps } = fakes(many(3));

    const report = await reconcile(deps, options());

    expect(report.nextCheckpoint).toBe(iso(CHECKPOINT_OVERLAP_MS));
    expect(report.nextSettledBefore).toBe(iso(CHECKPOINT_OVERLAP_MS));
    expect(report.stopReason).toBeUndefined();
  });

  it("never moves the checkpoint backwards", async () => {
    const { deps } = fakes([]);
    const since = new Date(NOW.getTime() - minutes(2));

    const report = await reconcile(deps, options({ since }));

    expect(report.nextCheckpoint).toBe(since.toISOString());
  });

  it("stays within the API budget, examining the oldest first, and resumes at the first one not examined", async () => {
    const { deps, api, queued } = fakes(many(6));

    const report = await reconcile(deps, options({ maxApiCalls: 4 }));

    expect(report).toMatchObject({
      apiCalls: 4,
      examined: 3,
      queued: 3,
      budgetExhausted: true,
      stopReason: "budget",
    });
    expect(api.reads).toEqual(["t-000", "t-001", "t-002"]);
    expect(queued).toHaveLength(3);
    expect(report.nextCheckpoint).toBe(new Date(instant(minutesAgo(55 - 3 * 0.1)) as number).toISOString());
    expect(report.nextSettledBefore).toBeUndefined();
  });

  it("keeps the checkpoint when the listing's half of the budget ran out before it reached since", async () => {
    const { deps, api } = fakes(many(6));
    const since = new Date(NOW.getTime() - minutes(60));

    const report = await reconcile(deps, options({ since, maxApiCalls: 4, pageSize: 2 }));

    expect(api.reads).toEqual([]);
    expect(report).toMatchObject({ apiCalls: 2, budgetExhausted: true, nextCheckpoint: since.toISOString() });
    // Two pages of two, newest first: the listing got back to the fourth newest.
    expect(report.listedBackTo).toBe(new Date(instant(minutesAgo(55 - 2 * 0.1)) as number).toISOString());
  });

  /** Runs the reconciler as the scheduled handler does, each run starting from the last one's checkpoint. */
  async function runsUntilCaughtUp(
    deps: Parameters<typeof reconcile>[0],
    overrides: Partial<Parameters<typeof reconcile>[1]>,
    maxRuns: number,
  ) {
    let next: Partial<Parameters<typeof reconcile>[1]> = {};
    const reports = [];
    for (let run = 0; run < maxRuns; run += 1) {
      const report = await reconcile(deps, options({ ...overrides, ...next }));
      reports.push(report);
      // Caught up: nothing stopped it, and no part of the window is left to a later run.
      if (report.stopReason === undefined && report.nextListing === undefined) break;
      next = {
        since: new Date(report.nextCheckpoint),
        ...(report.nextSettledBefore ? { settledBefore: new Date(report.nextSettledBefore) } : {}),
        ...(report.nextListing ? { listing: report.nextListing } : {}),
        unread: report.nextUnread,
      };
    }
    return reports;
  }

  it("works through a backlog larger than one run's budget over several runs, resuming the listing", async () => {
    const { deps, queued } = fakes(many(30));

    const reports = await runsUntilCaughtUp(deps, { maxApiCalls: 6, pageSize: 2 }, 30);

    expect(reports.at(-1)?.stopReason).toBeUndefined();
    const ids = queued.map((m) => (m.kind === "transcript" ? m.transcript_id : ""));
    expect(new Set(ids)).toEqual(new Set(many(30).map((t) => t.id)));
    expect(reports.at(-1)?.nextCheckpoint).toBe(iso(CHECKPOINT_OVERLAP_MS));
  });

  it("saves where the listing stopped, and the next run lists on from there with before_id", async () => {
    const { deps, api } = fakes(many(10));

    const first = await reconcile(deps, options({ maxApiCalls: 4, pageSize: 2 }));
    api.listQueries.length = 0;
    await reconcile(
      deps,
      options({ maxApiCalls: 2, pageSize: 2, ...(first.nextListing ? { listing: first.nextListing } : {}) }),
    );

    expect(first.nextListing).toEqual({
      resumeBefore: {
        transcriptId: "t-006",
        created: new Date(instant(minutesAgo(55 - 0.6)) as number).toISOString(),
      },
    });
    expect(api.listQueries[0]).toEqual({ limit: "2", before_id: "t-006" });
  });

  it("once below the saved cursor is examined, moves the checkpoint up to it and stops listing there next time", async () => {
    const { deps, api, queued } = fakes(many(6));
    const listing = {
      resumeBefore: {
        transcriptId: "t-003",
        created: new Date(instant(minutesAgo(55 - 0.3)) as number).toISOString(),
      },
    };

    const report = await reconcile(deps, options({ pageSize: 2, listing }));

    expect(queued.map((m) => (m.kind === "transcript" ? m.transcript_id : ""))).toEqual([
      "t-000",
      "t-001",
      "t-002",
    ]);
    expect(report.stopReason).toBeUndefined();
    expect(report.nextCheckpoint).toBe(listing.resumeBefore.created);
    expect(report.nextListing).toEqual({ stopAt: "t-003" });
    // What the earlier runs examined stays examined: settled_before does not move past the part not listed.
    expect(report.nextSettledBefore).toBeUndefined();

    api.listQueries.length = 0;
    const next = await reconcile(
      deps,
      options({ pageSize: 3, since: new Date(report.nextCheckpoint), listing: { stopAt: "t-003" } }),
    );
    expect(api.listQueries).toEqual([{ limit: "3" }]);
    expect(queued.map((m) => (m.kind === "transcript" ? m.transcript_id : "")).slice(3)).toEqual([
      "t-003",
      "t-004",
      "t-005",
    ]);
    expect(next.nextListing).toBeUndefined();
  });

  it("examines the stop point itself but nothing listed after it, though created after since", async () => {
    const { deps, api, queued } = fakes([
      transcript("newest", 40),
      transcript("stop", 45),
      transcript("older", 50),
    ]);

    const report = await reconcile(deps, options({ listing: { stopAt: "stop" } }));

    expect(api.reads).toEqual(["stop", "newest"]);
    expect(queued.map((m) => (m.kind === "transcript" ? m.transcript_id : ""))).toEqual(["stop", "newest"]);
    expect(report.nextListing).toBeUndefined();
    expect(report.nextCheckpoint).toBe(iso(CHECKPOINT_OVERLAP_MS));
  });

  it("drops a saved cursor AssemblyAI refuses, so the next run lists from the newest again", async () => {
    const { deps, api } = fakes(many(4));
    api.listTranscripts = async () => {
      throw Object.assign(new Error("GET /v2/transcript answered HTTP 400: bad before_id"), { status: 400 });
    };

    const report = await reconcile(
      deps,
      options({ listing: { resumeBefore: { transcriptId: "gone", created: iso(minutes(50)) } } }),
    );

    expect(report.stopReason).toBe("failure");
    expect(report.nextListing).toBeUndefined();
  });

  it("leaves listedBackTo out once the listing reached since", async () => {
    const { deps } = fakes(many(6));

    const report = await reconcile(deps, options({ maxApiCalls: 4 }));

    expect(report.stopReason).toBe("budget");
    expect(report.listedBackTo).toBeUndefined();
  });

  it("skips finished transcripts an earlier run already examined, by their completed time", async () => {
    const { deps, api } = fakes([
      transcript("seen", 40, { completed: minutesAgo(39) }),
      transcript("finished-late", 45, { completed: minutesAgo(5) }),
      transcript("error-no-time", 44, { status: "error", completed: null }),
    ]);

    const report = await reconcile(deps, options({ settledBefore: new Date(NOW.getTime() - minutes(25)) }));

    expect(api.reads.sort()).toEqual(["error-no-time", "finished-late"]);
    expect(report.examined).toBe(2);
  });

  it("holds the checkpoint at the oldest transcript still processing, so its completion is found later", async () => {
    const { deps } = fakes([
      transcript("slow", 50, { status: "processing", completed: null }),
      transcript("done", 20),
    ]);

    const report = await reconcile(deps, options());

    expect(report.nextCheckpoint).toBe(new Date(instant(minutesAgo(50)) as number).toISOString());
    expect(report.nextSettledBefore).toBe(iso(CHECKPOINT_OVERLAP_MS));
  });

  it("lets a transcript stuck processing hold the checkpoint back no further than maxPendingLookbackMs", async () => {
    const { deps } = fakes([transcript("stuck", 600, { status: "queued", completed: null })]);

    const report = await reconcile(
      deps,
      options({ since: new Date(NOW.getTime() - minutes(720)), maxPendingLookbackMs: minutes(360) }),
    );

    expect(report.nextCheckpoint).toBe(iso(minutes(360)));
  });

  it("stops when told to (a Lambda near its timeout) and resumes where it stopped", async () => {
    const { deps, api } = fakes(many(3));

    const report = await reconcile(deps, options({ shouldStop: () => api.reads.length >= 1 }));

    expect(api.reads).toEqual(["t-000"]);
    expect(report).toMatchObject({ stopReason: "time", budgetExhausted: false, examined: 1 });
    expect(report.nextCheckpoint).toBe(new Date(instant(minutesAgo(55 - 0.1)) as number).toISOString());
  });

  it("reports a failed queue write, keeps what came before it, and resumes at that transcript", async () => {
    const { deps, queued } = fakes(many(3));
    const enqueue = deps.enqueue;
    deps.enqueue = async (message) => {
      if (message.kind === "transcript" && message.transcript_id === "t-001") throw new Error("SQS is down");
      await enqueue(message);
    };

    const report = await reconcile(deps, options());

    expect(queued).toHaveLength(1);
    expect(report).toMatchObject({ stopReason: "failure", failure: "transcript t-001: Error: SQS is down" });
    expect(report.nextCheckpoint).toBe(new Date(instant(minutesAgo(55 - 0.1)) as number).toISOString());
  });

  it("keeps the checkpoint when the listing fails", async () => {
    const { deps, api } = fakes(many(5));
    api.failListAfter = 1;
    const since = new Date(NOW.getTime() - minutes(60));

    const report = await reconcile(deps, options({ since, pageSize: 2 }));

    expect(api.reads).toEqual([]);
    expect(report).toMatchObject({ stopReason: "failure", nextCheckpoint: since.toISOString() });
  });

  it("reports progress after each transcript examined", async () => {
    const { deps } = fakes(many(3));
    const seen: number[] = [];

    await reconcile(deps, options({ onProgress: (r) => seen.push(r.examined) }));

    expect(seen).toEqual([1, 2, 3]);
  });

  it("refuses a webhook URL that is not a URL", async () => {
    const { deps } = fakes([]);

    await expect(reconcile(deps, options({ webhookUrl: "/webhook" }))).rejects.toThrow(
      "webhookUrl must be an absolute URL",
    );
  });
});

describe("instant", () => {
  it("reads AssemblyAI's zone-less microsecond timestamps as UTC", () => {
    expect(instant("2023-11-02T21:49:25.586965")).toBe(Date.parse("2023-11-02T21:49:25.586Z"));
  });

  it("reads timestamps with a zone, and Dates", () => {
    expect(instant("2023-11-02T23:49:25+02:00")).toBe(Date.parse("2023-11-02T21:49:25Z"));
    expect(instant(new Date(5))).toBe(5);
  });

  it("answers undefined for anything else", () => {
    expect(instant(null)).toBeUndefined();
    expect(instant("yesterday")).toBeUndefined();
    expect(instant(new Date(Number.NaN))).toBeUndefined();
  });
});
