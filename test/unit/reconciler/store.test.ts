import { parseCheckpoint, serializeCheckpoint } from "../../../functions/reconciler/store";

describe("the checkpoint object", () => {
  it("round-trips since and settled_before", () => {
    const checkpoint = {
      since: new Date("2025-06-01T11:50:00.000Z"),
      settledBefore: new Date("2025-06-01T11:50:00.000Z"),
    };

    const text = serializeCheckpoint(checkpoint, new Date("2025-06-01T12:00:01.000Z"));

    expect(JSON.parse(text)).toEqual({
      version: 2,
      since: "2025-06-01T11:50:00.000Z",
      settled_before: "2025-06-01T11:50:00.000Z",
      unread: [],
      listing: null,
      fetch_retries: [],
      updated_at: "2025-06-01T12:00:01.000Z",
    });
    expect(parseCheckpoint(text)).toEqual({ checkpoint });
  });

  it("keeps a checkpoint without settled_before (after a run cut short on its first window)", () => {
    const parsed = parseCheckpoint(
      JSON.stringify({ version: 1, since: "2025-06-01T11:50:00Z", settled_before: null }),
    );

    expect(parsed).toEqual({ checkpoint: { since: new Date("2025-06-01T11:50:00Z") } });
  });

  it("round-trips the transcripts to read again, with their attempts and AssemblyAI's times", () => {
    const unread = [
      {
        transcriptId: "t-1",
        status: "completed" as const,
        created: "2025-06-01T11:40:00.123456Z",
        completed: "2025-06-01T11:41:00.123456Z",
        attempts: 2,
        lastError: "AssemblyAiRequestError: GET /v2/transcript/t-1 answered HTTP 500",
      },
      { transcriptId: "t-2", status: "error" as const, attempts: 1, lastError: "timed out" },
    ];
    const checkpoint = { since: new Date("2025-06-01T11:50:00.000Z"), unread };

    const parsed = parseCheckpoint(serializeCheckpoint(checkpoint, new Date("2025-06-01T12:00:01.000Z")));

    expect(parsed).toEqual({
      checkpoint: {
        since: checkpoint.since,
        unread: [unread[0], { ...unread[1], created: undefined, completed: undefined }],
      },
    });
  });

  it("round-trips where a listing too long for one run got to", () => {
    const checkpoint = {
      since: new Date("2025-06-01T11:50:00.000Z"),
      listing: {
        resumeBefore: { transcriptId: "t-9", created: "2025-06-01T11:55:00.000Z" },
        stopAt: "t-3",
      },
    };

    const text = serializeCheckpoint(checkpoint, new Date("2025-06-01T12:00:01.000Z"));

    expect(JSON.parse(text).listing).toEqual({
      resume_before_id: "t-9",
      resume_before_created: "2025-06-01T11:55:00.000Z",
      stop_at_id: "t-3",
    });
    expect(parseCheckpoint(text)).toEqual({ checkpoint });
  });

  it("round-trips the tries of fetch_failed records, with the key's fingerprint and whether given up", () => {
    const fetchRetries = [
      {
        transcriptId: "t-1",
        attempts: 2,
        lastAttemptAt: "2025-06-01T11:00:00.000Z",
        keyFingerprint: "0123456789abcdef",
      },
      {
        transcriptId: "t-2",
        attempts: 4,
        lastAttemptAt: "2025-06-01T10:00:00.000Z",
        keyFingerprint: "fedcba9876543210",
        abandoned: true,
      },
    ];
    const checkpoint = { since: new Date("2025-06-01T11:50:00.000Z"), fetchRetries };

    const text = serializeCheckpoint(checkpoint, new Date("2025-06-01T12:00:01.000Z"));

    expect(JSON.parse(text).fetch_retries[0]).toEqual({
      transcript_id: "t-1",
      attempts: 2,
      last_attempt_at: "2025-06-01T11:00:00.000Z",
      key_fingerprint: "0123456789abcdef",
    });
    expect(parseCheckpoint(text)).toEqual({ checkpoint });
  });

  it("refuses fetch_retries that are not a list of tries", () => {
    const parsed = parseCheckpoint(
      JSON.stringify({
        version: 2,
        since: "2025-06-01T11:50:00Z",
        fetch_retries: [{ transcript_id: "t", attempts: 1 }],
      }),
    );

    expect(parsed).toEqual({ problem: "the checkpoint's fetch_retries is not a list of tries" });
  });

  it("still reads a version 1 checkpoint, which has nothing to read again", () => {
    const parsed = parseCheckpoint(
      JSON.stringify({
        version: 1,
        since: "2025-06-01T11:50:00.000Z",
        settled_before: "2025-06-01T11:45:00.000Z",
        updated_at: "2025-06-01T12:00:01.000Z",
      }),
    );

    expect(parsed).toEqual({
      checkpoint: {
        since: new Date("2025-06-01T11:50:00.000Z"),
        settledBefore: new Date("2025-06-01T11:45:00.000Z"),
      },
    });
  });

  it.each([
    ["not json", "the checkpoint is not JSON"],
    [
      JSON.stringify({ version: 3, since: "2025-06-01T11:50:00Z" }),
      "the checkpoint is not a version 1 or 2 object",
    ],
    [
      JSON.stringify({ version: 2, since: "2025-06-01T11:50:00Z", unread: [{ transcript_id: "t" }] }),
      "the checkpoint's unread is not a list of transcripts",
    ],
    [
      JSON.stringify({ version: 2, since: "2025-06-01T11:50:00Z", listing: { resume_before_id: "t" } }),
      "the checkpoint's listing is not a listing cursor",
    ],
    [JSON.stringify({ version: 1, since: "soon" }), "the checkpoint's since is not an ISO-8601 instant"],
    [
      JSON.stringify({ version: 1, since: "2025-06-01T11:50:00Z", settled_before: 5 }),
      "settled_before is not",
    ],
  ])("says why %s cannot be used", (text, problem) => {
    expect(parseCheckpoint(text)).toEqual({ problem: expect.stringContaining(problem) });
  });
});
