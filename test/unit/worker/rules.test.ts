import fc from "fast-check";
import type { FetchResult } from "../../../functions/shared/assemblyai-client";
import { mapWithConcurrency } from "../../../functions/shared/concurrency";
import {
  buildQuarantineMessage,
  type RedactedAudioDelivery,
  type TranscriptDelivery,
} from "../../../functions/shared/contract/delivery";
import { parseDeliveryMessage } from "../../../functions/shared/contract/delivery-schema";
import {
  fileNameFromUrl,
  redactedAudioKey,
  unknownArchiveKey,
} from "../../../functions/shared/contract/s3-keys";
import { classifyDownloadStatus, classifyFetch } from "../../../functions/worker/answers";
import {
  BACKOFF_CAP_SECONDS,
  backoffSeconds,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
  parseRetryAfter,
  receiveCount,
} from "../../../functions/worker/backoff";
import {
  clearsRedactedAudio,
  readStoredTranscript,
  redactedAudioTranscriptId,
} from "../../../functions/worker/records";
import { recordEvent } from "../../../functions/worker/report";
import {
  buildFetchFailedUpdate,
  buildRedactedAudioErrorUpdate,
  buildRedactedAudioUpdate,
  buildTranscriptUpdate,
  placeText,
  REDACTED_AUDIO_ATTRIBUTES,
  TRANSCRIPT_ATTRIBUTES,
} from "../../../functions/worker/updates";
import { completedTranscript, fixture, TRANSCRIPT_ID, transcriptMessage } from "./support";

const delivery = fixture<TranscriptDelivery>("transcript-delivery.json");
const audioDelivery = fixture<RedactedAudioDelivery>("redacted-audio-delivery.json");
const NOW = Date.parse("2025-11-27T06:00:00.000Z");
const quarantined = buildQuarantineMessage({
  receivedAt: new Date(NOW),
  sourceIp: "44.238.19.20",
  requestId: "r-1",
  reason: "invalid_json",
  reasonMessage: "the body is not valid JSON",
  rawQuery: "",
  headers: {},
  body: "{",
  bodyEncoding: "utf8",
});

