/**
 * The events on the local stack, end to end: the worker's committed writes reach the table's stream, the
 * stream poller feeds the publisher bundle, the publisher puts events on the emulator's bus, and a rule
 * delivers them to `eventsQueueUrl` as EventBridge delivers to an SQS target. Every event seen is validated
 * against its schema in docs/events.
 */

import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import type { EventsDlqEntry, EventsRedriveResult } from "../../cli/commands/events";
import { DETAIL_TYPES } from "../../functions/shared/contract/events";
import { WORKER_CRASH_FAULT } from "../../local/outages";
import { validateEnvelope, validateEventDetail } from "../support/event-schemas";
import { runCli, runCliJson } from "./cli-support";
import { audioUrl, eventually, LOCAL_CREDENTIALS, type LocalStack, uniqueId, useLocalStack } from "./support";

jest.setTimeout(120_000);

/** A crashed batch comes back after this (360 s as deployed). */
const VISIBILITY_TIMEOUT_SECONDS = 6;
const stack = useLocalStack({
  RECONCILE_EVERY_SECONDS: "0",
  QUEUE_VISIBILITY_TIMEOUT_SECONDS: String(VISIBILITY_TIMEOUT_SECONDS),
});

interface DeliveredEvent {
  readonly "detail-type": string;
  readonly source: string;
  readonly detail: Record<string, unknown> & { customer_id: string; order_id: string; id: string };
}

/** Every event read off a queue so far (each validated), in the order received. */
class EventLog {
  readonly events: DeliveredEvent[] = [];

  /**
   * `wholeEvent`: the queue gets AWS's whole envelope (the local stack's targets); a rule of a test's own
   * gets moto's default delivery, which leaves out `account`, so only its detail is validated.
   */
  constructor(
    private readonly s: LocalStack,
    private readonly queueUrl: string,
    private readonly wholeEvent = true,
  ) {}

  async drain(): Promise<void> {
    for (;;) {
      const received = await this.s.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      const messages = received.Messages ?? [];
      if (messages.length === 0) return;
      for (const message of messages) {
        const body: unknown = JSON.parse(message.Body ?? "");
        if (this.wholeEvent) validateEnvelope(body);
        else {
          const event = body as DeliveredEvent;
          validateEventDetail(event["detail-type"], event.detail);
        }
        this.events.push(body as DeliveredEvent);
      }
      await this.s.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: messages.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
    }
  }

  of(customerId: string, orderId?: string): DeliveredEvent[] {
    return this.events.filter(
      (event) =>
        event.detail.customer_id === customerId &&
        (orderId === undefined || event.detail.order_id === orderId),
    );
  }

  /** Waits until `count` events of the customer (and order) have arrived. */
  async waitFor(customerId: string, orderId: string | undefined, count: number): Promise<DeliveredEvent[]> {
    return eventually(
      async () => {
        await this.drain();
        const found = this.of(customerId, orderId);
        return found.length >= count ? found : undefined;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 250,
        describe: () =>
          `${count} event(s) for ${customerId}/${orderId ?? "*"}; got ${JSON.stringify(this.of(customerId, orderId))}`,
      },
    );
  }
}

let log: EventLog;
beforeAll(() => {
  const s = stack();
  const queueUrl = s.contract.eventsQueueUrl;
  if (queueUrl === undefined) throw new Error("stack.json has no eventsQueueUrl");
  log = new EventLog(s, queueUrl);
});

/** Waits until the worker has nothing left: no message waiting, in flight or delayed. */
async function settled(s: LocalStack): Promise<void> {
  await s.waitForQueueDrained(60_000);
}

