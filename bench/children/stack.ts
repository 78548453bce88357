/**
 * Benchmarks that need the local stack (moto + the AssemblyAI simulator), each in a fresh process with a
 * fresh emulator. Usage: node stack.mjs '<json options>'; options.mode is one of
 * - `pipeline`: N deliveries from the simulator's webhooks through the receiver, the queue and the worker
 *   (both as deployed, behind local/http-adapter and local/sqs-poller) into the table, and on to the events
 *   (the publisher as deployed, behind local/stream-poller, putting them on the emulator's bus);
 * - `floor`: the same emulator operations done directly, with no pipeline around them;
 * - `sync`: our receiver's answer time against the synchronous sample's, the transcript endpoint slowed.
 */
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { DynamoDBClient, GetItemCommand, ScanCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { entrySize } from "../../functions/publisher/publisher";
import { fromAttributeMap } from "../../functions/shared/attribute-values";
import { publisherEnvironment } from "../../functions/shared/contract/environment";
import { eventEntry, eventsForChange } from "../../functions/shared/contract/events";
import { EVENT_STREAM } from "../../functions/shared/contract/resources";
import { DEFAULT_CONFIG } from "../../lib/config";
import { type HttpApiHandler, serveHttpApi } from "../../local/http-adapter";
import { clientConfig } from "../../local/resources";
import { type SqsHandler, startPoller } from "../../local/sqs-poller";
import { startStreamPoller } from "../../local/stream-poller";
import { deliveryMessageBody } from "../lib/events";
import {
  AUTH_HEADER_NAME,
  type BenchStack,
  functionEnvironment,
  postWebhook,
  REGION,
  SIMULATOR_API_KEY,
  startBenchStack,
  submitJob,
  waitForCompleted,
} from "../lib/local-stack";
import { waitForPipeline } from "../lib/pipeline-wait";
import { reportResult } from "../lib/proc";
import { median, percentile } from "../lib/stats";

export interface StackOptions {
  readonly mode: "pipeline" | "floor" | "sync";
  readonly deliveries: number;
  /** Deliveries offered per second (pipeline and floor, the same schedule). */
  readonly rate: number;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly recordConcurrency: number;
  readonly receiverBundle: string;
  /** Receiver invocations at once, as the local stack allows (LOCAL_RECEIVER_CONCURRENCY). */
  readonly receiverConcurrency: number;
  readonly workerBundle: string;
  /** pipeline: the events publisher; absent, no events are published. */
  readonly publisherBundle?: string;
  readonly syncBundle: string;
  /** sync: transcript endpoint delays (ms) and requests per delay and handler. */
  readonly delaysMs: readonly number[];
  readonly runs: number;
}

/** A queue's messages in every state: the run may end only when none is left for the worker. */
const QUEUE_DEPTH = [
  "ApproximateNumberOfMessages",
  "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed",
] as const;

const say = (line: string) => process.stderr.write(`[stack] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The handlers' log lines, kept off the terminal; `onLine` sees each parsed line as it is written. */
function captureLogs(onLine: (record: Record<string, unknown>, bytes: number) => void): void {
  let pending = "";
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    pending += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.startsWith("{")) {
        try {
          onLine(JSON.parse(line) as Record<string, unknown>, Buffer.byteLength(line) + 1);
        } catch {
          // not a log record
        }
      }
      newline = pending.indexOf("\n");
    }
    const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
}

/** DynamoDB's item size: attribute names plus values (numbers approximated by their digits). */
function itemBytes(item: Record<string, AttributeValue>): number {
  const value = (v: AttributeValue): number => {
    if (v.S !== undefined) return Buffer.byteLength(v.S);
    if (v.N !== undefined) return Math.ceil(v.N.length / 2) + 1;
    if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
    if (v.B !== undefined) return v.B.length;
    if (v.M !== undefined) return 3 + itemBytes(v.M) + Object.keys(v.M).length;
    if (v.L !== undefined) return 3 + v.L.reduce((sum, entry) => sum + value(entry) + 1, 0);
    if (v.SS !== undefined) return v.SS.reduce((sum, s) => sum + Buffer.byteLength(s), 0);
    return 0;
  };
  return Object.entries(item).reduce((sum, [name, v]) => sum + Buffer.byteLength(name) + value(v), 0);
}

/** `fn` for every index, at most `limit` at once. */
async function forEachLimited(count: number, limit: number, fn: (index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

function summarize(latencies: number[], firstMs: number, lastMs: number, deliveries: number) {
  const seconds = (lastMs - firstMs) / 1000;
  return {
    throughputPerSecond: deliveries / seconds,
    elapsedSeconds: seconds,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
  };
}

/**
 * One scan of the table after a run: each stored item's size as DynamoDB bills it, and what the run's
 * events weigh as EventBridge counts them (the events each record's state makes, what the publisher put
 * for it, sized as the publisher sizes its PutEvents entries), when `withEvents`.
 */
async function tableSizes(
  stack: BenchStack,
  withEvents: boolean,
): Promise<{ itemBytes: number[]; eventBytes: number[] }> {
  const dynamodb = new DynamoDBClient(clientConfig({ endpoint: stack.emulator.endpoint, region: REGION }));
  const sizes = { itemBytes: [] as number[], eventBytes: [] as number[] };
  const where = { eventBusName: stack.resources.eventBusName, eventSource: DEFAULT_CONFIG.eventSource };
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({ TableName: stack.resources.tableName, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) {
      sizes.itemBytes.push(itemBytes(item));
      if (!withEvents) continue;
      for (const event of eventsForChange(undefined, fromAttributeMap(item), stack.resources.bucketName)) {
        sizes.eventBytes.push(entrySize(eventEntry(event, where)));
      }
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  dynamodb.destroy();
  return sizes;
}

async function runPipeline(options: StackOptions, stack: BenchStack) {
  Object.assign(process.env, functionEnvironment(stack, stack.simulator.url));
  // The publisher's own variables; those it shares with the others (STACK_NAME, BUCKET_NAME) agree.
  Object.assign(
    process.env,
    publisherEnvironment(
      {
        stackName: String(process.env.STACK_NAME),
        eventBusName: stack.resources.eventBusName,
        bucketName: stack.resources.bucketName,
        eventsDeadLetterQueueUrl: stack.resources.eventsDlqUrl,
      },
      { eventSource: DEFAULT_CONFIG.eventSource },
    ),
  );
  const receiverLatencies: number[] = [];
  const storedAt = new Map<string, number>();
  let receiverLogBytes = 0;
  let workerLogBytes = 0;
  let publisherLogBytes = 0;
  const publishedAt = new Map<string, number>();
  let rejected = 0;
  const rejections = new Map<string, number>();
  // Deliveries queued per transcript: more than one is a duplicate (a retry of something already queued).
  const accepted = new Map<string, number>();
  let answered503 = 0;
  const otherOutcomes = new Map<string, number>();
  captureLogs((record, bytes) => {
    const message = String(record.message ?? "");
    // The publisher's log lines name it; its metric lines carry only its metrics.
    const aws = record._aws as
      | { CloudWatchMetrics?: Array<{ Metrics?: Array<{ Name?: string }> }> }
      | undefined;
    const metricNames = (aws?.CloudWatchMetrics ?? []).flatMap((set) =>
      (set.Metrics ?? []).map((m) => m.Name),
    );
    if (record.service === "publisher" || metricNames.some((name) => String(name).startsWith("Event"))) {
      publisherLogBytes += bytes;
      if (
        message === "event published" &&
        typeof record.order_id === "string" &&
        !publishedAt.has(record.order_id)
      ) {
        publishedAt.set(record.order_id, Date.now());
      }
      return;
    }
    if (message.startsWith("delivery")) {
      receiverLogBytes += bytes;
      if (typeof record.latency_ms === "number") receiverLatencies.push(record.latency_ms);
      if (
        record.status_code === 200 &&
        typeof record.transcript_id === "string" &&
        record.kind === "transcript"
      ) {
        accepted.set(record.transcript_id, (accepted.get(record.transcript_id) ?? 0) + 1);
      }
      if (record.status_code === 503) answered503++;
      if (record.status_code !== 200) {
        rejected++;
        const code = `${String(record.status_code)} ${String(record.error ?? "")}`;
        rejections.set(code, (rejections.get(code) ?? 0) + 1);
      }
    } else {
      workerLogBytes += bytes;
      if (record.outcome === "stored" && typeof record.order_id === "string") {
        if (!storedAt.has(record.order_id)) storedAt.set(record.order_id, Date.now());
      } else {
        const outcome = String(record.outcome ?? message);
        otherOutcomes.set(outcome, (otherOutcomes.get(outcome) ?? 0) + 1);
      }
    }
  });

  const receiver = (await import(pathToFileURL(options.receiverBundle).href)) as { handler: HttpApiHandler };
  const worker = (await import(pathToFileURL(options.workerBundle).href)) as {
    handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
  };
  const batches: Array<{ ms: number; size: number }> = [];
  const timedWorker: SqsHandler = async (event) => {
    const started = performance.now();
    const answer = await worker.handler(event);
    batches.push({ ms: performance.now() - started, size: event.Records.length });
    return answer;
  };
  // As `npm start` serves it (local/start.ts): moto slows down sharply under a crowd, SQS does not.
  const api = await serveHttpApi(receiver.handler, { port: 0, maxConcurrency: options.receiverConcurrency });
  const sqs = new SQSClient(clientConfig({ endpoint: stack.emulator.endpoint, region: REGION }));
  const poller = await startPoller({
    sqs,
    queueUrl: stack.resources.queueUrl,
    handler: timedWorker,
    region: REGION,
    batchSize: options.batchSize,
    concurrency: options.concurrency,
    waitTimeSeconds: 1,
  });
  const publisherBatches: Array<{ ms: number; size: number }> = [];
  const streams = new DynamoDBStreamsClient(
    clientConfig({ endpoint: stack.emulator.endpoint, region: REGION }),
  );
  const streamPoller = options.publisherBundle
    ? await (async () => {
        const publisher = (await import(pathToFileURL(options.publisherBundle as string).href)) as {
          handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;
        };
        return startStreamPoller({
          streams,
          streamArn: stack.resources.tableStreamArn,
          region: REGION,
          batchSize: EVENT_STREAM.batchSize,
          maxRetryAttempts: EVENT_STREAM.retryAttempts,
          bisectBatchOnError: EVENT_STREAM.bisectBatchOnError,
          filter: EVENT_STREAM.filterPattern,
          handler: async (event) => {
            const started = performance.now();
            const answer = await publisher.handler(event);
            publisherBatches.push({ ms: performance.now() - started, size: event.Records.length });
            return answer;
          },
        });
      })()
    : undefined;

  const n = options.deliveries;
  const leadMs = 2_000 + n * 2;
  const t0 = Date.now() + leadMs;
  const orderOf = new Map<string, string>();
  say(`submitting ${n} jobs; webhooks start in ${leadMs} ms at ${options.rate}/s`);
  await forEachLimited(n, 16, async (i) => {
    const due = t0 + (i * 1000) / options.rate;
    const orderId = `order-${i}`;
    const id = await submitJob(stack.simulator.url, {
      audioUrl: `https://bench.invalid/audio-${i}.mp3?delay_ms=${Math.max(0, Math.round(due - Date.now()))}`,
      webhookUrl: `${api.url}/webhook?customer_id=bench&order_id=${orderId}`,
      authHeaderValue: stack.resources.webhookSecretValue,
    });
    orderOf.set(id, orderId);
  });
  const lateBy = Date.now() - t0;
  if (lateBy > 0) say(`warning: submission finished ${lateBy} ms after the first webhook was due`);

  const queueDepth = async () => {
    const { Attributes: depth = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: stack.resources.queueUrl, AttributeNames: [...QUEUE_DEPTH] }),
    );
    return QUEUE_DEPTH.reduce((sum, name) => sum + Number(depth[name] ?? 0), 0);
  };
  const end = await waitForPipeline(
    {
      deliveries: stack.simulator.deliveries,
      stored: () => storedAt.size,
      queueDepth,
      polled: () => batches.reduce((sum, batch) => sum + batch.size, 0),
    },
    { transcripts: n, deadlineMs: Math.max(120_000, n * 200), say },
  );
  if (end.reason !== "stored") {
    say(
      `${end.reason === "deadline" ? "deadline passed" : "stopped early, nothing more can be stored"}: ` +
        `${storedAt.size} of ${n} stored; ${end.webhooks.failed} webhooks failed for good after ` +
        `${end.webhooks.attempts} attempts, ${end.webhooks.timedOut} of them timed out`,
    );
  }
  await poller.stop();
  if (streamPoller) {
    // Every stored record's event, or the deadline.
    const deadline = Date.now() + 60_000;
    while (publishedAt.size < storedAt.size && Date.now() < deadline) await sleep(100);
    await streamPoller.stop();
  }
  streams.destroy();
  await api.close();
  sqs.destroy();

  const firstAttempt = new Map<string, number>();
  let attempts = 0;
  for (const attempt of stack.simulator.deliveries) {
    attempts++;
    const at = Date.parse(attempt.at);
    const order = orderOf.get(attempt.transcriptId);
    if (order !== undefined && !firstAttempt.has(order)) firstAttempt.set(order, at);
  }
  const latencies: number[] = [];
  for (const [order, stored] of storedAt) {
    const first = firstAttempt.get(order);
    if (first !== undefined) latencies.push(stored - first);
  }
  const eventLatencies: number[] = [];
  for (const [order, published] of publishedAt) {
    const first = firstAttempt.get(order);
    if (first !== undefined) eventLatencies.push(published - first);
  }
  const { itemBytes: items, eventBytes: sizes } = await tableSizes(
    stack,
    options.publisherBundle !== undefined,
  );
  const firstMs = Math.min(...firstAttempt.values());
  const lastMs = Math.max(...storedAt.values());
  return {
    mode: "pipeline",
    stored: storedAt.size,
    ...summarize(latencies, firstMs, lastMs, storedAt.size),
    webhookAttempts: attempts,
    end: end.reason,
    failedWebhooks: end.webhooks.failed,
    timedOutAttempts: end.webhooks.timedOut,
    rejectedDeliveries: rejected,
    answered503,
    duplicateDeliveries: [...accepted.values()].reduce((sum, count) => sum + count - 1, 0),
    rejections: Object.fromEntries(rejections),
    otherOutcomes: Object.fromEntries(otherOutcomes),
    receiverMsP50: percentile(receiverLatencies, 50),
    receiverMsMean: receiverLatencies.reduce((a, b) => a + b, 0) / Math.max(1, receiverLatencies.length),
    receiverBilledMsMean:
      receiverLatencies.reduce((a, b) => a + Math.max(1, Math.ceil(b)), 0) /
      Math.max(1, receiverLatencies.length),
    workerBatches: batches.length,
    workerBatchSizeMean: batches.reduce((a, b) => a + b.size, 0) / Math.max(1, batches.length),
    workerBatchMsP50: median(batches.map((batch) => batch.ms)),
    /** Billed worker milliseconds (each invocation rounded up to 1 ms) per delivery. */
    workerBilledMsPerDelivery:
      batches.reduce((a, b) => a + Math.ceil(b.ms), 0) /
      Math.max(
        1,
        batches.reduce((a, b) => a + b.size, 0),
      ),
    logBytesPerDelivery: (receiverLogBytes + workerLogBytes) / Math.max(1, storedAt.size),
    receiverLogBytesPerDelivery: receiverLogBytes / Math.max(1, storedAt.size),
    workerLogBytesPerDelivery: workerLogBytes / Math.max(1, storedAt.size),
    itemBytesP50: median(items),
    itemBytesMax: Math.max(...items),
    eventsPublished: publishedAt.size,
    eventLatencyP50Ms: percentile(eventLatencies, 50),
    eventLatencyP99Ms: percentile(eventLatencies, 99),
    eventBytesP50: median(sizes),
    eventBytesMax: sizes.length > 0 ? Math.max(...sizes) : 0,
    publisherInvocations: publisherBatches.length,
    /** Billed publisher milliseconds (each invocation rounded up to 1 ms) per stored delivery. */
    publisherBilledMsPerDelivery:
      publisherBatches.reduce((a, b) => a + Math.ceil(b.ms), 0) / Math.max(1, storedAt.size),
    publisherLogBytesPerDelivery: publisherLogBytes / Math.max(1, storedAt.size),
  };
}