describe("parseDeliveryMessage", () => {
  it("accepts the fixture message and keeps every field", () => {
    expect(parseDeliveryMessage(JSON.stringify(delivery))).toEqual({ ok: true, message: delivery });
  });

  it("normalises received_at so stored instants compare as strings", () => {
    const result = parseDeliveryMessage(
      JSON.stringify(transcriptMessage({ received_at: "2025-11-27T07:00:00+01:00" })),
    );

    expect(result.ok && result.message.received_at).toBe("2025-11-27T06:00:00.000Z");
  });

  it.each([
    ["a JSON array", "[]"],
    ["another version", JSON.stringify(transcriptMessage({ version: 2 }))],
    ["an unknown source", JSON.stringify(transcriptMessage({ source: "email" }))],
    ["a transcript id with a slash", JSON.stringify(transcriptMessage({ transcript_id: "a/b" }))],
    ["a status of queued", JSON.stringify(transcriptMessage({ status: "queued" }))],
    ["no kind", JSON.stringify(transcriptMessage({ kind: undefined }))],
    ["an unparseable received_at", JSON.stringify(transcriptMessage({ received_at: "yesterday" }))],
    [
      "a non-string param",
      JSON.stringify(transcriptMessage({ metadata: { ...delivery.metadata, params: { a: 1 } } })),
    ],
    [
      "an empty order id",
      JSON.stringify(transcriptMessage({ metadata: { ...delivery.metadata, order_id: "" } })),
    ],
    [
      "a customer id over DynamoDB's 2,048-byte key limit",
      JSON.stringify(
        transcriptMessage({ metadata: { ...delivery.metadata, customer_id: "c".repeat(2049) } }),
      ),
    ],
    ["a quarantine message without its body", JSON.stringify({ ...quarantined, body: undefined })],
    ["a quarantine message with an unknown reason", JSON.stringify({ ...quarantined, reason: "because" })],
    ["a request id with a newline", JSON.stringify(transcriptMessage({ request_id: "a\nb" }))],
    ["no payload", JSON.stringify(transcriptMessage({ payload: undefined }))],
    [
      "an ftp redacted audio URL",
      JSON.stringify({ ...audioDelivery, redacted_audio_url: "ftp://example.com/a.wav" }),
    ],
  ])("rejects %s with a reason", (_name, body) => {
    const result = parseDeliveryMessage(body);

    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toEqual(expect.any(String));
  });

  it.each(["__proto__", "constructor", "toString"])("keeps a query parameter named %s as data", (name) => {
    // Written as JSON text: JSON.parse defines "__proto__" as an own property, as the receiver's body would.
    const body = JSON.stringify(delivery).replace('"params":{', `"params":{${JSON.stringify(name)}:"kept",`);

    const result = parseDeliveryMessage(body);

    expect(result.ok).toBe(true);
    const params = result.ok && result.message.kind !== "quarantine" ? result.message.metadata.params : {};
    expect(Object.hasOwn(params, name)).toBe(true);
    expect(Object.getOwnPropertyDescriptor(params, name)?.value).toBe("kept");
    expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(params))).toEqual(JSON.parse(body).metadata.params);
  });

  it("never throws, whatever the body", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((value) => JSON.stringify(value)),
        ),
        (body) => {
          const result = parseDeliveryMessage(body);
          expect(typeof result.ok).toBe("boolean");
        },
      ),
    );
  });

  it("never throws on a valid message with any one field replaced by any JSON value", () => {
    const fields = Object.keys(delivery);
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.jsonValue(), (field, value) => {
        const result = parseDeliveryMessage(JSON.stringify({ ...delivery, [field]: value }));
        if (result.ok && result.message.kind === "transcript") {
          expect(result.message.transcript_id).toMatch(/^[A-Za-z0-9-]+$/);
          expect(result.message.metadata.customer_id.length).toBeGreaterThan(0);
          expect(Buffer.byteLength(result.message.metadata.customer_id)).toBeLessThanOrEqual(2048);
        }
      }),
    );
  });
});

describe("receiveCount", () => {
  it.each([
    ["3", 3],
    [undefined, 1],
    ["0", 1],
    ["x", 1],
  ])("reads %p as %p", (attribute, expected) => {
    expect(receiveCount(attribute)).toBe(expected);
  });
});

describe("backoff", () => {
  const BASE = 30;

  it("doubles from the base per attempt, plus jitter of 1 s up to a quarter", () => {
    expect(backoffSeconds(1, undefined, 0, BASE)).toBe(31);
    expect(backoffSeconds(1, undefined, 1, BASE)).toBe(38); // 30 + ceil(7.5)
    expect(backoffSeconds(4, undefined, 0, BASE)).toBe(241);
    expect(backoffSeconds(4, undefined, 1, BASE)).toBe(300);
    expect(backoffSeconds(4, undefined, 0.5, 5)).toBe(45); // 40 + 5
  });

  it("defaults to a 30 s base", () => {
    expect(backoffSeconds(1, undefined, 0)).toBe(31);
  });

  it("caps the exponential part at an hour however many attempts", () => {
    expect(BACKOFF_CAP_SECONDS).toBe(3600);
    expect(backoffSeconds(50, undefined, 0, BASE)).toBe(3601);
    expect(backoffSeconds(50, undefined, 1, BASE)).toBe(4500);
    expect(backoffSeconds(8, undefined, 0, 900)).toBe(3601);
  });

  it("waits at least Retry-After, and at least the backoff, always with jitter", () => {
    expect(backoffSeconds(1, 120, 0, BASE)).toBe(121);
    expect(backoffSeconds(1, 120, 0.5, BASE)).toBe(135);
    // Retry-After: 0 (or shorter than the backoff) does not mean "at once".
    expect(backoffSeconds(1, 0, 0, BASE)).toBe(31);
    expect(backoffSeconds(3, 10, 0, BASE)).toBe(121);
    // A Retry-After beyond the hour cap is honoured, within SQS's 12 hour limit.
    expect(backoffSeconds(1, 7200, 0, BASE)).toBe(7201);
    expect(backoffSeconds(1, 10 ** 9, 0.5, BASE)).toBe(MAX_VISIBILITY_TIMEOUT_SECONDS);
  });

  it("is always a whole number of seconds SQS accepts, never 0, never below the backoff or Retry-After", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 10_000 }),
        fc.option(fc.double({ min: 0, max: 1e12, noNaN: true }), { nil: undefined }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 900 }),
        (attempt, retryAfter, random, base) => {
          const seconds = backoffSeconds(attempt, retryAfter, random, base);
          expect(Number.isInteger(seconds)).toBe(true);
          expect(seconds).toBeGreaterThanOrEqual(1);
          expect(seconds).toBeLessThanOrEqual(MAX_VISIBILITY_TIMEOUT_SECONDS);
          const floor = Math.max(retryAfter ?? 0, Math.min(BACKOFF_CAP_SECONDS, base));
          expect(seconds).toBeGreaterThan(Math.min(floor, MAX_VISIBILITY_TIMEOUT_SECONDS - 1));
        },
      ),
    );
  });

  it.each([
    ["120", 120],
    [" 7 ", 7],
    ["Thu, 27 Nov 2025 06:01:30 GMT", 90],
    ["Thu, 27 Nov 2025 05:00:00 GMT", 0],
    ["soon", undefined],
    [null, undefined],
  ])("reads Retry-After %p as %p seconds", (header, expected) => {
    expect(parseRetryAfter(header, NOW)).toBe(expected);
  });
});

