/** The pure parts of deleting at AssemblyAI and of record expiry (functions/worker/lifecycle.ts). */
import fc from "fast-check";
import {
  alreadyDeleted,
  buildDeletedUpdate,
  buildDeleteFailedUpdate,
  classifyDelete,
  deleteRetryDelaySeconds,
  deleteStillDue,
  deleteWaitsForRedactedAudio,
  expiresAt,
  MAX_DELETE_DELAY_SECONDS,
  redactedAudioSettled,
  withExpiry,
  withoutDeleteState,
} from "../../../functions/worker/lifecycle";
import type { ItemUpdate } from "../../../functions/worker/updates";

const NOW = Date.parse("2025-11-27T06:00:00.000Z");
const KEY = { customer_id: "c", order_id: "o" };
const http = (status: number, message?: string, retryAfter: string | null = null) =>
  ({ type: "http_error", status, retryAfter, message }) as const;

describe("AssemblyAI's answer to a DELETE", () => {
  it.each([
    [{ type: "deleted", status: 200 } as const, "deleted"],
    [http(400, "Transcript is still processing"), "retry"],
    [http(400, "transcript is queued"), "retry"],
    [http(429, "slow down"), "retry"],
    [http(500), "retry"],
    [http(503), "retry"],
    [http(401, "Authentication error"), "retry"],
    [http(403), "retry"],
    [http(404, "Transcript not found"), "not_here"],
    [http(400, "Invalid transcript id"), "final"],
    [http(422), "final"],
    [{ type: "network_error", timedOut: true, reason: "timeout" } as const, "retry"],
  ])("%j is %s", (result, action) => {
    expect(classifyDelete(result, NOW).action).toBe(action);
  });

  it("keeps Retry-After", () => {
    expect(classifyDelete(http(429, "slow", "120"), NOW)).toEqual({
      action: "retry",
      reason: "AssemblyAI delete answered HTTP 429: slow",
      retryAfterSeconds: 120,
    });
  });
});

describe("a queued delete retry's delay", () => {
  it("doubles from twice the worker's first backoff, up to SQS's 15 minutes", () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => deleteRetryDelaySeconds(attempt, 30))).toEqual([
      60, 120, 240, 480, 900, 900,
    ]);
  });

  it("is never sooner than Retry-After, nor later than SQS allows", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 900 }),
        fc.nat(5000),
        (a, b, r) => {
          const delay = deleteRetryDelaySeconds(a, b, r);
          return delay <= MAX_DELETE_DELAY_SECONDS && delay >= Math.min(r, MAX_DELETE_DELAY_SECONDS);
        },
      ),
    );
  });
});

describe("a record's expiry", () => {
  const update: ItemUpdate = {
    key: KEY,
    updateExpression: "SET #status = :status REMOVE #text",
    conditionExpression: undefined,
    names: { "#status": "status", "#text": "text" },
    values: { ":status": "completed" },
  };

  it("is retentionDays after the write, in epoch seconds", () => {
    expect(expiresAt(NOW + 999, 30)).toBe(NOW / 1000 + 30 * 86_400);
  });

  it("is set by the write beside what it sets already", () => {
    expect(withExpiry(update, 42)).toEqual({
      ...update,
      updateExpression: "SET #expires_at = :expires_at, #status = :status REMOVE #text",
      names: { ...update.names, "#expires_at": "expires_at" },
      values: { ...update.values, ":expires_at": 42 },
    });
  });

  it("a transcript write removes the deletion state of the transcript it replaces", () => {
    const all =
      "#assemblyai_deleted, #assemblyai_deleted_at, #assemblyai_delete_error, #assemblyai_delete_attempts";
    expect(withoutDeleteState(update).updateExpression).toBe(
      `SET #status = :status REMOVE #text, ${all}, #assemblyai_delete_waits_for`,
    );
    expect(
      withoutDeleteState({ ...update, updateExpression: "SET #status = :status" }).updateExpression,
    ).toBe(`SET #status = :status REMOVE ${all}, #assemblyai_delete_waits_for`);
  });

  it("notes that the new transcript's delete waits for its redacted audio", () => {
    const noted = withoutDeleteState(update, true);

    expect(noted.updateExpression).toBe(
      "SET #status = :status, #assemblyai_delete_waits_for = :assemblyai_delete_waits_for REMOVE #text, " +
        "#assemblyai_deleted, #assemblyai_deleted_at, #assemblyai_delete_error, #assemblyai_delete_attempts",
    );
    expect(noted.values[":assemblyai_delete_waits_for"]).toBe("redacted_audio");
  });
});

