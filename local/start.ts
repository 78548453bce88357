/**
 * `npm start`: the whole pipeline on one machine. An AWS emulator (moto, or AWS_ENDPOINT_URL), the stack's
 * queue, table, bucket, secrets and event bus on it, the receiver served as an HTTP API, the worker fed by an
 * SQS poller, the events publisher fed by the table's stream (local/stream-poller.ts stands in for Lambda's
 * DynamoDB stream event source, which moto lacks), all as the very bundles `cdk deploy` ships, and the
 * AssemblyAI simulator (or the real API when ASSEMBLYAI_API_KEY is set). It prints one line per event. When
 * ready it writes `.local/stack.json` for other tools and tests.
 *
 * Environment: PORT (3000; 0 = free port), AWS_ENDPOINT_URL, AWS_REGION (us-east-1), ASSEMBLYAI_API_KEY,
 * ASSEMBLYAI_API_KEY_EU, ASSEMBLYAI_BASE_URL, ASSEMBLYAI_REGION (the stack's assemblyAiRegion: us, eu, both),
 * SIMULATOR_PORT (0), SIMULATOR_DELAY_MS (1500), SIMULATOR_WEBHOOK_RETRY_MS (10000),
 * RECONCILE_EVERY_SECONDS (60; 0 = off), RETRY_BASE_SECONDS (2), LOCAL_RECEIVER_CONCURRENCY (4; 0 = unbounded),
 * SECRET_CACHE_TTL_SECONDS (300), THROTTLE_RATE_LIMIT and THROTTLE_BURST_LIMIT (the stack's
 * throttleRateLimit and throttleBurstLimit, 500 and 1000), LOCAL_STATE_DIR (.local), LOG_FORMAT (pretty | json),
 * EVENT_SOURCE (the stack's eventSource), QUEUE_VISIBILITY_TIMEOUT_SECONDS (the delivery queue's, 360 as
 * deployed: lower it to watch a crashed batch come back sooner).
 */