describe("classifyFetch", () => {
  const transcript = (overrides: Record<string, unknown> = {}): FetchResult => ({
    type: "transcript",
    status: 200,
    retryAfter: null,
    transcript: completedTranscript(overrides) as never,
    body: new Uint8Array(),
  });
  const httpError = (status: number, retryAfter: string | null = null): FetchResult => ({
    type: "http_error",
    status,
    retryAfter,
    message: "nope",
  });

  it.each([429, 500, 502, 503, 504, 408])("retries HTTP %i", (status) => {
    expect(classifyFetch(httpError(status), TRANSCRIPT_ID, NOW)).toEqual({
      action: "transient",
      reason: `AssemblyAI answered HTTP ${status}: nope`,
    });
  });

  it.each([400, 401, 403, 404, 410, 422])("gives up on HTTP %i, saying which", (status) => {
    expect(classifyFetch(httpError(status), TRANSCRIPT_ID, NOW)).toEqual({
      action: "final",
      reason: `AssemblyAI answered HTTP ${status}: nope`,
      status,
    });
  });

  it("carries Retry-After", () => {
    expect(classifyFetch(httpError(429, "30"), TRANSCRIPT_ID, NOW)).toMatchObject({ retryAfterSeconds: 30 });
  });

  it("retries network errors, timeouts and unreadable bodies", () => {
    for (const result of [
      { type: "network_error", timedOut: true, reason: "TimeoutError" },
      { type: "network_error", timedOut: false, reason: "ECONNRESET" },
      { type: "invalid_body", status: 200, reason: "a body that is not JSON" },
    ] as const) {
      expect(classifyFetch(result, TRANSCRIPT_ID, NOW).action).toBe("transient");
    }
  });

  it.each(["queued", "processing"])("retries a transcript still %s", (status) => {
    expect(classifyFetch(transcript({ status }), TRANSCRIPT_ID, NOW)).toEqual({
      action: "transient",
      reason: `transcript is still ${status} at AssemblyAI`,
    });
  });

  it("recognises a deleted transcript", () => {
    expect(classifyFetch(transcript({ text: "Deleted by user." }), TRANSCRIPT_ID, NOW)).toEqual({
      action: "deleted",
    });
  });

  it("stores completed and error transcripts", () => {
    expect(classifyFetch(transcript(), TRANSCRIPT_ID, NOW)).toMatchObject({
      action: "store",
      status: "completed",
    });
    expect(classifyFetch(transcript({ status: "error" }), TRANSCRIPT_ID, NOW)).toMatchObject({
      status: "error",
    });
  });

  it("does not store an answer for another transcript", () => {
    expect(classifyFetch(transcript({ id: "other" }), TRANSCRIPT_ID, NOW).action).toBe("transient");
  });
});

