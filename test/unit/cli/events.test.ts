import { summarizeEventsDlqMessage } from "../../../cli/commands/events";

describe("events dlq's summary of a message", () => {
  it("reads the publisher's dead letter: the event's type, keys, id and why", () => {
    const body = {
      kind: "event",
      reason: "EventBridge refused the event 4 times; last: InternalFailure: try later",
      failed_at: "2026-12-03T06:00:00.000Z",
      attempts: 4,
      entry: {
        Source: "assemblyai.webhooks",
        DetailType: "Transcript Stored",
        Detail: JSON.stringify({
          id: "a".repeat(32),
          customer_id: "acme",
          order_id: "o-1",
          transcript_id: "t-1",
        }),
        EventBusName: "bus",
        Time: "2026-12-03T05:59:59.000Z",
      },
      record: { event_id: "e", sequence_number: "1", customer_id: "acme", order_id: "o-1" },
    };

    expect(summarizeEventsDlqMessage({ MessageId: "m-1", Body: JSON.stringify(body) })).toEqual({
      message_id: "m-1",
      kind: "event",
      detail_type: "Transcript Stored",
      customer_id: "acme",
      order_id: "o-1",
      transcript_id: "t-1",
      event_id: "a".repeat(32),
      failed_at: "2026-12-03T06:00:00.000Z",
      reason: body.reason,
    });
  });

  it("reads the stream event source's pointer to a failed batch", () => {
    const body = {
      requestContext: {
        requestId: "r",
        functionArn: "arn",
        condition: "RetryAttemptsExhausted",
        approximateInvokeCount: 11,
      },
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      version: "1.0",
      timestamp: "2026-12-03T06:00:00.000Z",
      DDBStreamBatchInfo: {
        shardId: "s",
        startSequenceNumber: "100",
        endSequenceNumber: "100",
        approximateArrivalOfFirstRecord: "2026-12-03T05:59:00Z",
        approximateArrivalOfLastRecord: "2026-12-03T05:59:00Z",
        batchSize: 1,
        streamArn: "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x",
      },
    };

    expect(summarizeEventsDlqMessage({ MessageId: "m-2", Body: JSON.stringify(body) })).toEqual({
      message_id: "m-2",
      kind: "stream_batch",
      failed_at: "2026-12-03T06:00:00.000Z",
      reason: "the publisher failed the batch after its retries (RetryAttemptsExhausted)",
      stream_records: "100…100 (1 records)",
    });
  });

  it("reads a dead letter that has only its entry, and shows no field that is not text", () => {
    const body = {
      kind: "event",
      reason: 42,
      failed_at: { at: "now" },
      entry: {
        Source: "assemblyai.webhooks",
        DetailType: "Transcript Stored",
        Detail: "null",
        EventBusName: "b",
      },
    };

    expect(summarizeEventsDlqMessage({ MessageId: "m-3", Body: JSON.stringify(body) })).toEqual({
      message_id: "m-3",
      kind: "event",
      detail_type: "Transcript Stored",
    });
  });

  it.each([["not json"], [JSON.stringify({ kind: "event", entry: { Source: 1 } })]])(
    "calls anything else unreadable: %s",
    (body) => {
      expect(summarizeEventsDlqMessage({ MessageId: "m", Body: body })).toMatchObject({ kind: "unreadable" });
    },
  );
});