async function runFloor(options: StackOptions, stack: BenchStack) {
  const config = clientConfig({ endpoint: stack.emulator.endpoint, region: REGION });
  const sqs = new SQSClient(config);
  const dynamodb = new DynamoDBClient(config);
  const s3 = new S3Client(config);
  const n = options.deliveries;
  say(`preparing ${n} completed transcripts`);
  const ids: string[] = new Array(n);
  await forEachLimited(n, 16, async (i) => {
    ids[i] = await submitJob(stack.simulator.url, {
      audioUrl: `https://bench.invalid/audio-${i}.mp3?delay_ms=0`,
    });
  });
  await waitForCompleted(stack.simulator, ids, 60_000);

  const sentAt = new Map<string, number>();
  const storedAt = new Map<string, number>();
  const stop = new AbortController();
  const processOne = async (message: Message) => {
    const delivery = JSON.parse(message.Body ?? "{}") as {
      transcript_id: string;
      metadata: { customer_id: string; order_id: string };
    };
    const key = {
      customer_id: { S: delivery.metadata.customer_id },
      order_id: { S: delivery.metadata.order_id },
    };
    await dynamodb.send(
      new GetItemCommand({ TableName: stack.resources.tableName, Key: key, ConsistentRead: true }),
    );
    const response = await fetch(`${stack.simulator.url}/v2/transcript/${delivery.transcript_id}`, {
      headers: { authorization: SIMULATOR_API_KEY },
    });
    const body = new Uint8Array(await response.arrayBuffer());
    await s3.send(
      new PutObjectCommand({
        Bucket: stack.resources.bucketName,
        Key: `floor/${delivery.metadata.order_id}.json`,
        Body: body,
        ContentType: "application/json",
      }),
    );
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: stack.resources.tableName,
        Key: key,
        UpdateExpression: "SET transcript_id = :t, #s = :s, stored_at = :at",
        ExpressionAttributeNames: { "#s": "status" },
        ExpressionAttributeValues: {
          ":t": { S: delivery.transcript_id },
          ":s": { S: "completed" },
          ":at": { S: new Date().toISOString() },
        },
      }),
    );
    storedAt.set(delivery.metadata.order_id, Date.now());
  };
  const consumers = Array.from({ length: options.concurrency }, async () => {
    while (!stop.signal.aborted) {
      let received: Message[];
      try {
        const answer = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: stack.resources.queueUrl,
            MaxNumberOfMessages: options.batchSize,
            WaitTimeSeconds: 1,
          }),
          { abortSignal: stop.signal },
        );
        received = answer.Messages ?? [];
      } catch (error) {
        if (stop.signal.aborted) return;
        throw error;
      }
      if (received.length === 0) continue;
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(options.recordConcurrency, received.length) }, async () => {
          while (next < received.length) await processOne(received[next++] as Message);
        }),
      );
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: stack.resources.queueUrl,
          Entries: received.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
    }
  });

  const t0 = Date.now() + 500;
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / options.rate;
    const wait = due - Date.now();
    if (wait > 1) await sleep(wait);
    const orderId = `order-${i}`;
    sentAt.set(orderId, Date.now());
    sends.push(
      sqs.send(
        new SendMessageCommand({
          QueueUrl: stack.resources.queueUrl,
          MessageBody: deliveryMessageBody({ transcriptId: ids[i] as string, customerId: "bench", orderId }),
        }),
      ),
    );
  }
  await Promise.all(sends);
  const deadline = Date.now() + Math.max(120_000, n * 200);
  while (storedAt.size < n && Date.now() < deadline) await sleep(50);
  stop.abort();
  await Promise.allSettled(consumers);
  for (const client of [sqs, dynamodb, s3]) client.destroy();

  const latencies = [...storedAt].map(([order, stored]) => stored - (sentAt.get(order) ?? stored));
  return {
    mode: "floor",
    stored: storedAt.size,
    ...summarize(latencies, Math.min(...sentAt.values()), Math.max(...storedAt.values()), storedAt.size),
  };
}