import { createWriteStream, mkdirSync, readFileSync, rmSync, type WriteStream, writeFileSync } from "node:fs";
import * as path from "node:path";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { SendMessageCommand, SetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { RECEIVER_NUMBERS } from "../functions/receiver/config";
import { RECONCILER_NUMBERS } from "../functions/reconciler/config";
import { ASSEMBLYAI_BASE_URLS, type AssemblyAiRegion } from "../functions/shared/assemblyai";
import {
  type AssemblyAiRegionRef,
  ENV,
  type PublisherSettings,
  publisherEnvironment,
  type ReceiverSettings,
  type ReconcilerSettings,
  receiverEnvironment,
  reconcilerEnvironment,
  type WorkerSettings,
  workerEnvironment,
} from "../functions/shared/contract/environment";
import {
  EVENT_STREAM,
  PUBLISHER_TIMEOUT_SECONDS,
  RECONCILER_TIMEOUT_SECONDS,
  WEBHOOK_PATH,
} from "../functions/shared/contract/resources";
import { type Env, optionalInteger, optionalList } from "../functions/shared/env";
import { WORKER_NUMBERS } from "../functions/worker/config";
import { renderAccessLog } from "../lib/access-log";
import { bundleFunction, PROJECT_ROOT } from "../lib/bundling";
import { CONTEXT_KEYS, resolveConfig, type WebhookStackConfig } from "../lib/config";
import { type AwsRecorder, signer, startAwsRecorder } from "./aws-recorder";
import { type DynamoDbWriteSerializer, startDynamoDbWriteSerializer } from "./dynamodb-writes";
import { type Emulator, EmulatorUnavailableError, startEmulator } from "./emulator";
import { describeEvent, type EventBusTap, startEventBusTap } from "./event-bus-tap";
import {
  DEFAULT_LOCAL_RECEIVER_CONCURRENCY,
  type HttpApiHandler,
  type HttpApiServer,
  serveHttpApi,
} from "./http-adapter";
import { type LocalFunction, startFunction } from "./lambda-runtime";
import { createLogPrinter } from "./log-printer";
import { type OutageControl, startOutageControl } from "./outages";
import {
  createResources,
  LOCAL_ACCOUNT_ID,
  LOCAL_CREDENTIALS,
  LOCAL_STACK_NAME,
  localAccessKeyId,
} from "./resources";
import { type Schedule, type ScheduledHandler, startSchedule } from "./schedule";
import { type Simulator, startSimulator } from "./simulator";
import { type Poller, type SqsHandler, startPoller } from "./sqs-poller";
import { type StreamHandler, type StreamPoller, startStreamPoller } from "./stream-poller";

/** What `.local/stack.json` holds: the contract other tools and tests read. */
export interface LocalStackContract {
  readonly webhookUrl: string;
  readonly authHeaderName: string;
  /** The current webhook secret value (rewritten by `aai-webhooks --local rotate-secret`). */
  readonly authHeaderValue: string;
  /** Optional only for stack.json files written before they existed. */
  readonly webhookSecretArn?: string;
  /** How long the receiver caches the webhook secret (SECRET_CACHE_TTL_SECONDS): what rotate-secret waits. */
  readonly webhookSecretCacheTtlSeconds?: number;
  readonly awsEndpoint: string;
  /** DynamoDB for tools and tests: the proxy that gives moto DynamoDB's per-item atomicity. */
  readonly dynamodbEndpoint: string;
  readonly region: string;
  readonly tableName: string;
  /** The usage counters' table; absent from stack.json files written before it existed. */
  readonly usageTableName?: string;
  readonly bucketName: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly assemblyAiBaseUrl: string;
  readonly assemblyAiApiKey: string;
  /**
   * Every configured AssemblyAI region (ASSEMBLYAI_REGION, else cdk.json's assemblyAiRegion), the first being
   * assemblyAiBaseUrl's; the simulator serves EU under `/eu`. Absent from stack.json files written before.
   */
  readonly assemblyAiRegions?: readonly LocalAssemblyAiRegion[];
  /** The bus the stack publishes its events to (locally always a bus of its own). */
  readonly eventBusName?: string;
  /** The events' `source`. */
  readonly eventSource?: string;
  /**
   * Local only: a queue that a rule on the bus fills with every event the stack publishes, each body the
   * full event as EventBridge delivers it to an SQS target (`detail-type`, `source`, `detail`, …).
   */
  readonly eventsQueueUrl?: string;
  /** The events dead-letter queue. */
  readonly eventsDlqUrl?: string;
  /**
   * EventBridge for tools and tests: the emulator's, through local/event-bus-tap.ts, which delivers what is
   * put on the stack's bus with its source to eventsQueueUrl (as a rule with an SQS target would).
   */
  readonly eventBridgeEndpoint?: string;
  /**
   * Local only: `PUT {controlUrl}/outages/sqs {"down": true}` cuts the functions off from SQS (and
   * `/outages/events` from EventBridge);
   * `PUT {controlUrl}/faults/worker-crash-after-write {"times": 1}` kills the worker after a record write.
   */
  readonly controlUrl: string;
  /** Local only: every AWS call the functions made, one JSON object per line (local/aws-recorder.ts). */
  readonly awsCallsFile: string;
  /** Local only: the API's access log, one line per request in the deployed stage's format. */
  readonly accessLogFile: string;
}

/** One region as the contract gives it to tools and tests. */
export interface LocalAssemblyAiRegion {
  readonly region: AssemblyAiRegion;
  readonly baseUrl: string;
  readonly apiKey: string;
}

const SIMULATOR_API_KEY = "local-simulator-key";
/** The simulator's EU region takes a key of its own, as AssemblyAI's regions do: a mix-up shows as a 401. */
const SIMULATOR_EU_API_KEY = "local-simulator-key-eu";

/** What the SQS poller signs with: the worker's role, as Lambda's event source mapping polls with it. */
const EVENT_SOURCE_ACCESS_KEY_ID = `${localAccessKeyId("worker")}-event-source`;
/** What the stream poller signs with: the publisher's role, as its event source mapping reads with it. */
const STREAM_SOURCE_ACCESS_KEY_ID = `${localAccessKeyId("publisher")}-event-source`;

function integerEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a whole number, got "${raw}"`);
  }
  return value;
}

/**
 * The deployed configuration (cdk.json context), so the local stack runs with the same settings; `overrides`
 * (settings by their context key) win, and are validated as synth validates them.
 */
export function stackConfig(
  overrides: Partial<Record<keyof WebhookStackConfig, unknown>> = {},
): WebhookStackConfig {
  const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "cdk.json"), "utf8")) as {
    context?: Record<string, unknown>;
  };
  const context = cdkJson.context ?? {};
  const raw = Object.fromEntries(
    CONTEXT_KEYS.filter((key) => context[key] !== undefined && context[key] !== "").map((key) => [
      key,
      context[key],
    ]),
  );
  const given = Object.entries(overrides).filter(([, value]) => value !== undefined && value !== "");
  return resolveConfig({ ...raw, ...Object.fromEntries(given) });
}

/** The local stand-ins for the references the CDK constructs pass: the emulator's resources, local URLs. */
export interface LocalRefs {
  /** As the functions reach it: through the AWS call recorder. */
  readonly queueUrl: string;
  readonly tableName: string;
  readonly usageTableName: string;
  readonly bucketName: string;
  readonly webhookSecretArn: string;
  readonly eventBusName: string;
  /** As the publisher reaches it: through the AWS call recorder. */
  readonly eventsDlqUrl: string;
  /** Each region: the simulator (EU under `/eu`), or AssemblyAI's API when ASSEMBLYAI_API_KEY is set. */
  readonly assemblyAiRegions: readonly [AssemblyAiRegionRef, ...AssemblyAiRegionRef[]];
}

export type LocalSettings = ReceiverSettings & WorkerSettings & ReconcilerSettings & PublisherSettings;

/** How often the local stream poller reads the table's stream when it found nothing new (see its use). */
const LOCAL_STREAM_POLL_MS = 1_000;

/** A first retry after 2 s, not Lambda's 30: a retry after a simulated AssemblyAI fault is watchable. */
const LOCAL_RETRY_BASE_SECONDS = 2;

/**
 * The settings the local functions run with: the deployed ones (`stackConfig()`), except that every source
 * address is allowed (local deliveries come from 127.0.0.1) unless ALLOWED_SOURCE_IPS says otherwise, the
 * simulator may serve redacted audio, the first retry comes sooner, and SECRET_CACHE_TTL_SECONDS and
 * RETRY_BASE_SECONDS in `env` override theirs (parsed as the functions parse them).
 */
export function localSettings(
  config: WebhookStackConfig,
  env: Env,
  simulatorUrl: string | undefined,
): LocalSettings {
  return {
    authHeaderName: config.authHeaderName,
    // The receiver parses the list at its cold start, as on Lambda; a bad entry stops `npm start` there.
    allowedSourceIps: optionalList(env, ENV.allowedSourceIps, []),
    redactedAudioHosts: [...config.redactedAudioHosts, ...(simulatorUrl ? [simulatorUrl] : [])],
    // As on Lambda by default; lower it to watch rotate-secret (which waits for it) in seconds.
    secretCacheTtlSeconds: optionalInteger(
      env,
      ENV.secretCacheTtlSeconds,
      RECEIVER_NUMBERS.secretCacheTtlSeconds,
    ),
    inlineTextMaxBytes: config.inlineTextMaxBytes,
    retryBaseSeconds: optionalInteger(env, ENV.retryBaseSeconds, {
      ...WORKER_NUMBERS.retryBaseSeconds,
      fallback: LOCAL_RETRY_BASE_SECONDS,
    }),
    deleteFromAssemblyAi: config.deleteFromAssemblyAi,
    retentionDays: config.retentionDays,
    reconcileMaxApiCalls: config.reconcileMaxApiCalls,
    reconcileLookbackMinutes: config.reconcileLookbackMinutes,
    reconcileMaxPendingMinutes: RECONCILER_NUMBERS.maxPendingMinutes.fallback,
    eventSource: config.eventSource,
  };
}

/**
 * Each local function's own variables, from the definitions the CDK constructs use
 * (functions/shared/contract/environment.ts): the same names, local resources for the references.
 */
export function localEnvironments(refs: LocalRefs, settings: LocalSettings) {
  const stackName = LOCAL_STACK_NAME;
  const { queueUrl, tableName, bucketName, assemblyAiRegions } = refs;
  return {
    receiver: receiverEnvironment(
      { stackName, queueUrl, webhookSecretArn: refs.webhookSecretArn, bucketName },
      settings,
    ),
    worker: workerEnvironment(
      { stackName, queueUrl, tableName, bucketName, usageTableName: refs.usageTableName, assemblyAiRegions },
      settings,
    ),
    publisher: publisherEnvironment(
      { stackName, eventBusName: refs.eventBusName, bucketName, eventsDeadLetterQueueUrl: refs.eventsDlqUrl },
      settings,
    ),
    /** The reconciler's environment needs the receiver's URL, known only once the API listens. */
    reconciler: (webhookUrl: string) =>
      reconcilerEnvironment(
        { stackName, queueUrl, tableName, bucketName, assemblyAiRegions, webhookUrl },
        settings,
      ),
  };
}

async function main(): Promise<void> {
  // The SDK's notice that later versions need Node.js 22 is known (Lambda runs 24); keep the console readable.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const printer = createLogPrinter(process.env.LOG_FORMAT === "json" ? "json" : "pretty");
  const say = printer.say;
  const stateDir = path.resolve(PROJECT_ROOT, process.env.LOCAL_STATE_DIR ?? ".local");
  const contractPath = path.join(stateDir, "stack.json");
  const region = process.env.AWS_REGION ?? "us-east-1";
  const port = integerEnv("PORT", 3000);
  // The stage throttle can be lowered to watch a 429 (or raised) without editing cdk.json.
  const config = stackConfig({
    throttleRateLimit: process.env.THROTTLE_RATE_LIMIT,
    throttleBurstLimit: process.env.THROTTLE_BURST_LIMIT,
    // `both` (or `us,eu`) serves and configures the simulator's two regions; checked as synth checks it.
    assemblyAiRegion: process.env.ASSEMBLYAI_REGION,
    // Deleting at AssemblyAI (the simulator's) and a retention, checked as synth checks the settings.
    deleteFromAssemblyAi: process.env.DELETE_FROM_ASSEMBLYAI,
    retentionDays: process.env.RETENTION_DAYS,
    eventSource: process.env.EVENT_SOURCE,
  });

  const running: {
    emulator?: Emulator;
    simulator?: Simulator;
    api?: HttpApiServer;
    poller?: Poller;
    streamPoller?: StreamPoller;
    eventBusTap?: EventBusTap;
    reconcile?: Schedule;
    dynamoDbWrites?: DynamoDbWriteSerializer;
    outages?: OutageControl;
    recorder?: AwsRecorder;
    accessLog?: WriteStream;
    functions: Array<{ close(): Promise<void> }>;
  } = { functions: [] };
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("local", "shutting down");
    rmSync(contractPath, { force: true });
    await running.reconcile?.stop();
    await running.poller?.stop();
    await running.streamPoller?.stop();
    await running.eventBusTap?.close();
    await running.api?.close();
    if (running.accessLog) await new Promise<void>((resolve) => running.accessLog?.end(resolve));
    await Promise.all(running.functions.map((fn) => fn.close()));
    await running.simulator?.close();
    await running.outages?.close();
    await running.recorder?.close();
    await running.dynamoDbWrites?.close();
    await running.emulator?.stop();
    printer.restore();
    process.exit(code);
  };
  process.once("SIGINT", () => void shutdown(0));
  process.once("SIGTERM", () => void shutdown(0));

  try {
    say("local", "starting the AWS emulator");
    running.emulator = await startEmulator();
    const awsEndpoint = running.emulator.endpoint;

    const realApiKey = process.env.ASSEMBLYAI_API_KEY?.trim();
    let assemblyAiRegions: [LocalAssemblyAiRegion, ...LocalAssemblyAiRegion[]];
    if (realApiKey) {
      // ASSEMBLYAI_BASE_URL stands in for the first region's API; another region's key may differ.
      assemblyAiRegions = config.assemblyAiRegion.map((name, index) => ({
        region: name,
        baseUrl: (index === 0 ? process.env.ASSEMBLYAI_BASE_URL : undefined) ?? ASSEMBLYAI_BASE_URLS[name],
        apiKey: process.env[`ASSEMBLYAI_API_KEY_${name.toUpperCase()}`]?.trim() || realApiKey,
      })) as [LocalAssemblyAiRegion, ...LocalAssemblyAiRegion[]];
    } else {
      const simulator = await startSimulator({
        port: integerEnv("SIMULATOR_PORT", 0),
        apiKey: SIMULATOR_API_KEY,
        euApiKey: SIMULATOR_EU_API_KEY,
        processingDelayMs: integerEnv("SIMULATOR_DELAY_MS", 1500),
        webhookRetryIntervalMs: integerEnv("SIMULATOR_WEBHOOK_RETRY_MS", 10_000),
        logger: (line) => say("assemblyai", line),
      });
      running.simulator = simulator;
      const served: Record<AssemblyAiRegion, Omit<LocalAssemblyAiRegion, "region">> = {
        us: { baseUrl: simulator.url, apiKey: SIMULATOR_API_KEY },
        eu: { baseUrl: simulator.euUrl, apiKey: SIMULATOR_EU_API_KEY },
      };
      assemblyAiRegions = config.assemblyAiRegion.map((name) => ({ region: name, ...served[name] })) as [
        LocalAssemblyAiRegion,
        ...LocalAssemblyAiRegion[],
      ];
    }
    const { baseUrl: assemblyAiBaseUrl, apiKey: assemblyAiApiKey } = assemblyAiRegions[0];

    say("local", `creating resources on ${awsEndpoint}`);
    const resources = await createResources(
      { endpoint: awsEndpoint, region },
      assemblyAiRegions.map(({ region: name, apiKey }) => ({ region: name, apiKey })) as [
        { region: AssemblyAiRegion; apiKey: string },
        ...{ region: AssemblyAiRegion; apiKey: string }[],
      ],
    );
    const visibilityTimeout = process.env.QUEUE_VISIBILITY_TIMEOUT_SECONDS;
    if (visibilityTimeout !== undefined && visibilityTimeout !== "") {
      const seconds = integerEnv("QUEUE_VISIBILITY_TIMEOUT_SECONDS", 0);
      const sqs = new SQSClient({ endpoint: awsEndpoint, region, credentials: LOCAL_CREDENTIALS });
      await sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: resources.queueUrl,
          Attributes: { VisibilityTimeout: String(seconds) },
        }),
      );
      sqs.destroy();
      say(
        "local",
        `the delivery queue's visibility timeout is ${seconds} s (QUEUE_VISIBILITY_TIMEOUT_SECONDS)`,
      );
    }

    // What a rule on the stack's source with an SQS target would do: every event to the events queue, and a
    // line printed for each.
    const tapSqs = new SQSClient({ endpoint: awsEndpoint, region, credentials: LOCAL_CREDENTIALS });
    running.eventBusTap = await startEventBusTap({
      upstream: awsEndpoint,
      eventBusName: resources.eventBusName,
      eventSource: config.eventSource,
      region,
      accountId: LOCAL_ACCOUNT_ID,
      sqs: tapSqs,
      queueUrl: resources.eventsQueueUrl,
      onEvent: (event) => say("events", describeEvent(event)),
      onError: (error) => say("events", `could not deliver an event to the events queue: ${String(error)}`),
    });
    running.outages = await startOutageControl(awsEndpoint, (line) => say("local", line), {
      events: running.eventBusTap.endpoint,
    });
    // The crash fault (PUT {controlUrl}/faults/worker-crash-after-write): once a record write of the worker
    // has committed, its execution environment is killed before it hears the answer.
    let workerFunction: LocalFunction<unknown, unknown> | undefined;
    const recordTable = `"${resources.tableName}"`;
    running.dynamoDbWrites = await startDynamoDbWriteSerializer(awsEndpoint, {
      afterWrite: async (write) => {
        if (signer(write.authorization)?.accessKeyId !== localAccessKeyId("worker")) return;
        if (!write.body.includes(recordTable) || !running.outages?.takeWorkerCrash()) return;
        say("local", `fault: the worker is killed after its ${write.operation} of a record committed`);
        await workerFunction?.crash();
      },
    });

    say("local", "bundling the receiver, worker, reconciler and events publisher as deployed");
    const buildDir = path.join(stateDir, "build");
    rmSync(buildDir, { recursive: true, force: true });
    for (const name of ["receiver", "worker", "reconciler", "publisher"] as const) {
      bundleFunction(name, path.join(buildDir, name));
    }

    // Each function in an execution environment of its own (local/lambda-runtime.ts) with only its own
    // variables, as on Lambda, and its own access key: the recorder in front of the emulator tells their
    // AWS calls apart by it (`aws-calls.jsonl`), for the tests that check them against the IAM policies.
    mkdirSync(stateDir, { recursive: true });
    const awsCallsFile = path.join(stateDir, "aws-calls.jsonl");
    rmSync(awsCallsFile, { force: true });
    running.recorder = await startAwsRecorder({
      upstreams: {
        // SQS and EventBridge through the proxies that can simulate an outage; DynamoDB through the one
        // that gives moto DynamoDB's per-item atomicity; the rest straight to the emulator.
        sqs: running.outages.sqsEndpoint,
        events: running.outages.eventsEndpoint,
        dynamodb: running.dynamoDbWrites.endpoint,
        default: awsEndpoint,
      },
      // The event source's polls skip the outage proxy: a simulated outage is the functions' own calls
      // failing, and a poll it cut would hide its messages for the visibility timeout (6 minutes).
      upstreamFor: (accessKeyId, service) =>
        (accessKeyId === EVENT_SOURCE_ACCESS_KEY_ID || accessKeyId === STREAM_SOURCE_ACCESS_KEY_ID) &&
        service === "sqs"
          ? awsEndpoint
          : undefined,
      region,
      accountId: LOCAL_ACCOUNT_ID,
      file: awsCallsFile,
    });
    const functionEnv = (name: string, variables: Record<string, string>): Record<string, string> => ({
      AWS_ENDPOINT_URL: running.recorder?.endpoint ?? awsEndpoint,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: localAccessKeyId(name),
      AWS_SECRET_ACCESS_KEY: "local",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...variables,
    });
    // The SDK sends SQS requests to the queue URL's host, so the functions get the recorder's host in it.
    const queueUrl = viaProxy(resources.queueUrl, running.recorder.endpoint);
    const settings = localSettings(config, process.env, running.simulator?.url);
    const environments = localEnvironments(
      {
        queueUrl,
        tableName: resources.tableName,
        usageTableName: resources.usageTableName,
        bucketName: resources.bucketName,
        webhookSecretArn: resources.webhookSecretArn,
        eventBusName: resources.eventBusName,
        eventsDlqUrl: viaProxy(resources.eventsDlqUrl, running.recorder.endpoint),
        assemblyAiRegions: assemblyAiRegions.map((entry, index) => ({
          region: entry.region,
          baseUrl: entry.baseUrl,
          apiKeySecretArn: resources.apiKeySecrets[index]?.arn ?? resources.apiKeySecretArn,
        })) as [AssemblyAiRegionRef, ...AssemblyAiRegionRef[]],
      },
      settings,
    );
    const start = <E, R>(name: string, variables: Record<string, string>) =>
      startFunction<E, R>({
        name,
        bundle: path.join(buildDir, name, "index.mjs"),
        env: functionEnv(name, variables),
      });

    const receiver = await start<Parameters<HttpApiHandler>[0], Awaited<ReturnType<HttpApiHandler>>>(
      "receiver",
      environments.receiver,
    );
    running.functions.push(receiver);
    const worker = await start<Parameters<SqsHandler>[0], Awaited<ReturnType<SqsHandler>>>(
      "worker",
      environments.worker,
    );
    running.functions.push(worker);
    workerFunction = worker as LocalFunction<unknown, unknown>;
    const publisher = await start<Parameters<StreamHandler>[0], Awaited<ReturnType<StreamHandler>>>(
      "publisher",
      environments.publisher,
    );
    running.functions.push(publisher);

    const accessLogFile = path.join(stateDir, "access-log.jsonl");
    const accessLog = createWriteStream(accessLogFile, { flags: "w", mode: 0o600 });
    running.accessLog = accessLog;
    running.api = await serveHttpApi(receiver.handler, {
      port,
      // The deployed stage's throttle and access-log line.
      throttle: { rateLimit: config.throttleRateLimit, burstLimit: config.throttleBurstLimit },
      onAccessLog: (values) => accessLog.write(`${renderAccessLog(LOCAL_STACK_NAME, values)}\n`),
      maxConcurrency:
        integerEnv("LOCAL_RECEIVER_CONCURRENCY", DEFAULT_LOCAL_RECEIVER_CONCURRENCY) ||
        Number.POSITIVE_INFINITY,
      onError: (error) => say("receiver", `handler threw: ${String(error)}`),
    });
    running.poller = await startPoller({
      // Lambda's event source mapping polls with the function's role: so does this, through the recorder
      // (with a key of its own that the tests map to the worker's role).
      sqs: new SQSClient({
        endpoint: running.recorder.endpoint,
        region,
        credentials: { accessKeyId: EVENT_SOURCE_ACCESS_KEY_ID, secretAccessKey: "local" },
        // Well past the long poll's wait: a poll whose connection vanished fails and is retried.
        requestHandler: { connectionTimeout: 3_000, requestTimeout: 15_000, throwOnRequestTimeout: true },
      }),
      queueUrl,
      handler: worker.handler,
      region,
      batchSize: config.workerBatchSize,
      concurrency: config.workerMaxConcurrency,
      onError: (error) => say("worker", `poller error: ${String(error)}`),
    });

    // Lambda's DynamoDB stream event source, as lib/event-publishing.ts configures it (EVENT_STREAM): it
    // reads with the publisher's role and sends its pointers to failed batches to the events DLQ.
    const streamSourceClient = {
      endpoint: running.recorder.endpoint,
      region,
      credentials: { accessKeyId: STREAM_SOURCE_ACCESS_KEY_ID, secretAccessKey: "local" },
    };
    const failureQueue = new SQSClient(streamSourceClient);
    const eventsDlqUrl = viaProxy(resources.eventsDlqUrl, running.recorder.endpoint);
    running.streamPoller = await startStreamPoller({
      streams: new DynamoDBStreamsClient(streamSourceClient),
      streamArn: resources.tableStreamArn,
      handler: publisher.handler,
      region,
      batchSize: EVENT_STREAM.batchSize,
      maxRetryAttempts: EVENT_STREAM.retryAttempts,
      bisectBatchOnError: EVENT_STREAM.bisectBatchOnError,
      filter: EVENT_STREAM.filterPattern,
      functionName: "local-publisher",
      // Once a second, not Lambda's 4 times: each GetRecords costs moto some 15 ms and it serves one request
      // at a time, so under a burst the faster polls slow every other call; events come up to 0.75 s later.
      pollIntervalMs: LOCAL_STREAM_POLL_MS,
      timeoutMs: PUBLISHER_TIMEOUT_SECONDS * 1000,
      onFailure: async (record) => {
        say("publisher", `a stream batch failed after its retries: pointer sent to the events DLQ`);
        await failureQueue.send(
          new SendMessageCommand({ QueueUrl: eventsDlqUrl, MessageBody: JSON.stringify(record) }),
        );
      },
      onError: (error) => say("publisher", `stream poller error: ${String(error)}`),
    });

    const webhookUrl = `${running.api.url}${WEBHOOK_PATH}`;
    const reconcileEverySeconds = integerEnv("RECONCILE_EVERY_SECONDS", 60);
    if (reconcileEverySeconds > 0) {
      // Its configuration needs the receiver's URL, known only now.
      const reconciler = await start<Parameters<ScheduledHandler>[0], unknown>(
        "reconciler",
        environments.reconciler(webhookUrl),
      );
      running.functions.push(reconciler);
      running.reconcile = startSchedule(reconciler.handler, {
        everyMs: reconcileEverySeconds * 1000,
        region,
        functionName: "local-reconciler",
        timeoutMs: RECONCILER_TIMEOUT_SECONDS * 1000,
        onError: (error) => say("reconciler", `run failed: ${String(error)}`),
      });
    }

    const contract: LocalStackContract = {
      webhookUrl,
      authHeaderName: config.authHeaderName,
      authHeaderValue: resources.webhookSecretValue,
      webhookSecretArn: resources.webhookSecretArn,
      webhookSecretCacheTtlSeconds: settings.secretCacheTtlSeconds,
      awsEndpoint,
      dynamodbEndpoint: running.dynamoDbWrites.endpoint,
      region,
      tableName: resources.tableName,
      usageTableName: resources.usageTableName,
      bucketName: resources.bucketName,
      queueUrl: resources.queueUrl,
      dlqUrl: resources.dlqUrl,
      eventBusName: resources.eventBusName,
      eventSource: config.eventSource,
      eventsQueueUrl: resources.eventsQueueUrl,
      eventsDlqUrl: resources.eventsDlqUrl,
      eventBridgeEndpoint: running.eventBusTap.endpoint,
      assemblyAiBaseUrl,
      assemblyAiApiKey,
      assemblyAiRegions,
      controlUrl: running.outages.controlUrl,
      awsCallsFile,
      accessLogFile,
    };
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(contractPath, `${JSON.stringify(contract, null, 2)}\n`, { mode: 0o600 });
    printer.banner(banner(contract, contractPath, running.simulator !== undefined));
  } catch (error) {
    if (error instanceof EmulatorUnavailableError) {
      printer.restore();
      console.error(error.message);
    } else if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      say(
        "local",
        `port ${port} is already in use: stop what holds it, or set PORT (PORT=0 picks a free one)`,
      );
    } else {
      say(
        "local",
        `failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
    await shutdown(1);
  }
}

/** The same URL on another origin. */
function viaProxy(url: string, origin: string): string {
  const rewritten = new URL(url);
  const target = new URL(origin);
  rewritten.host = target.host;
  rewritten.protocol = target.protocol;
  return rewritten.toString();
}

function banner(contract: LocalStackContract, contractPath: string, simulated: boolean): string {
  const example =
    `curl -sS -X POST '${contract.webhookUrl}?customer_id=acme&order_id=order-1' \\\n` +
    `  -H '${contract.authHeaderName}: ${contract.authHeaderValue}' \\\n` +
    `  -H 'content-type: application/json' \\\n` +
    `  -d '{"transcript_id":"<id from the simulator>","status":"completed"}'`;
  return [
    "",
    "AssemblyAI webhook receiver, running locally",
    `  webhook      POST ${contract.webhookUrl}?customer_id=…&order_id=…`,
    `  auth header  ${contract.authHeaderName}`,
    ...(contract.assemblyAiRegions ?? []).map(
      (entry, index) =>
        `  AssemblyAI   ${entry.region}: ${entry.baseUrl}${simulated ? " (simulator)" : ""}` +
        (index === 0 && (contract.assemblyAiRegions?.length ?? 0) > 1 ? " (default)" : ""),
    ),
    `  AWS          ${contract.awsEndpoint} (table ${contract.tableName}, bucket ${contract.bucketName})`,
    `  events       bus ${contract.eventBusName}, source ${contract.eventSource}; each one printed here ` +
      "and put on eventsQueueUrl",
    `  contract     ${path.relative(process.cwd(), contractPath)}`,
    "",
    "Try it:",
    "  npm run demo            submit sample jobs and watch them get stored",
    `  ${example.split("\n").join("\n  ")}`,
    "",
    "Ctrl-C stops everything.",
    "",
  ].join("\n");
}

// Only as the program (`npm start`): importing this module for its types must never start a stack.
if (require.main === module) void main();