describe("decisions on the stored item", () => {
  it("reads AssemblyAI's times kept on the record", () => {
    expect(
      readStoredTranscript({
        transcript_id: "t",
        status: "completed",
        transcript_created: "2025-11-27T05:00:00.000001Z",
      }).times,
    ).toEqual({ created: "2025-11-27T05:00:00.000001Z", completed: undefined });
    expect(readStoredTranscript({ transcript_id: "t" }).times).toBeUndefined();
  });

  it.each([
    ["nothing stored", undefined, undefined, false],
    ["the same transcript", TRANSCRIPT_ID, undefined, false],
    ["another transcript, audio of unknown transcript", "other", undefined, true],
    ["another transcript, audio of that transcript", "other", "other", true],
    ["another transcript, audio of the new transcript", "other", TRANSCRIPT_ID, false],
  ])("a transcript write with %s drops the redacted audio: %p", (_name, transcriptId, audioOf, expected) => {
    const item = readStoredTranscript({
      ...(transcriptId === undefined ? {} : { transcript_id: transcriptId }),
      ...(audioOf === undefined ? {} : { redacted_audio_transcript_id: audioOf }),
      redacted_audio_s3_key: "k",
    });

    expect(clearsRedactedAudio(item, TRANSCRIPT_ID)).toBe(expected);
  });
});

describe("redactedAudioTranscriptId", () => {
  const audio = (url: string, payload: Record<string, unknown> = {}) => ({
    redacted_audio_url: url,
    payload: { redacted_audio_url: url, status: "redacted_audio_ready", ...payload },
  });

  it("reads the transcript id from the URL's file name", () => {
    expect(redactedAudioTranscriptId(audioDelivery)).toBe(TRANSCRIPT_ID);
  });

  it("prefers a valid transcript_id in the webhook body", () => {
    expect(
      redactedAudioTranscriptId(audio(audioDelivery.redacted_audio_url, { transcript_id: "abc-1" })),
    ).toBe("abc-1");
  });

  it.each([
    ["an invalid body id", "https://h/a/abc-2.wav", { transcript_id: "a/b" }, "abc-2"],
    ["a non-string body id", "https://h/a/abc-2.mp3", { transcript_id: 7 }, "abc-2"],
    ["a file name without extension", "https://h/a/abc-3", {}, "abc-3"],
    ["an encoded file name", "https://h/a/abc%2D4.wav?sig=x", {}, "abc-4"],
    ["a file name without a dash", "https://h/a/redacted.wav", {}, undefined],
    ["a file name with other characters", "https://h/a/abc_5-x.wav", {}, undefined],
    ["no file name", "https://h/", {}, undefined],
    ["a malformed escape", "https://h/a/%E0%A4%A.wav", {}, undefined],
  ])("with %s: %p", (_name, url, payload, expected) => {
    expect(redactedAudioTranscriptId(audio(url, payload))).toBe(expected);
  });
});

describe("S3 keys", () => {
  it("names the redacted audio after the URL's file", () => {
    expect(redactedAudioKey(audioDelivery)).toBe(
      "redacted-audio/cust-1234/order-5678/5552493-16d8-42d8-8feb-c2a16b56f6e8.wav",
    );
  });

  it.each([
    ["https://h/a/b%20c.mp3?x=1", "b_c.mp3"],
    ["https://h/", undefined],
    ["https://h/..", undefined],
    ["https://h/a/%2F..%2Fetc", "_.._etc"],
  ])("takes the file name of %s as %p", (url, expected) => {
    expect(fileNameFromUrl(url)).toBe(expected);
  });

  it("keeps unknown archives under the customer and order, with a safe request id", () => {
    expect(unknownArchiveKey("c", "o", "2025-11-27T06:00:00.000Z", "a/b=")).toBe(
      "unknown/c/o/2025-11-27T06:00:00.000Z-a_b=.json",
    );
  });
});