describe("when a delete may happen", () => {
  it("waits for redacted audio only for a completed transcript that asked for it", () => {
    expect(deleteWaitsForRedactedAudio({ redact_pii_audio: true }, "completed")).toBe(true);
    expect(deleteWaitsForRedactedAudio({ redact_pii_audio: true }, "error")).toBe(false);
    expect(deleteWaitsForRedactedAudio({ redact_pii_audio: false }, "completed")).toBe(false);
  });

  it("takes stored or failed audio of the transcript, or of no known transcript, as settled", () => {
    expect(redactedAudioSettled({ redacted_audio_s3_key: "k", redacted_audio_transcript_id: "t" }, "t")).toBe(
      true,
    );
    expect(redactedAudioSettled({ redacted_audio_error: "HTTP 403" }, "t")).toBe(true);
    expect(
      redactedAudioSettled({ redacted_audio_s3_key: "k", redacted_audio_transcript_id: "other" }, "t"),
    ).toBe(false);
    expect(redactedAudioSettled({ transcript_id: "t" }, "t")).toBe(false);
    expect(redactedAudioSettled(undefined, "t")).toBe(false);
  });

  it("knows a deletion only of the transcript the record holds", () => {
    expect(alreadyDeleted({ transcript_id: "t", assemblyai_deleted_at: "2025-11-27T06:00:00Z" }, "t")).toBe(
      true,
    );
    expect(alreadyDeleted({ transcript_id: "u", assemblyai_deleted_at: "2025-11-27T06:00:00Z" }, "t")).toBe(
      false,
    );
    expect(alreadyDeleted({ transcript_id: "t" }, "t")).toBe(false);
  });
});

describe("a repeated delivery of the stored transcript", () => {
  const stored = { transcript_id: "t", status: "completed" };

  it.each([
    ["a result never deleted", stored, true],
    ["an error never deleted", { ...stored, status: "error" }, true],
    [
      "one deleted",
      { ...stored, assemblyai_deleted: true, assemblyai_deleted_at: "2025-11-27T06:00:00Z" },
      false,
    ],
    ["one given up", { ...stored, assemblyai_deleted: false, assemblyai_delete_error: "HTTP 404" }, false],
    ["one whose retry is queued", { ...stored, assemblyai_delete_attempts: 3 }, false],
    [
      "one waiting for its redacted audio",
      { ...stored, assemblyai_delete_waits_for: "redacted_audio" },
      false,
    ],
    [
      "one whose redacted audio came",
      { ...stored, assemblyai_delete_waits_for: "redacted_audio", redacted_audio_s3_key: "k" },
      true,
    ],
    ["a failure", { ...stored, status: "fetch_failed" }, false],
    ["a streaming session", { ...stored, kind: "streaming_session" }, false],
    ["another transcript", { ...stored, transcript_id: "u" }, false],
  ])("deletes %s: %j -> %s", (_name, item, due) => {
    expect(deleteStillDue(item, "t")).toBe(due);
  });
});

describe("what a delete writes", () => {
  it("only while the record holds the transcript and no deletion", () => {
    for (const update of [
      buildDeletedUpdate(KEY, "t", "2025-11-27T06:00:00.000Z"),
      buildDeleteFailedUpdate(KEY, "t", "HTTP 500", 3, false),
      buildDeleteFailedUpdate(KEY, "t", "HTTP 500", 9, true),
    ]) {
      expect(update.conditionExpression).toBe(
        "#transcript_id = :transcript_id AND attribute_not_exists(#assemblyai_deleted_at)",
      );
      expect(update.values[":transcript_id"]).toBe("t");
      expect(Object.values(update.names)).not.toContain("text");
      expect(Object.values(update.names)).not.toContain("status");
    }
  });

  it("says false only once given up", () => {
    expect(buildDeleteFailedUpdate(KEY, "t", "HTTP 500", 3, false).values[":deleted"]).toBeUndefined();
    expect(buildDeleteFailedUpdate(KEY, "t", "HTTP 500", 9, true).values[":deleted"]).toBe(false);
  });
});
