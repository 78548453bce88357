/**
 * The package's read client on the local stack: records the pipeline stored from the simulator (a
 * transcript, a streaming session, a transcript AssemblyAI does not know) read back through
 * TranscriptStoreClient, as a consumer of the package would.
 */
import {
  InvalidCursorError,
  type StoredRecord,
  TranscriptNotStoredError,
  TranscriptStoreClient,
} from "../../lib/client/transcript-store-client";
import { audioUrl, uniqueId, useLocalStack } from "./support";

jest.setTimeout(45_000);

const stack = useLocalStack();

describe("TranscriptStoreClient on the local stack", () => {
  const customerId = uniqueId("client");
  let transcriptId = "";
  let sessionId = "";

  function store(): TranscriptStoreClient {
    const s = stack();
    return new TranscriptStoreClient({
      dynamodb: s.dynamodb,
      s3: s.s3,
      tableName: s.contract.tableName,
      bucketName: s.contract.bucketName,
    });
  }

  beforeAll(async () => {
    const s = stack();
    // Metadata named like Object.prototype members, which a document-client reader would lose.
    const submitted = await s.submit(customerId, "a-1", {
      audioUrl: audioUrl({ words: 20 }),
      webhookUrl: s.webhookUrlWithQuery(
        `customer_id=${customerId}&order_id=a-1&__proto__=kept&constructor=also%20kept&tag=x&tag=y`,
      ),
    });
    transcriptId = submitted.id;
    sessionId = (await s.endStreamingSession(customerId, "b-2", { text: "Hello there. Thanks for calling." }))
      .session_id;
    // A webhook for a transcript AssemblyAI (the simulator) answers 404 for: stored as fetch_failed.
    const posted = await s.postWebhook(s.webhookUrl(customerId, "c-3"), {
      transcript_id: "no-such-transcript-0001",
      status: "completed",
    });
    expect(posted.status).toBe(200);
    await Promise.all([
      s.waitForRecord(customerId, "a-1", (record) => record.status === "completed"),
      s.waitForRecord(customerId, "b-2", (record) => record.status === "completed"),
      s.waitForRecord(customerId, "c-3", (record) => record.status === "fetch_failed"),
    ]);
  }, 40_000);

  it("get reads the record, metadata named __proto__ and constructor kept as data", async () => {
    const record = await store().get(customerId, "a-1");

    expect(record).toMatchObject({
      customer_id: customerId,
      order_id: "a-1",
      transcript_id: transcriptId,
      status: "completed",
      source: "webhook",
    });
    expect(Object.getOwnPropertyDescriptor(record?.metadata, "__proto__")?.value).toBe("kept");
    expect(record?.metadata?.constructor).toBe("also kept");
    expect(record?.metadata?.tag).toEqual(["x", "y"]);
    await expect(store().get(customerId, "nothing-here")).resolves.toBeUndefined();
  });

  it("getFullTranscript gives the transcript JSON from the bucket, typed as the SDK's Transcript", async () => {
    const full = await store().getFullTranscript(customerId, "a-1");

    if (full.kind !== "transcript") throw new Error(`expected a transcript, got ${full.kind}`);
    expect(full.transcript.id).toBe(transcriptId);
    expect(full.transcript.status).toBe("completed");
    expect(full.transcript.words).toHaveLength(20);
    expect(full.record.transcript_s3_key).toMatch(new RegExp(`/${transcriptId}\\.json\\.gz$`));
  });

  it("getFullTranscript gives a streaming session's body as AssemblyAI posted it", async () => {
    const full = await store().getFullTranscript(customerId, "b-2");

    if (full.kind !== "streaming_session") throw new Error(`expected a session, got ${full.kind}`);
    expect(full.session.session_id).toBe(sessionId);
    expect(full.session.messages.length).toBeGreaterThan(0);
    expect(full.record.text).toBe("Hello there. Thanks for calling.");
  });

  it("getFullTranscript of a fetch_failed record throws naming its status", async () => {
    const reading = store().getFullTranscript(customerId, "c-3");

    await expect(reading).rejects.toBeInstanceOf(TranscriptNotStoredError);
    await expect(reading).rejects.toMatchObject({ reason: "no_transcript", status: "fetch_failed" });
  });

  it("listByCustomer with limit 1 gives three pages, the last without a cursor", async () => {
    const pages: (readonly StoredRecord[])[] = [];
    let cursor: string | undefined;
    do {
      const page = await store().listByCustomer(customerId, { limit: 1, ...(cursor ? { cursor } : {}) });
      pages.push(page.records);
      cursor = page.nextCursor;
    } while (cursor !== undefined && pages.length < 10);

    expect(pages.map((records) => records.map((record) => record.order_id))).toEqual([
      ["a-1"],
      ["b-2"],
      ["c-3"],
    ]);
  });

  it("listByCustomer refuses a cursor issued for another customer", async () => {
    const first = await store().listByCustomer(customerId, { limit: 1 });

    await expect(
      store().listByCustomer(uniqueId("other"), { limit: 1, cursor: first.nextCursor }),
    ).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it("findByTranscriptId finds the record through the by-transcript-id index", async () => {
    const found = await store().findByTranscriptId(transcriptId);
    const session = await store().findByTranscriptId(sessionId);

    expect(found.map((record) => [record.customer_id, record.order_id])).toEqual([[customerId, "a-1"]]);
    expect(found[0]).toEqual(await store().get(customerId, "a-1"));
    expect(session.map((record) => record.order_id)).toEqual(["b-2"]);
    await expect(store().findByTranscriptId("never-stored-0001")).resolves.toEqual([]);
  });
});