describe("the events of the local stack", () => {
  it("writes the bus, the source and the events queue to stack.json", () => {
    expect(stack().contract).toMatchObject({
      eventBusName: expect.any(String),
      eventSource: "assemblyai.webhooks",
      eventsQueueUrl: expect.stringMatching(/^http/),
      eventsDlqUrl: expect.stringMatching(/^http/),
    });
  });

  it("publishes one Transcript Stored per stored transcript, and nothing for its duplicate delivery", async () => {
    const s = stack();
    const customer = uniqueId("events");
    const order = uniqueId("order");

    const job = await s.submit(customer, order);
    const record = await s.waitForRecord(customer, order, (r) => r.status === "completed");
    const [event] = await log.waitFor(customer, order, 1);

    expect(event).toMatchObject({ "detail-type": DETAIL_TYPES.stored, source: s.contract.eventSource });
    expect(event?.detail).toMatchObject({
      transcript_id: job.id,
      status: "completed",
      stored_at: record.stored_at,
      bucket: s.contract.bucketName,
      source: "webhook",
    });
    expect(event?.detail.transcript_s3_key).toBe(record.transcript_s3_key);
    expect(JSON.stringify(event)).not.toContain(String(record.text).slice(0, 40));

    // AssemblyAI's retry of the same delivery: processed, changes nothing, publishes nothing.
    const again = await s.postWebhook(s.webhookUrl(customer, order), {
      transcript_id: job.id,
      status: "completed",
    });
    expect(again.status).toBe(200);
    await s.waitForLog(
      (line) => line.message === "record duplicate" && line.order_id === order,
      30_000,
      "the duplicate delivery processed",
    );
    await settled(s);
    await log.drain();
    expect(log.of(customer, order)).toHaveLength(1);
  });

  it("publishes Transcript Failed for an error transcript and for one that could not be fetched", async () => {
    const s = stack();
    const customer = uniqueId("events-failed");

    await s.submit(customer, "error", { audioUrl: audioUrl({ simulate: "error" }) });
    const missing = await s.submit(customer, "missing");
    await s.addFault({ status: 404, times: 100, transcriptId: missing.id });
    try {
      await s.waitForRecord(customer, "missing", (r) => r.status === "fetch_failed");
    } finally {
      await s.clearFaults();
    }
    await log.waitFor(customer, undefined, 2);

    const byOrder = Object.fromEntries(log.of(customer).map((event) => [event.detail.order_id, event]));
    expect(byOrder.error).toMatchObject({
      "detail-type": DETAIL_TYPES.failed,
      detail: { status: "error", reason: expect.stringMatching(/\S/) },
    });
    expect(byOrder.missing).toMatchObject({
      "detail-type": DETAIL_TYPES.failed,
      detail: { status: "fetch_failed", transcript_id: missing.id, fetch_status: 404, retry_scheduled: true },
    });
  });

  it("delivers to a rule for one customer's stored transcripts exactly that customer's, once each", async () => {
    const s = stack();
    const wanted = uniqueId("rule-acme");
    const other = uniqueId("rule-other");
    const eventBridge = new EventBridgeClient({
      endpoint: s.contract.awsEndpoint,
      region: s.contract.region,
      credentials: LOCAL_CREDENTIALS,
    });
    const ruleName = uniqueId("acme-stored");
    const queue = await s.sqs.send(new CreateQueueCommand({ QueueName: ruleName }));
    const queueUrl = queue.QueueUrl as string;
    const queueArn = (
      await s.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))
    ).Attributes?.QueueArn as string;
    try {
      // The README's example rule.
      await eventBridge.send(
        new PutRuleCommand({
          Name: ruleName,
          EventBusName: s.contract.eventBusName,
          EventPattern: JSON.stringify({
            "detail-type": ["Transcript Stored"],
            detail: { customer_id: [wanted] },
          }),
        }),
      );
      await eventBridge.send(
        new PutTargetsCommand({
          Rule: ruleName,
          EventBusName: s.contract.eventBusName,
          Targets: [{ Id: "queue", Arn: queueArn }],
        }),
      );
      const ruleLog = new EventLog(s, queueUrl, false);

      await Promise.all([s.submit(wanted, "o-1"), s.submit(wanted, "o-2"), s.submit(other, "o-1")]);
      await s.submit(wanted, "fails", { audioUrl: audioUrl({ simulate: "error" }) });
      await log.waitFor(wanted, undefined, 3);
      await log.waitFor(other, undefined, 1);
      // Everything the bus got has been routed by now: the catch-all queue had it.
      await ruleLog.drain();

      expect(ruleLog.events.map((event) => event.detail.order_id).sort()).toEqual(["o-1", "o-2"]);
      expect(ruleLog.events.every((event) => event.detail.customer_id === wanted)).toBe(true);
      expect(ruleLog.events.every((event) => event["detail-type"] === DETAIL_TYPES.stored)).toBe(true);
    } finally {
      await eventBridge.send(
        new RemoveTargetsCommand({ Rule: ruleName, EventBusName: s.contract.eventBusName, Ids: ["queue"] }),
      );
      await eventBridge.send(
        new DeleteRuleCommand({ Name: ruleName, EventBusName: s.contract.eventBusName }),
      );
      await s.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
      eventBridge.destroy();
    }
  });

  it("publishes the event exactly once when the worker dies right after its record write", async () => {
    const s = stack();
    const customer = uniqueId("events-crash");
    const order = uniqueId("order");
    const armed = await fetch(`${s.contract.controlUrl}/faults/${WORKER_CRASH_FAULT}`, {
      method: "PUT",
      body: JSON.stringify({ times: 1 }),
    });
    expect(armed.status).toBe(200);

    const job = await s.submit(customer, order);
    // The write committed, then the worker's environment died: it never acknowledged the message.
    await eventually(
      async () => {
        const faults = (await (await fetch(`${s.contract.controlUrl}/faults`)).json()) as Record<
          string,
          { times: number }
        >;
        return faults[WORKER_CRASH_FAULT]?.times === 0 ? true : undefined;
      },
      { timeoutMs: 30_000, describe: () => "the worker killed after its record write" },
    );
    const record = await s.waitForRecord(customer, order, (r) => r.status === "completed");
    expect(record.transcript_id).toBe(job.id);
    const [event] = await log.waitFor(customer, order, 1);
    expect(event?.detail).toMatchObject({ transcript_id: job.id, status: "completed" });

    // The message comes back after its visibility timeout; its second processing changes nothing.
    await s.waitForLog(
      (line) => line.message === "record duplicate" && line.order_id === order,
      60_000,
      "the redelivered message processed again",
    );
    await settled(s);
    await log.drain();
    expect(log.of(customer, order)).toHaveLength(1);
  });

  it("keeps an event EventBridge would not take in the events dead-letter queue, and events redrive puts it on the bus", async () => {
    const s = stack();
    const customer = uniqueId("events-outage");
    const setEventsDown = (down: boolean) =>
      fetch(`${s.contract.controlUrl}/outages/events`, { method: "PUT", body: JSON.stringify({ down }) });

    await setEventsDown(true);
    try {
      await s.submit(customer, "o-1");
      await s.waitForRecord(customer, "o-1", (r) => r.status === "completed");
      await s.waitForLog(
        (line) => line.message === "event dead-lettered" && line.customer_id === customer,
        60_000,
        "the event dead-lettered after the publisher's retries",
      );
    } finally {
      await setEventsDown(false);
    }
    await log.drain();
    expect(log.of(customer)).toEqual([]);

    const listed = await runCliJson<{ messages: EventsDlqEntry[] }>(s, ["events", "dlq"]);
    const mine = listed.messages.filter((entry) => entry.customer_id === customer);
    expect(mine).toEqual([
      expect.objectContaining({
        kind: "event",
        detail_type: DETAIL_TYPES.stored,
        order_id: "o-1",
        reason: expect.stringContaining("EventBridge refused the event 4 times"),
      }),
    ]);

    const redriven = await runCliJson<EventsRedriveResult>(s, ["events", "redrive"]);
    expect(redriven).toMatchObject({ failed: 0, skipped: 0 });
    expect(redriven.published).toBeGreaterThanOrEqual(1);
    const [event] = await log.waitFor(customer, "o-1", 1);
    expect(event?.detail.id).toBe(mine[0]?.event_id);
    const empty = await runCli(s, ["events", "dlq"]);
    expect(empty.stdout).toMatch(/the events dead-letter queue is empty/);
  });

  it("events republish announces a customer's records again, with the ids of their first events", async () => {
    const s = stack();
    const customer = uniqueId("events-republish");
    await Promise.all([s.submit(customer, "o-1"), s.submit(customer, "o-2")]);
    const first = await log.waitFor(customer, undefined, 2);

    const result = await runCliJson<{ records: number; published: number; failed: number }>(s, [
      "events",
      "republish",
      customer,
    ]);

    expect(result).toEqual({ records: 2, published: 2, failed: 0 });
    const all = await log.waitFor(customer, undefined, 4);
    const ids = (events: DeliveredEvent[]) => events.map((event) => event.detail.id).sort();
    expect(ids(all.slice(2))).toEqual(ids(first));
  });
});
