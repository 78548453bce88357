/**
 * The local stand-in for one EventBridge rule: `{"source": [<the stack's source>]}` on the stack's bus, with
 * an SQS target (the contract's `eventsQueueUrl`). An HTTP proxy in front of the emulator's EventBridge:
 * every request goes on as it came; for each entry of a PutEvents that the emulator took (it answered an
 * EventId) on the stack's bus with the stack's source, it sends the event to the queue as EventBridge
 * delivers to an SQS target with no input transformer (the whole envelope: `version`, `id`, `detail-type`,
 * `source`, `account`, `time`, `region`, `resources`, `detail`) and hands it to `onEvent` (npm start prints a
 * line for it).
 *
 * Why not a real rule on moto's bus: moto 5 delivers each event to each SQS target by rebuilding a JSONPath
 * parser for every field of its template, about 0.7 s of CPU per event per target, and moto serves one
 * request at a time; a burst of 200 stored transcripts stalled the whole emulator for minutes. Rules of your
 * own on the local bus still go through moto (correct, only slow).
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";

export interface EventBusTapOptions {
  /** Where EventBridge requests go on to: the emulator (or the outage proxy in front of it). */
  readonly upstream: string;
  readonly eventBusName: string;
  readonly eventSource: string;
  readonly region: string;
  readonly accountId: string;
  readonly sqs: SQSClient;
  /** The target queue. */
  readonly queueUrl: string;
  readonly onEvent?: (event: DeliveredEvent) => void;
  readonly onError?: (error: unknown) => void;
}

/** An event as EventBridge delivers it to an SQS target. */
export interface DeliveredEvent {
  readonly version: "0";
  readonly id: string;
  readonly "detail-type": string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
}

export interface EventBusTap {
  readonly endpoint: string;
  close(): Promise<void>;
}

interface PutEntry {
  readonly EventBusName?: string;
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly Resources?: string[];
  /** Epoch seconds, as the SDK's JSON protocol sends a timestamp. */
  readonly Time?: number | string;
}

/** EventBridge's `time`: the entry's, else when it was put; whole seconds, ISO 8601, UTC. */
function eventTime(time: PutEntry["Time"]): string {
  const ms =
    typeof time === "number" ? time * 1000 : typeof time === "string" ? Date.parse(time) : Date.now();
  return new Date(Number.isFinite(ms) ? ms : Date.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The events a PutEvents request and its answer make for the rule. */
export function matchedEvents(
  requestBody: string,
  answerBody: string,
  rule: Pick<EventBusTapOptions, "eventBusName" | "eventSource" | "region" | "accountId">,
): DeliveredEvent[] {
  let entries: PutEntry[];
  let results: Array<{ EventId?: string }>;
  try {
    entries = (JSON.parse(requestBody) as { Entries?: PutEntry[] }).Entries ?? [];
    results = (JSON.parse(answerBody) as { Entries?: Array<{ EventId?: string }> }).Entries ?? [];
  } catch {
    return [];
  }
  const busArn = `arn:aws:events:${rule.region}:${rule.accountId}:event-bus/${rule.eventBusName}`;
  return entries.flatMap((entry, index) => {
    const id = results[index]?.EventId;
    const bus = entry.EventBusName ?? "default";
    if (id === undefined || (bus !== rule.eventBusName && bus !== busArn)) return [];
    if (entry.Source !== rule.eventSource || entry.Detail === undefined) return [];
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      return [];
    }
    return [
      {
        version: "0",
        id,
        "detail-type": entry.DetailType ?? "",
        source: entry.Source,
        account: rule.accountId,
        time: eventTime(entry.Time),
        region: rule.region,
        resources: entry.Resources ?? [],
        detail,
      } satisfies DeliveredEvent,
    ];
  });
}

export async function startEventBusTap(options: EventBusTapOptions): Promise<EventBusTap> {
  const target = new URL(options.upstream);
  // In order, in batches of up to 10 across PutEvents calls (one SendMessageBatch per call would double
  // the emulator's work under a burst): the queue sees events in the order they were put.
  const pending: DeliveredEvent[] = [];
  let draining: Promise<void> | undefined;
  const drain = async () => {
    while (pending.length > 0) {
      const chunk = pending.splice(0, 10);
      try {
        await options.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: chunk.map((event, index) => ({ Id: String(index), MessageBody: JSON.stringify(event) })),
          }),
        );
      } catch (error) {
        options.onError?.(error);
      }
      for (const event of chunk) options.onEvent?.(event);
    }
    draining = undefined;
  };
  const deliver = (events: readonly DeliveredEvent[]) => {
    pending.push(...events);
    draining ??= drain();
  };

  const server: Server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks);
      const putEvents = String(incoming.headers["x-amz-target"] ?? "").endsWith(".PutEvents");
      const proxied = request(
        {
          hostname: target.hostname,
          port: target.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (answer) => {
          const answerChunks: Buffer[] = [];
          answer.on("data", (chunk: Buffer) => answerChunks.push(chunk));
          answer.on("end", () => {
            const answerBody = Buffer.concat(answerChunks);
            if (putEvents && answer.statusCode === 200) {
              deliver(matchedEvents(body.toString("utf8"), answerBody.toString("utf8"), options));
            }
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
            outgoing.end(answerBody);
          });
          answer.on("error", (error) => outgoing.destroy(error));
        },
      );
      proxied.on("error", (error) => {
        if (!outgoing.headersSent) outgoing.writeHead(502, { "content-type": "application/json" });
        outgoing.end(JSON.stringify({ __type: "LocalProxyError", message: error.message }));
      });
      proxied.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await draining;
    },
  };
}

/** `npm start`'s line for an event: detail type, customer/order, transcript, status, why, the event's id. */
export function describeEvent(event: Pick<DeliveredEvent, "detail-type" | "detail">): string {
  const detail = (event.detail ?? {}) as Record<string, unknown>;
  return [
    event["detail-type"],
    `${String(detail.customer_id ?? "?")}/${String(detail.order_id ?? "*")}`,
    ...(detail.transcript_id === undefined ? [] : [String(detail.transcript_id)]),
    ...(detail.status === undefined ? [] : [String(detail.status)]),
    ...(detail.reason === undefined ? [] : [`(${String(detail.reason).slice(0, 120)})`]),
    `id ${String(detail.id ?? "?")}`,
  ].join("  ");
}
