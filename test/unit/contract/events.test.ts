/**
 * The events a subscriber gets (functions/shared/contract/events.ts), from records as the worker really
 * writes them: a record's image is the previous one with one of the worker's own UpdateItem requests
 * applied (tombstones are cli/erase.ts's item), and every event built is checked against its schema in
 * docs/events (test/support/event-schemas.ts, which integration tests use too).
 */
import { readdirSync } from "node:fs";
import type { Transcript } from "assemblyai";
import fc from "fast-check";
import {
  buildDeliveryMessage,
  DELIVERY_SOURCES,
  type DeliveryMetadata,
  type DeliverySource,
  parseMetadata,
  type RedactedAudioDelivery,
} from "../../../functions/shared/contract/delivery";
import {
  type ChangeEvent,
  DETAIL_SCHEMA_FILES,
  DETAIL_TYPES,
  EVENT_SCHEMA_VERSION,
  eventsForChange,
  METADATA_MAX_BYTES,
  REASON_MAX_CHARS,
} from "../../../functions/shared/contract/events";
import {
  ERASED_ATTRIBUTE,
  FETCH_RETRY_ATTRIBUTES,
  RECORD_EXPIRY_ATTRIBUTE,
} from "../../../functions/shared/contract/resources";
import {
  redactedAudioKey,
  transcriptJsonKey,
  transcriptTextKey,
} from "../../../functions/shared/contract/s3-keys";
import {
  buildDeletedUpdate,
  buildDeleteFailedUpdate,
  withExpiry,
  withoutDeleteState,
} from "../../../functions/worker/lifecycle";
import { readStoredTranscript } from "../../../functions/worker/records";
import {
  buildFetchFailedUpdate,
  buildRedactedAudioUpdate,
  buildSessionUpdate,
  buildTimesUpdate,
  buildTranscriptUpdate,
  buildUndecidedUpdate,
  type FetchRetry,
  type ItemUpdate,
  itemKey,
  placeText,
  type RecordSource,
} from "../../../functions/worker/updates";
import {
  EVENT_SCHEMA_DIRECTORY,
  EVENT_SCHEMA_FILES,
  eventSchemaAjv,
  readEventSchema,
  validateEnvelope,
  validateEventDetail,
} from "../../support/event-schemas";

type Image = Record<string, unknown>;

const BUCKET = "aai-webhooks-transcripts-123456789012";
const STORED_AT = "2025-11-27T09:00:00.000Z";
const LATER = "2025-11-27T10:00:00.000Z";
/** The worker's inline-text limit is configurable; small here so that a test can put text either way. */
const MAX_INLINE_TEXT_BYTES = 64;

/**
 * A worker UpdateItem applied to an item, as DynamoDB would (its condition is the worker's business: every
 * write here is one the worker makes on the item given). The expressions are the worker's own grammar:
 * `SET #a = :a, #b = if_not_exists(#b, :b) REMOVE #c, #d`.
 */