describe("text placement", () => {
  it("inlines text up to the limit in UTF-8 bytes, not characters", () => {
    expect(placeText("ü".repeat(5), 10, "k")).toEqual({ kind: "inline", text: "ü".repeat(5) });
    expect(placeText("ü".repeat(6), 10, "k")).toEqual({ kind: "s3", key: "k" });
    expect(placeText(null, 10, "k")).toEqual({ kind: "none" });
  });
});

describe("updates", () => {
  const storedAt = "2025-11-27T06:00:01.000Z";
  const transcriptUpdate = buildTranscriptUpdate({
    delivery,
    storedAt,
    stored: readStoredTranscript(undefined),
    transcript: completedTranscript() as never,
    status: "completed",
    transcriptS3Key: "transcripts/x.json.gz",
    text: { kind: "s3", key: "transcripts/x.txt" },
  });

  it("sets the transcript's fields and removes the ones that no longer apply", () => {
    expect(transcriptUpdate.updateExpression).toBe(
      "SET #transcript_id = :transcript_id, #metadata = :metadata, #received_at = :received_at, " +
        "#stored_at = :stored_at, #source = :source, #request_id = :request_id, #status = :status, " +
        "#transcript_s3_key = :transcript_s3_key, #audio_duration = :audio_duration, " +
        "#language_code = :language_code, #confidence = :confidence, #text_s3_key = :text_s3_key " +
        "REMOVE #transcript_created, #transcript_completed, #error, #text, " +
        // A stored result ends a fetch_failed's wait for the reconciler.
        "#fetch_retry_state, #fetch_retry_since, #fetch_retry_status, #fetch_retry_key, #fetch_retry_region, " +
        // A transcript decided by AssemblyAI's times (or alone) has nothing left to decide.
        "#undecided_transcript_id",
    );
    expect(transcriptUpdate.key).toEqual({ customer_id: "cust-1234", order_id: "order-5678" });
  });

  it("guards the write with the item as it was read when the write was decided", () => {
    // Never over an erased order's tombstone, which holds no transcript either.
    expect(transcriptUpdate.conditionExpression).toBe(
      "attribute_not_exists(#transcript_id) AND attribute_not_exists(#erased_at)",
    );
    const over = buildFetchFailedUpdate({
      delivery,
      storedAt,
      stored: readStoredTranscript({ transcript_id: "other", status: "fetch_failed" }),
      error: "e",
    });
    expect(over.conditionExpression).toBe(
      "#transcript_id = :held_transcript_id AND #status = :held_status AND attribute_not_exists(#erased_at)",
    );
    expect(over.values).toMatchObject({
      ":held_transcript_id": "other",
      ":held_status": "fetch_failed",
      ":status": "fetch_failed",
      ":error": "e",
    });
  });

  it("marks a fetch_failed a new key or a later read may fix as waiting, and ends the wait on any other", () => {
    const stored = readStoredTranscript(undefined);
    const waiting = buildFetchFailedUpdate({
      delivery,
      storedAt,
      stored,
      error: "HTTP 403",
      retry: { status: 403, keyFingerprint: "0123456789abcdef", region: "eu" },
    });
    const final = buildFetchFailedUpdate({
      delivery,
      storedAt,
      stored,
      error: "HTTP 400",
      retry: { status: 400, keyFingerprint: "0123456789abcdef" },
    });

    expect(waiting.values).toMatchObject({
      ":fetch_retry_state": "waiting",
      ":fetch_retry_since": storedAt,
      ":fetch_retry_status": 403,
      ":fetch_retry_key": "0123456789abcdef",
      // Only the region that answered retries it (functions/reconciler/reconciler.ts).
      ":fetch_retry_region": "eu",
    });
    expect(waiting.updateExpression).not.toMatch(/REMOVE.*#fetch_retry/);
    expect(final.values).not.toHaveProperty(":fetch_retry_state");
    expect(final.updateExpression).toMatch(/REMOVE .*#fetch_retry_state, #fetch_retry_since/);
  });

  it("keeps AssemblyAI's times of the transcript it writes, and drops a replaced one's", () => {
    const times = { created: "2025-11-27T05:00:00.000001Z", completed: "2025-11-27T05:01:00.000001Z" };
    const update = buildFetchFailedUpdate({
      delivery,
      storedAt,
      stored: readStoredTranscript(undefined),
      times,
      error: "e",
    });
    expect(update.values).toMatchObject({
      ":transcript_created": times.created,
      ":transcript_completed": times.completed,
    });
    expect(transcriptUpdate.updateExpression).toContain("REMOVE #transcript_created, #transcript_completed");
  });

  /** The attributes an update sets or removes (not those its condition only reads). */
  const written = (update: { updateExpression: string; names: Readonly<Record<string, string>> }) => {
    const [set = "", remove] = update.updateExpression.replace(/^SET /, "").split(" REMOVE ");
    const targets = [...set.matchAll(/(#\w+) = /g)].map((match) => match[1] as string);
    return [...targets, ...(remove?.split(", ") ?? [])].map((token) => update.names[token]);
  };

  it("keeps transcript and redacted-audio writes on disjoint attributes (metadata only if absent)", () => {
    const audio = [
      buildRedactedAudioUpdate(audioDelivery, "k", storedAt, TRANSCRIPT_ID),
      buildRedactedAudioUpdate(audioDelivery, "k", storedAt, undefined),
      buildRedactedAudioErrorUpdate(audioDelivery, "HTTP 410", TRANSCRIPT_ID),
      buildRedactedAudioErrorUpdate(audioDelivery, "HTTP 410", undefined),
    ];
    const transcriptWrites = [
      transcriptUpdate,
      buildFetchFailedUpdate({ delivery, storedAt, stored: readStoredTranscript(undefined), error: "e" }),
    ];
    for (const update of audio) {
      expect(
        written(update).filter((name) =>
          (TRANSCRIPT_ATTRIBUTES as readonly string[]).includes(name as never),
        ),
      ).toEqual(["metadata"]);
      expect(update.updateExpression).toContain("#metadata = if_not_exists(#metadata, :metadata)");
    }
    for (const update of transcriptWrites) {
      const touched = Object.values(update.names);
      expect(
        touched.filter((name) => (REDACTED_AUDIO_ATTRIBUTES as readonly string[]).includes(name)),
      ).toEqual([]);
    }
  });

  it("writes redacted audio of a known transcript only while the item holds no other transcript", () => {
    const update = buildRedactedAudioUpdate(audioDelivery, "k", storedAt, TRANSCRIPT_ID);

    expect(update.updateExpression).toBe(
      "SET #redacted_audio_s3_key = :redacted_audio_s3_key, #redacted_audio_stored_at = :redacted_audio_stored_at, " +
        "#redacted_audio_transcript_id = :redacted_audio_transcript_id, " +
        "#metadata = if_not_exists(#metadata, :metadata) REMOVE #redacted_audio_error",
    );
    expect(update.conditionExpression).toBe(
      "(attribute_not_exists(#transcript_id) OR #transcript_id = :redacted_audio_transcript_id) AND " +
        "attribute_not_exists(#erased_at)",
    );
    expect(update.values).toMatchObject({ ":redacted_audio_transcript_id": TRANSCRIPT_ID });
  });

  it("writes redacted audio of an unknown transcript unless the order was erased, clearing any transcript it named", () => {
    const update = buildRedactedAudioUpdate(audioDelivery, "k", storedAt, undefined);

    expect(update.conditionExpression).toBe("attribute_not_exists(#erased_at)");
    expect(update.updateExpression).toContain("REMOVE #redacted_audio_error, #redacted_audio_transcript_id");
  });

  it("records a redacted-audio error only without a stored file (and, when known, another transcript)", () => {
    expect(buildRedactedAudioErrorUpdate(audioDelivery, "e", TRANSCRIPT_ID).conditionExpression).toBe(
      "attribute_not_exists(#redacted_audio_s3_key) AND " +
        "(attribute_not_exists(#transcript_id) OR #transcript_id = :redacted_audio_transcript_id) AND " +
        "attribute_not_exists(#erased_at)",
    );
    expect(buildRedactedAudioErrorUpdate(audioDelivery, "e", undefined).conditionExpression).toBe(
      "attribute_not_exists(#redacted_audio_s3_key) AND attribute_not_exists(#erased_at)",
    );
  });

  it.each([
    [
      "the transcript",
      (stored: ReturnType<typeof readStoredTranscript>) =>
        buildTranscriptUpdate({
          delivery,
          storedAt,
          stored,
          transcript: completedTranscript() as never,
          status: "completed",
          transcriptS3Key: "transcripts/x.json.gz",
          text: { kind: "inline", text: "t" },
        }),
    ],
    [
      "the fetch_failed",
      (stored: ReturnType<typeof readStoredTranscript>) =>
        buildFetchFailedUpdate({ delivery, storedAt, stored, error: "e" }),
    ],
  ])("%s write replacing another transcript removes its redacted audio", (_name, build) => {
    const removeAudio =
      "#redacted_audio_s3_key, #redacted_audio_stored_at, #redacted_audio_error, #redacted_audio_transcript_id";
    const other = readStoredTranscript({ transcript_id: "other", redacted_audio_s3_key: "k" });
    const audioOfNew = readStoredTranscript({
      transcript_id: "other",
      redacted_audio_transcript_id: TRANSCRIPT_ID,
    });
    const same = readStoredTranscript({ transcript_id: TRANSCRIPT_ID, status: "fetch_failed" });

    expect(build(other).updateExpression).toContain(removeAudio);
    expect(build(audioOfNew).updateExpression).not.toContain("redacted_audio");
    expect(build(same).updateExpression).not.toContain("redacted_audio");
    expect(build(readStoredTranscript(undefined)).updateExpression).not.toContain("redacted_audio");
  });
});

describe("classifyDownloadStatus", () => {
  it.each([
    [200, "ok"],
    [403, "final"],
    [404, "final"],
    [410, "final"],
    [429, "transient"],
    [500, "transient"],
    [503, "transient"],
  ])("HTTP %i is %s", (status, expected) => {
    expect(classifyDownloadStatus(status)).toBe(expected);
  });
});

describe("recordEvent", () => {
  const base = { kind: "transcript", messageId: "m", attempt: 1, transcriptId: TRANSCRIPT_ID };

  it("adds the latency metric only when stored", () => {
    const stored = recordEvent({
      ...base,
      outcome: "stored",
      receivedAt: "2025-11-27T06:00:00.000Z",
      storedAt: "2025-11-27T06:00:02.500Z",
    });

    expect(stored.metrics).toEqual({
      Records: { value: 1, unit: "Count" },
      DeliveryToStoredLatency: { value: 2500, unit: "Milliseconds" },
    });
    expect(stored.dimensions).toEqual({ Outcome: "stored" });
    expect(recordEvent({ ...base, outcome: "duplicate" }).metrics).toEqual({
      Records: { value: 1, unit: "Count" },
    });
  });

  it("keeps recovered records (reconciler, replay) out of the pipeline's latency metric, but logs it", () => {
    const recovered = recordEvent({
      ...base,
      outcome: "stored",
      source: "reconciler",
      receivedAt: "2025-11-27T05:00:00.000Z",
      storedAt: "2025-11-27T06:00:00.000Z",
    });

    expect(recovered.metrics).toEqual({ Records: { value: 1, unit: "Count" } });
    expect(recovered.fields).toMatchObject({ latency_ms: 3_600_000, source: "reconciler" });
  });
});

describe("mapWithConcurrency", () => {
  it("keeps the order and never runs more than the limit at once", async () => {
    let running = 0;
    let peak = 0;
    const results = await mapWithConcurrency([5, 1, 4, 2, 3, 0], 2, async (value) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, value));
      running--;
      return value * 10;
    });

    expect(results).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });
});