/** An HTTP proxy to the simulator that holds `GET /v2/transcript/:id` for `delayMs` before forwarding. */
async function startDelayProxy(target: string) {
  const upstream = new URL(target);
  const state = { delayMs: 0 };
  const server = createServer((request, response) => {
    const delay =
      request.method === "GET" && /^\/v2\/transcript\/[^/]+$/.test(request.url ?? "") ? state.delayMs : 0;
    setTimeout(() => {
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      forward.on("error", () => {
        response.writeHead(502);
        response.end();
      });
      request.pipe(forward);
    }, delay);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function runSync(options: StackOptions, stack: BenchStack) {
  const proxy = await startDelayProxy(stack.simulator.url);
  Object.assign(process.env, functionEnvironment(stack, proxy.url), {
    ASSEMBLYAI_API_KEY: SIMULATOR_API_KEY,
    SYNC_WEBHOOK_SECRET: stack.resources.webhookSecretValue,
  });
  captureLogs(() => {});
  const receiver = (await import(pathToFileURL(options.receiverBundle).href)) as { handler: HttpApiHandler };
  const sync = (await import(pathToFileURL(options.syncBundle).href)) as { handler: HttpApiHandler };
  const ours = await serveHttpApi(receiver.handler, { port: 0 });
  const theirs = await serveHttpApi(sync.handler, { port: 0 });
  const perDelay = options.runs;
  const needed = 1 + options.delaysMs.length * perDelay;
  const ids: string[] = [];
  for (let i = 0; i < needed; i++) {
    ids.push(
      await submitJob(stack.simulator.url, { audioUrl: `https://bench.invalid/sync-${i}.mp3?delay_ms=0` }),
    );
  }
  await waitForCompleted(stack.simulator, ids, 30_000);
  const headers = { [AUTH_HEADER_NAME]: stack.resources.webhookSecretValue };
  const deliver = (base: string, id: string, order: string) =>
    postWebhook(
      `${base}/webhook?customer_id=bench&order_id=${order}`,
      headers,
      JSON.stringify({ transcript_id: id, status: "completed" }),
    );
  // Warm both (first-call costs are the cold-start section's business).
  for (const base of [ours.url, theirs.url]) {
    const warm = await deliver(base, ids[0] as string, "warmup");
    if (warm.status !== 200) throw new Error(`warm-up answered ${warm.status}`);
  }
  const results: Array<{ delayMs: number; ours: number[]; sync: number[]; syncStatuses: number[] }> = [];
  let next = 1;
  for (const delayMs of options.delaysMs) {
    proxy.state.delayMs = delayMs;
    const batch = ids.slice(next, next + perDelay);
    next += perDelay;
    say(`transcript endpoint slowed to ${delayMs} ms: ${perDelay} deliveries to each`);
    const oursMs: number[] = [];
    for (const [i, id] of batch.entries()) {
      const answer = await deliver(ours.url, id, `ours-${delayMs}-${i}`);
      if (answer.status !== 200) throw new Error(`our receiver answered ${answer.status}`);
      oursMs.push(answer.ms);
    }
    const syncAnswers = await Promise.all(
      batch.map((id, i) => deliver(theirs.url, id, `sync-${delayMs}-${i}`)),
    );
    results.push({
      delayMs,
      ours: oursMs,
      sync: syncAnswers.map((answer) => answer.ms),
      syncStatuses: syncAnswers.map((answer) => answer.status),
    });
  }
  await ours.close();
  await theirs.close();
  await proxy.close();
  return { mode: "sync", results };
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? "{}") as StackOptions;
  const stack = await startBenchStack({
    // AssemblyAI retries every 10 s; the pipeline run should not stall on a rare retry, so 1 s here.
    webhookRetryIntervalMs: 1_000,
  });
  try {
    const result =
      options.mode === "pipeline"
        ? await runPipeline(options, stack)
        : options.mode === "floor"
          ? await runFloor(options, stack)
          : await runSync(options, stack);
    reportResult(result);
  } finally {
    await stack.close();
  }
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