function applyUpdate(item: Image | undefined, update: ItemUpdate): Image {
  const next: Image = { ...item, ...update.key };
  const [set = "", remove = ""] = update.updateExpression.replace(/^SET /, "").split(" REMOVE ");
  const nameOf = (alias: string) => update.names[alias] ?? alias.slice(1);
  for (const [, alias = "", ifAbsent, plain] of set.matchAll(
    /(#\w+) = (?:if_not_exists\(#\w+, (:\w+)\)|(:\w+))/g,
  )) {
    const name = nameOf(alias);
    if (ifAbsent !== undefined) next[name] = next[name] ?? update.values[ifAbsent];
    else next[name] = update.values[plain ?? ""];
  }
  for (const [alias] of remove.matchAll(/#\w+/g)) delete next[nameOf(alias)];
  return next;
}

function metadataOf(query: string): DeliveryMetadata {
  const parsed = parseMetadata(query);
  if (!parsed.ok) throw new Error(parsed.problem.message);
  return parsed.value;
}

const ACME = metadataOf("customer_id=acme&order_id=order-1&campaign=spring&tag=a&tag=b");

function source(transcriptId: string, metadata = ACME, from: DeliverySource = "webhook"): RecordSource {
  return { transcript_id: transcriptId, metadata, received_at: STORED_AT, source: from, request_id: "req-1" };
}

interface TranscriptWrite {
  readonly metadata?: DeliveryMetadata;
  readonly storedAt?: string;
  readonly text?: string;
  readonly from?: DeliverySource;
}

/** The record after the worker stores a transcript AssemblyAI answered `completed` (or `error`). */
function storeTranscript(
  before: Image | undefined,
  transcriptId: string,
  transcript: Partial<Transcript> & { readonly status: "completed" | "error" },
  write: TranscriptWrite = {},
): Image {
  const metadata = write.metadata ?? ACME;
  const { customer_id: customerId, order_id: orderId } = metadata;
  const update = buildTranscriptUpdate({
    delivery: source(transcriptId, metadata, write.from),
    storedAt: write.storedAt ?? STORED_AT,
    stored: readStoredTranscript(before),
    transcript: transcript as Transcript,
    status: transcript.status,
    transcriptS3Key: transcriptJsonKey(customerId, orderId, transcriptId),
    text: placeText(
      write.text ?? transcript.text,
      MAX_INLINE_TEXT_BYTES,
      transcriptTextKey(customerId, orderId, transcriptId),
    ),
  });
  return applyUpdate(before, withoutDeleteState(update));
}

const completed = (before: Image | undefined, transcriptId: string, write: TranscriptWrite = {}) =>
  storeTranscript(
    before,
    transcriptId,
    { status: "completed", audio_duration: 61.5, language_code: "en_us", confidence: 0.93, text: "hello" },
    write,
  );

function fetchFailed(
  before: Image | undefined,
  transcriptId: string,
  error: string,
  retry?: FetchRetry,
  storedAt = STORED_AT,
  metadata = ACME,
): Image {
  const update = buildFetchFailedUpdate({
    delivery: source(transcriptId, metadata, "reconciler"),
    storedAt,
    stored: readStoredTranscript(before),
    error,
    retry,
  });
  return applyUpdate(before, update);
}

function storeSession(before: Image | undefined, sessionId: string, text: string): Image {
  const update = buildSessionUpdate({
    delivery: source(sessionId),
    storedAt: STORED_AT,
    stored: readStoredTranscript(before),
    session: { text, turns: 2, wordCount: 7, durationMs: 4_250 },
    transcriptS3Key: transcriptJsonKey(ACME.customer_id, ACME.order_id, sessionId),
    text: placeText(
      text,
      MAX_INLINE_TEXT_BYTES,
      transcriptTextKey(ACME.customer_id, ACME.order_id, sessionId),
    ),
  });
  return applyUpdate(before, update);
}

function redactedAudioDelivery(transcriptId: string, metadata = ACME): RedactedAudioDelivery {
  return buildDeliveryMessage({
    kind: "redacted_audio",
    source: "webhook",
    metadata,
    receivedAt: new Date(STORED_AT),
    sourceIp: "192.0.2.1",
    requestId: "req-audio",
    payload: { transcript_id: transcriptId, status: "redacted_audio_ready" },
    redactedAudioUrl: `https://cdn.example.com/redacted/${transcriptId}.mp3`,
  }) as RedactedAudioDelivery;
}

/** The record after the worker stores a redacted audio file of `transcriptId`. */
function storeRedactedAudio(
  before: Image | undefined,
  transcriptId: string,
  storedAt = LATER,
  metadata = ACME,
): Image {
  const delivery = redactedAudioDelivery(transcriptId, metadata);
  const update = buildRedactedAudioUpdate(delivery, redactedAudioKey(delivery), storedAt, transcriptId);
  return applyUpdate(before, update);
}

/** The events of one write, each checked against its detail type's schema. */
function publish(before: Image | undefined, after: Image | undefined): ChangeEvent[] {
  const events = eventsForChange(before, after, BUCKET);
  for (const event of events) validateEventDetail(event.detailType, event.detail);
  return events;
}

const onlyEvent = (events: ChangeEvent[]): ChangeEvent => {
  expect(events).toHaveLength(1);
  return events[0] as ChangeEvent;
};

const TRANSCRIPT_ID = "5551722-f677-48a4-a2ef-0a6de4fa1e62";
const NEWER_TRANSCRIPT_ID = "6ab3c91e-0d2f-4c7b-9e55-2f0d8a7c1b34";
const ID = /^[0-9a-f]{32}$/;

describe("eventsForChange: Transcript Stored", () => {
  it("announces a new completed record once, with where it is stored and the URL's other parameters", () => {
    const after = completed(undefined, TRANSCRIPT_ID, { text: "x".repeat(MAX_INLINE_TEXT_BYTES + 1) });

    const event = onlyEvent(publish(undefined, after));

    expect(event.detailType).toBe("Transcript Stored");
    expect(event.detail).toEqual({
      schema_version: 1,
      id: expect.stringMatching(ID),
      customer_id: "acme",
      order_id: "order-1",
      transcript_id: TRANSCRIPT_ID,
      status: "completed",
      kind: "transcript",
      source: "webhook",
      stored_at: STORED_AT,
      bucket: BUCKET,
      transcript_s3_key: `transcripts/acme/order-1/${TRANSCRIPT_ID}.json.gz`,
      text_s3_key: `transcripts/acme/order-1/${TRANSCRIPT_ID}.txt`,
      audio_duration: 61.5,
      language_code: "en_us",
      metadata: { campaign: "spring", tag: ["a", "b"] },
    });
  });

  it("announces nothing when the images are the same (a duplicate delivery's write that changed nothing)", () => {
    const after = completed(undefined, TRANSCRIPT_ID);

    expect(publish(after, after)).toEqual([]);
    expect(publish(after, { ...after })).toEqual([]);
  });

  it.each<[string, (record: Image) => ItemUpdate | undefined]>([
    ["the deletion at AssemblyAI", () => buildDeletedUpdate(itemKey(ACME), TRANSCRIPT_ID, LATER)],
    [
      "a failed deletion at AssemblyAI, given up",
      (record) => buildDeleteFailedUpdate(itemKey(ACME), String(record.transcript_id), "HTTP 500", 6, true),
    ],
    ["the transcript it won against", () => buildUndecidedUpdate(ACME, TRANSCRIPT_ID, NEWER_TRANSCRIPT_ID)],
    [
      "AssemblyAI's times",
      () => buildTimesUpdate(ACME, TRANSCRIPT_ID, { created: "2025-11-27T08:00:00.000000Z" }),
    ],
  ])("announces nothing for a note of %s while the transcript and status stay", (_note, note) => {
    const before = completed(undefined, TRANSCRIPT_ID);
    const update = note(before);
    if (update === undefined) throw new Error("no note to write");
    const after = applyUpdate(before, withExpiry(update, 1_767_000_000));

    expect(after).not.toEqual(before);
    expect(publish(before, after)).toEqual([]);
  });

  it("announces nothing when a waiting fetch_failed is written again with new retry notes", () => {
    const before = fetchFailed(undefined, TRANSCRIPT_ID, "HTTP 401", { status: 401, keyFingerprint: "k1" });
    const after = fetchFailed(
      before,
      TRANSCRIPT_ID,
      "HTTP 403",
      { status: 403, keyFingerprint: "k2" },
      LATER,
    );

    expect(after[FETCH_RETRY_ATTRIBUTES.since]).toBe(LATER);
    expect(publish(before, after)).toEqual([]);
  });

  it("announces a newer transcript for the same order as a new event with its own id", () => {
    const first = completed(undefined, TRANSCRIPT_ID);
    const second = completed(first, NEWER_TRANSCRIPT_ID, { storedAt: LATER, from: "replay" });

    const [older] = publish(undefined, first);
    const newer = onlyEvent(publish(first, second));

    expect(newer.detailType).toBe("Transcript Stored");
    expect(newer.detail).toMatchObject({
      transcript_id: NEWER_TRANSCRIPT_ID,
      stored_at: LATER,
      source: "replay",
    });
    expect(newer.detail.id).not.toBe(older?.detail.id);
  });

  it("announces a streaming session's record with its length and word count, as kind streaming_session", () => {
    const after = storeSession(undefined, "sess-0f9c2a", "short session");

    const event = onlyEvent(publish(undefined, after));

    expect(event.detailType).toBe("Transcript Stored");
    expect(event.detail).toEqual({
      schema_version: 1,
      id: expect.stringMatching(ID),
      customer_id: "acme",
      order_id: "order-1",
      transcript_id: "sess-0f9c2a",
      status: "completed",
      kind: "streaming_session",
      source: "webhook",
      stored_at: STORED_AT,
      bucket: BUCKET,
      transcript_s3_key: "transcripts/acme/order-1/sess-0f9c2a.json.gz",
      duration_ms: 4_250,
      word_count: 7,
      metadata: { campaign: "spring", tag: ["a", "b"] },
    });
  });
});

describe("eventsForChange: Transcript Failed", () => {
  it("announces AssemblyAI's error with its message as the reason", () => {
    const after = storeTranscript(undefined, TRANSCRIPT_ID, {
      status: "error",
      error: "Download error: the audio URL could not be reached",
    });

    const event = onlyEvent(publish(undefined, after));

    expect(event.detailType).toBe("Transcript Failed");
    expect(event.detail).toEqual({
      schema_version: 1,
      id: expect.stringMatching(ID),
      customer_id: "acme",
      order_id: "order-1",
      transcript_id: TRANSCRIPT_ID,
      status: "error",
      kind: "transcript",
      source: "webhook",
      stored_at: STORED_AT,
      bucket: BUCKET,
      transcript_s3_key: `transcripts/acme/order-1/${TRANSCRIPT_ID}.json.gz`,
      reason: "Download error: the audio URL could not be reached",
      metadata: { campaign: "spring", tag: ["a", "b"] },
    });
  });

  it("announces a fetch_failed the reconciler will retry with AssemblyAI's status", () => {
    const after = fetchFailed(undefined, TRANSCRIPT_ID, "AssemblyAI answered 401", {
      status: 401,
      keyFingerprint: "k1",
      region: "eu",
    });

    const event = onlyEvent(publish(undefined, after));

    expect(event.detailType).toBe("Transcript Failed");
    expect(event.detail).toEqual({
      schema_version: 1,
      id: expect.stringMatching(ID),
      customer_id: "acme",
      order_id: "order-1",
      transcript_id: TRANSCRIPT_ID,
      status: "fetch_failed",
      kind: "transcript",
      source: "reconciler",
      stored_at: STORED_AT,
      bucket: BUCKET,
      reason: "AssemblyAI answered 401",
      fetch_status: 401,
      retry_scheduled: true,
      metadata: { campaign: "spring", tag: ["a", "b"] },
    });
  });

  it("announces a fetch_failed that waits for nothing as retry_scheduled false, without a status", () => {
    const after = fetchFailed(undefined, TRANSCRIPT_ID, "AssemblyAI answered 400", {
      status: 400,
      keyFingerprint: "k1",
    });

    const event = onlyEvent(publish(undefined, after));

    expect(event.detail).toMatchObject({ status: "fetch_failed", retry_scheduled: false });
    expect(event.detail).not.toHaveProperty("fetch_status");
  });

  it("announces a result that replaces the same transcript's failure", () => {
    const failed = fetchFailed(undefined, TRANSCRIPT_ID, "AssemblyAI answered 404", {
      status: 404,
      keyFingerprint: "k1",
    });
    const stored = completed(failed, TRANSCRIPT_ID, { storedAt: LATER });

    const event = onlyEvent(publish(failed, stored));

    expect(event.detailType).toBe("Transcript Stored");
    expect(stored).not.toHaveProperty(FETCH_RETRY_ATTRIBUTES.state);
  });

  it(`cuts the reason to ${REASON_MAX_CHARS} characters`, () => {
    const error = `${"a".repeat(REASON_MAX_CHARS)}TAIL`;
    const after = storeTranscript(undefined, TRANSCRIPT_ID, { status: "error", error });

    const event = onlyEvent(publish(undefined, after));

    expect(event.detail).toMatchObject({ reason: "a".repeat(REASON_MAX_CHARS) });
  });
});

describe("eventsForChange: Redacted Audio Stored", () => {
  it("announces redacted audio stored beside its transcript, and nothing about the transcript again", () => {
    const before = completed(undefined, TRANSCRIPT_ID);
    const after = storeRedactedAudio(before, TRANSCRIPT_ID);

    const event = onlyEvent(publish(before, after));

    expect(event.detailType).toBe("Redacted Audio Stored");
    expect(event.detail).toEqual({
      schema_version: 1,
      id: expect.stringMatching(ID),
      customer_id: "acme",
      order_id: "order-1",
      transcript_id: TRANSCRIPT_ID,
      redacted_audio_s3_key: `redacted-audio/acme/order-1/${TRANSCRIPT_ID}.mp3`,
      stored_at: LATER,
      bucket: BUCKET,
      metadata: { campaign: "spring", tag: ["a", "b"] },
    });
  });

  it("announces audio that arrives before its transcript, then the transcript alone", () => {
    const audioFirst = storeRedactedAudio(undefined, TRANSCRIPT_ID, STORED_AT);
    const withTranscript = completed(audioFirst, TRANSCRIPT_ID, { storedAt: LATER });

    expect(onlyEvent(publish(undefined, audioFirst)).detailType).toBe("Redacted Audio Stored");
    expect(withTranscript.redacted_audio_s3_key).toBe(audioFirst.redacted_audio_s3_key);
    expect(onlyEvent(publish(audioFirst, withTranscript)).detailType).toBe("Transcript Stored");
  });

  it("announces both when one write adds the transcript and the audio", () => {
    const after = storeRedactedAudio(completed(undefined, TRANSCRIPT_ID), TRANSCRIPT_ID);

    const events = publish(undefined, after);

    expect(events.map((event) => event.detailType)).toEqual(["Transcript Stored", "Redacted Audio Stored"]);
    expect(events[0]?.detail.id).not.toBe(events[1]?.detail.id);
  });
});

describe("eventsForChange: what is never announced", () => {
  it("announces nothing for a deleted record (REMOVE: no image after)", () => {
    expect(publish(completed(undefined, TRANSCRIPT_ID), undefined)).toEqual([]);
  });

  it("announces nothing when `aai-webhooks erase` replaces a record with its tombstone", () => {
    const before = storeRedactedAudio(completed(undefined, TRANSCRIPT_ID), TRANSCRIPT_ID);
    // What cli/erase.ts puts: the keys, erased_at and the time to live, nothing else.
    const tombstone = {
      customer_id: "acme",
      order_id: "order-1",
      [ERASED_ATTRIBUTE]: LATER,
      [RECORD_EXPIRY_ATTRIBUTE]: 1_767_000_000,
    };

    expect(publish(before, tombstone)).toEqual([]);
    expect(publish(undefined, tombstone)).toEqual([]);
    expect(publish(tombstone, undefined)).toEqual([]);
  });

  it("announces nothing for a tombstone whatever else it carries (Customer Erased announces it)", () => {
    const record = storeRedactedAudio(completed(undefined, TRANSCRIPT_ID), TRANSCRIPT_ID);

    expect(publish(undefined, { ...record, [ERASED_ATTRIBUTE]: LATER })).toEqual([]);
  });

  it("never carries the transcript's text, even when the record holds it inline", () => {
    const secret = "the patient's date of birth is 1 April 1970";
    const stored = storeRedactedAudio(completed(undefined, TRANSCRIPT_ID, { text: secret }), TRANSCRIPT_ID);
    const session = storeSession(undefined, "sess-inline", secret);
    expect(stored.text).toBe(secret);
    expect(session.text).toBe(secret);

    const events = [...publish(undefined, stored), ...publish(undefined, session)];

    expect(events).toHaveLength(3);
    for (const event of events) {
      expect(event.detail).not.toHaveProperty("text");
      expect(JSON.stringify(event.detail)).not.toContain("date of birth");
    }
  });
});

describe("eventsForChange: size and ids", () => {
  /** A query of the ids and one parameter `note` whose value makes the other parameters' JSON `bytes` long. */
  const metadataOfBytes = (bytes: number, customerId = "acme", orderId = "order-1") => {
    const overhead = JSON.stringify({ note: "" }).length;
    return metadataOf(`customer_id=${customerId}&order_id=${orderId}&note=${"n".repeat(bytes - overhead)}`);
  };

  it(`keeps metadata of exactly ${METADATA_MAX_BYTES} bytes of JSON`, () => {
    const metadata = metadataOfBytes(METADATA_MAX_BYTES);

    const event = onlyEvent(publish(undefined, completed(undefined, TRANSCRIPT_ID, { metadata })));

    expect(Buffer.byteLength(JSON.stringify(event.detail.metadata))).toBe(METADATA_MAX_BYTES);
    expect(event.detail).not.toHaveProperty("metadata_omitted");
  });

  it(`omits metadata over ${METADATA_MAX_BYTES} bytes of JSON, says so, and the detail stays small`, () => {
    const metadata = metadataOfBytes(METADATA_MAX_BYTES + 1);
    const record = storeRedactedAudio(
      completed(undefined, TRANSCRIPT_ID, { metadata }),
      TRANSCRIPT_ID,
      LATER,
      metadata,
    );

    const events = publish(undefined, record);

    expect(events).toHaveLength(2);
    for (const event of events) {
      expect(event.detail.metadata_omitted).toBe(true);
      expect(event.detail).not.toHaveProperty("metadata");
      expect(Buffer.byteLength(JSON.stringify(event.detail))).toBeLessThan(1_024);
    }
  });

  it("gives the same change the same id however often it is computed (a stream retry)", () => {
    const record = storeRedactedAudio(completed(undefined, TRANSCRIPT_ID), TRANSCRIPT_ID);

    const first = publish(undefined, record).map((event) => event.detail.id);
    const again = publish(undefined, structuredClone(record)).map((event) => event.detail.id);

    expect(again).toEqual(first);
  });

  it("gives every different change a different id", () => {
    const failed = fetchFailed(undefined, TRANSCRIPT_ID, "HTTP 404", { status: 404, keyFingerprint: "k1" });
    const stored = completed(failed, TRANSCRIPT_ID, { storedAt: LATER });
    const newer = completed(stored, NEWER_TRANSCRIPT_ID, { storedAt: "2025-11-27T11:00:00.000Z" });
    const audio = storeRedactedAudio(newer, NEWER_TRANSCRIPT_ID, "2025-11-27T12:00:00.000Z");
    const otherOrder = completed(undefined, TRANSCRIPT_ID, {
      metadata: metadataOf("customer_id=acme&order_id=order-2"),
    });
    const otherCustomer = completed(undefined, TRANSCRIPT_ID, {
      metadata: metadataOf("customer_id=globex&order_id=order-1"),
    });

    const ids = [
      ...publish(undefined, failed),
      ...publish(failed, stored),
      ...publish(stored, newer),
      ...publish(newer, audio),
      ...publish(undefined, otherOrder),
      ...publish(undefined, otherCustomer),
    ].map((event) => event.detail.id);

    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(6);
  });

  it("keeps every detail under 8 KB of JSON for a realistic worst case", () => {
    // Ids of 128 characters (the longest transcript id the pipeline takes; customer and order ids are
    // usually far shorter), metadata at its limit, a reason at its limit, every optional field present.
    // (Ids at DynamoDB's key limits, 2048 and 1024 bytes, or escaped characters could pass 8 KB, never
    // EventBridge's 256 KB.)
    const customerId = `c${"u".repeat(127)}`;
    const orderId = `o${"r".repeat(127)}`;
    const transcriptId = `t-${"9".repeat(126)}`;
    const metadata = metadataOfBytes(METADATA_MAX_BYTES, customerId, orderId);
    const write = { metadata, text: "x".repeat(MAX_INLINE_TEXT_BYTES + 1) };
    const stored = storeRedactedAudio(
      completed(undefined, transcriptId, write),
      transcriptId,
      LATER,
      metadata,
    );
    const failed = storeTranscript(
      undefined,
      transcriptId,
      { status: "error", error: "e".repeat(5_000), audio_duration: 1, language_code: "en_us" },
      write,
    );
    const waiting = fetchFailed(
      undefined,
      transcriptId,
      "f".repeat(5_000),
      { status: 403, keyFingerprint: "k1", region: "us" },
      STORED_AT,
      metadata,
    );

    const events = [
      ...publish(undefined, stored),
      ...publish(undefined, failed),
      ...publish(undefined, waiting),
    ];

    expect(events.map((event) => event.detailType)).toEqual([
      "Transcript Stored",
      "Redacted Audio Stored",
      "Transcript Failed",
      "Transcript Failed",
    ]);
    for (const event of events) {
      expect(event.detail.customer_id).toBe(customerId);
      expect(event.detail.metadata).toBeDefined();
      expect(Buffer.byteLength(JSON.stringify(event.detail), "utf8")).toBeLessThan(8 * 1_024);
    }
  });

  it("builds only details that match their schemas, whatever the URL's parameters and the error", () => {
    const parameterName = fc
      .string({ minLength: 1, maxLength: 12 })
      .filter((name) => name !== "customer_id" && name !== "order_id");
    const parameterValue = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.array(fc.string({ maxLength: 10 }), { minLength: 2, maxLength: 3 }),
    );
    fc.assert(
      fc.property(
        fc.dictionary(parameterName, parameterValue, { maxKeys: 8 }),
        fc.string({ unit: "binary", minLength: 1, maxLength: 40 }),
        fc.string({ unit: "binary", maxLength: 2_000 }),
        fc.boolean(),
        (params, customerId, error, withAudio) => {
          const metadata: DeliveryMetadata = {
            customer_id: customerId,
            order_id: "order-1",
            params: { ...params, customer_id: customerId, order_id: "order-1" },
          };
          const failed = storeTranscript(undefined, TRANSCRIPT_ID, { status: "error", error }, { metadata });
          const record = withAudio ? storeRedactedAudio(failed, TRANSCRIPT_ID, LATER, metadata) : failed;
          const events = publish(undefined, record);
          expect(events).toHaveLength(withAudio ? 2 : 1);
          for (const event of events) {
            expect(event.detail.customer_id).toBe(customerId);
            expect(event.detail.metadata ?? {}).not.toHaveProperty("customer_id");
          }
        },
      ),
    );
  });
});

describe("the event schemas in docs/events", () => {
  const files = readdirSync(EVENT_SCHEMA_DIRECTORY).filter((file) => file.endsWith(".schema.json"));

  it.each(files)("%s is a JSON Schema strict ajv compiles, its $id its file name", (file) => {
    const schema = readEventSchema(file);

    expect(() => eventSchemaAjv().compile(schema)).not.toThrow();
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(schema.$id).toBe(file);
    expect(schema.additionalProperties).toBe(false);
  });

  it("has a schema for every detail type the stack publishes, titled by it, and no other file", () => {
    for (const [detailType, file] of Object.entries(DETAIL_SCHEMA_FILES)) {
      expect(files).toContain(file);
      expect(readEventSchema(file).title).toBe(detailType);
    }
    expect([...files].sort()).toEqual(Object.values(EVENT_SCHEMA_FILES).sort());
    expect(Object.values(DETAIL_TYPES).sort()).toEqual(Object.keys(DETAIL_SCHEMA_FILES).sort());
  });

  it("agrees with the code on the version, the sources and the reason's length", () => {
    type Properties = Record<string, { const?: unknown; enum?: unknown[]; maxLength?: number }>;
    for (const file of Object.values(DETAIL_SCHEMA_FILES)) {
      const properties = readEventSchema(file).properties as Properties;
      expect(properties.schema_version?.const).toBe(EVENT_SCHEMA_VERSION);
      if (properties.source !== undefined) expect(properties.source.enum).toEqual([...DELIVERY_SOURCES]);
    }
    const failed = readEventSchema(DETAIL_SCHEMA_FILES["Transcript Failed"]).properties as Properties;
    expect(failed.reason?.maxLength).toBe(REASON_MAX_CHARS);
    const omitted = failed.metadata_omitted as { description?: string } | undefined;
    expect(omitted?.description).toContain(`${METADATA_MAX_BYTES} bytes`);
  });

  const valid = () => onlyEvent(publish(undefined, completed(undefined, TRANSCRIPT_ID))).detail;

  it.each<[string, (detail: Record<string, unknown>) => unknown]>([
    ["an unknown field", (detail) => ({ ...detail, text: "hello" })],
    ["a missing required field", ({ stored_at: _, ...detail }) => detail],
    ["another status", (detail) => ({ ...detail, status: "error" })],
    ["an id that is not 32 hex digits", (detail) => ({ ...detail, id: "ABC" })],
    ["stored_at that is not a date-time", (detail) => ({ ...detail, stored_at: "2025-02-30T09:00:00Z" })],
    ["metadata beside metadata_omitted", (detail) => ({ ...detail, metadata_omitted: true })],
  ])("rejects a Transcript Stored detail with %s, naming the detail type", (_change, change) => {
    const detail = change({ ...valid() });

    expect(() => validateEventDetail("Transcript Stored", detail)).toThrow(
      /^Transcript Stored detail does not match/,
    );
  });

  it("rejects fetch_status on an error, and a fetch_failed without retry_scheduled", () => {
    const error = onlyEvent(
      publish(undefined, storeTranscript(undefined, TRANSCRIPT_ID, { status: "error", error: "x" })),
    );
    const waiting = onlyEvent(
      publish(
        undefined,
        fetchFailed(undefined, TRANSCRIPT_ID, "HTTP 401", { status: 401, keyFingerprint: "k" }),
      ),
    );
    const { retry_scheduled: _, ...unsaid } = waiting.detail as unknown as Record<string, unknown>;

    expect(() => validateEventDetail("Transcript Failed", { ...error.detail, fetch_status: 401 })).toThrow(
      /fetch_status/,
    );
    expect(() => validateEventDetail("Transcript Failed", unsaid)).toThrow(/retry_scheduled/);
  });

  it("rejects an unknown detail type", () => {
    expect(() => validateEventDetail("Transcript Deleted", valid())).toThrow(/Transcript Deleted/);
  });
});

describe("validateEnvelope", () => {
  const envelope = (detailType: string, detail: unknown) => ({
    version: "0",
    id: "0d1f2b3c-4d5e-6f70-8192-a3b4c5d6e7f8",
    "detail-type": detailType,
    source: "assemblyai.webhooks",
    account: "123456789012",
    time: "2025-11-27T09:00:01Z",
    region: "eu-west-1",
    resources: [],
    detail,
  });
  const stored = () => onlyEvent(publish(undefined, completed(undefined, TRANSCRIPT_ID)));

  it("accepts an event as EventBridge delivers it to SQS, and a Customer Erased event", () => {
    const event = stored();
    const erased = {
      schema_version: 1,
      id: "0123456789abcdef0123456789abcdef",
      customer_id: "acme",
      erased_at: LATER,
      records: 1,
      object_versions: 2,
      delete_markers: 0,
      bytes: 10,
      usage_items: 1,
      failures: 0,
    };

    expect(() => validateEnvelope(envelope(event.detailType, event.detail))).not.toThrow();
    expect(() => validateEnvelope(envelope("Customer Erased", erased))).not.toThrow();
  });

  it.each<[string, (body: Record<string, unknown>) => unknown]>([
    ["another version", (body) => ({ ...body, version: "1" })],
    ["no account", ({ account: _, ...body }) => body],
    ["an unknown field", (body) => ({ ...body, extra: true })],
    ["an unknown detail type", (body) => ({ ...body, "detail-type": "Transcript Deleted" })],
    ["a time that is not a date-time", (body) => ({ ...body, time: "yesterday" })],
    ["a detail as a JSON string", (body) => ({ ...body, detail: JSON.stringify(body.detail) })],
  ])("rejects an envelope with %s", (_change, change) => {
    const event = stored();

    expect(() => validateEnvelope(change(envelope(event.detailType, event.detail)))).toThrow(
      /EventBridge event/,
    );
  });

  it("rejects an envelope whose detail does not match its detail type's schema", () => {
    const event = stored();

    expect(() => validateEnvelope(envelope("Redacted Audio Stored", event.detail))).toThrow(
      /^Redacted Audio Stored detail does not match/,
    );
  });
});
