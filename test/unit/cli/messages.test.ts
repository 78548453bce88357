import type { Message } from "@aws-sdk/client-sqs";
import fc from "fast-check";
import {
  buildReplayMessage,
  failureLogQuery,
  replayableStatus,
  replayMetadata,
  summarizeDlqMessage,
  webhookUrlFor,
} from "../../../cli/messages";
import { CliError } from "../../../cli/output";
import {
  buildAssemblyAiDeleteMessage,
  buildDeliveryMessage,
  parseMetadata,
  rawQueryOf,
} from "../../../functions/shared/contract/delivery";
import { parseDeliveryMessage } from "../../../functions/shared/contract/delivery-schema";

const STACK_URL = "https://abc.execute-api.us-east-1.amazonaws.com/webhook";

describe("webhookUrlFor", () => {
  it("adds the ids and extra parameters, percent-encoded", () => {
    expect(webhookUrlFor(STACK_URL, "jane+doe@example.com", "o 1", { team: "a&b" })).toBe(
      `${STACK_URL}?customer_id=jane%2Bdoe%40example.com&order_id=o%201&team=a%26b`,
    );
  });

  it("builds a URL the receiver reads back as exactly the ids and parameters given", () => {
    const text = fc.oneof(
      fc.string({ unit: "grapheme", minLength: 1 }),
      fc.string({ unit: "binary-ascii", minLength: 1 }),
    );
    fc.assert(
      fc.property(
        text.filter((id) => Buffer.byteLength(id) <= 1024),
        text.filter((id) => Buffer.byteLength(id) <= 1024),
        fc.dictionary(
          text.filter((name) => name !== "customer_id" && name !== "order_id"),
          fc.string(),
        ),
        (customerId, orderId, extra) => {
          const parsed = parseMetadata(rawQueryOf(webhookUrlFor(STACK_URL, customerId, orderId, extra)));

          expect(parsed).toEqual({
            ok: true,
            value: {
              customer_id: customerId,
              order_id: orderId,
              params: { customer_id: customerId, order_id: orderId, ...extra },
            },
          });
        },
      ),
    );
  });
});

describe("replayMetadata", () => {
  it("takes every parameter of a webhook_url that points at this stack", () => {
    const target = replayMetadata(
      "t-1",
      `${STACK_URL}?customer_id=acme&order_id=o-1&team=blue`,
      STACK_URL,
      {},
    );

    expect(target).toEqual({
      metadata: {
        customer_id: "acme",
        order_id: "o-1",
        params: { customer_id: "acme", order_id: "o-1", team: "blue" },
      },
      pointsHere: true,
    });
  });

  it("lets --customer-id/--order-id override the webhook_url's ids", () => {
    const { metadata } = replayMetadata("t-1", `${STACK_URL}?customer_id=acme&order_id=o-1`, STACK_URL, {
      customerId: "other",
      orderId: "o-9",
    });

    expect(metadata.customer_id).toBe("other");
    expect(metadata.params).toEqual({ customer_id: "other", order_id: "o-9" });
  });

  it("notices a webhook_url of another deployment", () => {
    expect(
      replayMetadata("t-1", "https://elsewhere.example.com/webhook?customer_id=a&order_id=b", STACK_URL, {})
        .pointsHere,
    ).toBe(false);
  });

  it("needs the ids from somewhere", () => {
    expect(() => replayMetadata("t-1", null, STACK_URL, {})).toThrow(
      "transcript t-1 has no customer_id/order_id in its webhook_url: pass --customer-id and --order-id",
    );
  });

  it("refuses ids the receiver would quarantine, taken from the webhook_url", () => {
    expect(() => replayMetadata("t-1", `${STACK_URL}?customer_id=&order_id=o`, STACK_URL, {})).toThrow(
      "transcript t-1's webhook_url: query parameter customer_id is empty",
    );
    expect(() =>
      replayMetadata("t-1", `${STACK_URL}?customer_id=a&customer_id=b&order_id=o`, STACK_URL, {}),
    ).toThrow(CliError);
  });

  it("reads ids the way the receiver does: decoded once, + kept", () => {
    const target = replayMetadata(
      "t-1",
      `${STACK_URL}?customer_id=a+b%2Fc&order_id=..&tag=x&tag=y`,
      STACK_URL,
      {},
    );
    expect(target.metadata).toEqual({
      customer_id: "a+b/c",
      order_id: "..",
      params: { customer_id: "a+b/c", order_id: "..", tag: ["x", "y"] },
    });
  });

  it.each(["customer_id=a&customer_id=b&order_id=o", "customer_id=&order_id=o"])(
    "refuses ids taken from the webhook_url that cannot be a key (%s)",
    (query) => {
      expect(() => replayMetadata("t-1", `${STACK_URL}?${query}`, STACK_URL, {})).toThrow(CliError);
    },
  );

  it("takes ids the old rules refused exactly as the URL carries them", () => {
    const target = replayMetadata("t-1", `${STACK_URL}?customer_id=a%2Fb&order_id=jane+doe`, STACK_URL, {});

    expect(target.metadata).toMatchObject({ customer_id: "a/b", order_id: "jane+doe" });
  });
});

describe("replayableStatus", () => {
  it("accepts completed and error", () => {
    expect(replayableStatus("t", "completed")).toBe("completed");
    expect(replayableStatus("t", "error")).toBe("error");
  });

  it("refuses a transcript still in progress, naming its status", () => {
    expect(() => replayableStatus("t-1", "processing")).toThrow(
      "transcript t-1 is processing: only completed or error transcripts can be replayed",
    );
  });
});

describe("buildReplayMessage", () => {
  it("builds a replay the worker's own parser accepts unchanged", () => {
    const message = buildReplayMessage({
      transcriptId: "5552493-16d8-42d8-8feb-c2a16b56f6e8",
      status: "completed",
      metadata: { customer_id: "acme", order_id: "o-1", params: { customer_id: "acme", order_id: "o-1" } },
      now: new Date("2026-11-27T12:00:00.000Z"),
      requestId: "replay-1",
    });

    const parsed = parseDeliveryMessage(JSON.stringify(message));

    expect(parsed).toEqual({ ok: true, message });
    expect(message).toMatchObject({
      source: "replay",
      kind: "transcript",
      received_at: "2026-11-27T12:00:00.000Z",
      payload: { transcript_id: "5552493-16d8-42d8-8feb-c2a16b56f6e8", status: "completed" },
    });
  });
});

describe("summarizeDlqMessage", () => {
  const delivery = buildReplayMessage({
    transcriptId: "t-1",
    status: "error",
    metadata: { customer_id: "acme", order_id: "o-1", params: { customer_id: "acme", order_id: "o-1" } },
    now: new Date("2026-11-27T12:00:00.000Z"),
    requestId: "r-1",
  });

  it("reads the worker's retry of a delete at AssemblyAI with its transcript and owner", () => {
    const retry = buildAssemblyAiDeleteMessage({
      delivery,
      transcriptId: "t-1",
      attempt: 2,
      lastError: "AssemblyAI delete answered HTTP 500",
      queuedAt: new Date("2026-11-27T12:05:00.000Z"),
    });

    expect(summarizeDlqMessage({ MessageId: "m-2", Body: JSON.stringify(retry) })).toEqual({
      message_id: "m-2",
      kind: "assemblyai_delete",
      transcript_id: "t-1",
      customer_id: "acme",
      order_id: "o-1",
      source: "replay",
      received_at: "2026-11-27T12:05:00.000Z",
    });
  });

  it("reads a delivery's kind, ids and times, and the receive count", () => {
    const message: Message = {
      MessageId: "m-1",
      Body: JSON.stringify(delivery),
      Attributes: { ApproximateReceiveCount: "9", SentTimestamp: "1795780800000" },
    };

    expect(summarizeDlqMessage(message)).toEqual({
      message_id: "m-1",
      kind: "transcript",
      transcript_id: "t-1",
      customer_id: "acme",
      order_id: "o-1",
      source: "replay",
      received_at: "2026-11-27T12:00:00.000Z",
      receive_count: 9,
      sent_at: new Date(1795780800000).toISOString(),
    });
  });

  it("shows a streaming session's id where a transcript's would be", () => {
    const session = buildDeliveryMessage({
      source: "webhook",
      kind: "streaming_session",
      sessionId: "s-1",
      metadata: delivery.metadata,
      receivedAt: new Date("2026-11-27T12:00:00.000Z"),
      sourceIp: "44.238.19.20",
      requestId: "r-2",
      payload: { session_id: "s-1", messages: [] },
    });

    expect(summarizeDlqMessage({ MessageId: "m-4", Body: JSON.stringify(session) })).toMatchObject({
      kind: "streaming_session",
      transcript_id: "s-1",
      customer_id: "acme",
    });
  });

  it("gives the worker's reason for a body it cannot read, with what fields there are", () => {
    const broken = { ...delivery, version: 7 };

    const entry = summarizeDlqMessage({ MessageId: "m-2", Body: JSON.stringify(broken) });

    expect(entry).toMatchObject({
      kind: "malformed",
      transcript_id: "t-1",
      customer_id: "acme",
      problem: "version is not a supported message version",
    });
  });

  it("copes with a body that is not JSON at all", () => {
    expect(summarizeDlqMessage({ MessageId: "m-3", Body: "{oops" })).toEqual({
      message_id: "m-3",
      kind: "malformed",
      problem: "message body is not JSON",
    });
  });
});

describe("failureLogQuery", () => {
  it("filters the worker's log lines by message id", () => {
    expect(failureLogQuery(["m-1"])).toContain('filter message_id = "m-1"');
    expect(failureLogQuery(["m-1", "m-2"])).toContain('filter message_id in ["m-1", "m-2"]');
  });
});
