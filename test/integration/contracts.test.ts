/**
 * What the functions really do, held against what AWS would allow and watch. moto enforces no IAM and has
 * no CloudWatch, so the local stack runs each function with its own access key behind a recorder, drives
 * them through every path that touches AWS (stored, redacted audio, a streaming session, AssemblyAI error
 * and 404, transient failures, the API key placeholder, a wrong secret, an SQS outage, an archived notice, a
 * malformed message, the reconciler's first and later runs, the events publisher reading the table's stream
 * and, during an EventBridge outage, dead-lettering), and then:
 * - every recorded AWS call is simulated against that function's role in the synthesized template (with
 *   S3's rule that a GetObject of a missing key answers 404 only to a caller that may list the bucket);
 * - every metric an alarm or a dashboard graph selects is one the functions' log lines really create, or one
 *   the template's metric filters create from the access-log lines the local API wrote in the stage's format
 *   (the stack runs with a low stage throttle, and a burst past it gets 429s for the throttle alarm's metric).
 */
import { readFileSync } from "node:fs";
import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { DescribeSecretCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { PurgeQueueCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { API_KEY_PLACEHOLDER_PREFIX } from "../../functions/shared/contract/environment";
import { resolveConfig } from "../../lib/config";
import { WebhookStack } from "../../lib/webhook-stack";
import type { RecordedCall } from "../../local/aws-recorder";
import { LOCAL_NAMES, LOCAL_STACK_NAME, localAccessKeyId } from "../../local/resources";
import { ACCOUNT_ID, type Binding, evaluationsOf, TemplateIam, type TemplateJson } from "../support/iam";
import { emittedMetrics, filteredMetrics, key, matches, selectedMetrics } from "../support/metrics";
import { secretsClient } from "./cli-support";
import { audioUrl, eventually, uniqueId, useLocalStack } from "./support";

/** Far above this file's own traffic (a few deliveries at a time), far below the burst it sends. */
const THROTTLE = { rateLimit: 20, burstLimit: 40 };

const stack = useLocalStack({
  RECONCILE_EVERY_SECONDS: "3",
  SIMULATOR_WEBHOOK_RETRY_MS: "1000",
  THROTTLE_RATE_LIMIT: String(THROTTLE.rateLimit),
  THROTTLE_BURST_LIMIT: String(THROTTLE.burstLimit),
});

// The stack as deployed, under the local stack's name (the `Stack` dimension its functions emit).
const template = Template.fromStack(
  new WebhookStack(new App(), LOCAL_STACK_NAME, { config: resolveConfig({}) }),
).toJSON() as TemplateJson;

function logicalId(type: string, pattern: RegExp): string {
  const ids = Object.keys(template.Resources).filter(
    (id) => template.Resources[id]?.Type === type && pattern.test(id),
  );
  if (ids.length !== 1) throw new Error(`expected one ${type} matching ${pattern}, found ${ids.join(", ")}`);
  return ids[0] as string;
}

const ACCESS_LOGS_ID = logicalId("AWS::Logs::LogGroup", /AccessLogs/);

/** Statuses of a burst of requests past the stage throttle, sent once everything else is done. */
let burstStatuses: number[] = [];
let burstBodies: string[] = [];

const FUNCTIONS = {
  receiver: /Receiver/,
  worker: /Worker/,
  reconciler: /^Reconciler/,
  publisher: /EventsPublisher/,
} as const;

beforeAll(async () => {
  const s = stack();
  const secrets = secretsClient(s);
  const put = (value: string) =>
    secrets.send(new PutSecretValueCommand({ SecretId: LOCAL_NAMES.apiKeySecret, SecretString: value }));
  const realKey = s.contract.assemblyAiApiKey;

  // Before any fetch, so the worker's first read of the key finds the placeholder.
  await put(`${API_KEY_PLACEHOLDER_PREFIX}: set the AssemblyAI API key`);
  const waiting = uniqueId("order");
  await s.submit(uniqueId("keyless"), waiting);
  await s.waitForLog(
    (line) => line.reason === "AssemblyAI API key not set",
    30_000,
    "an API key not set failure",
  );
  await put(realKey);

  const customer = uniqueId("contracts");
  const stored = await s.submit(customer, "stored");
  const redacted = await s.submit(customer, "redacted", { redactPiiAudio: true });
  const failed = await s.submit(customer, "error", { audioUrl: audioUrl({ simulate: "error" }) });
  const flaky = await s.submit(customer, "flaky", { audioUrl: audioUrl({ delay_ms: 1500 }) });
  await s.addFault({ status: 500, times: 1, transcriptId: flaky.id });
  const missing = await s.submit(customer, "missing", { audioUrl: audioUrl({ delay_ms: 1500 }) });
  await s.addFault({ status: 404, times: 100, transcriptId: missing.id });
  // A job whose webhook is refused for good (wrong secret): only the reconciler can store it.
  const refused = await s.submit(customer, "refused", { authHeaderValue: "not-the-secret" });
  // A streaming session: its body stored whole, nothing fetched.
  const session = await s.endStreamingSession(customer, "session", { turns: 3 });
  // An unauthenticated probe, an archived notice, a malformed message straight onto the queue.
  await s.postWebhook(
    s.webhookUrl(customer, "probe"),
    { transcript_id: stored.id, status: "completed" },
    {
      authHeaderValue: "wrong",
    },
  );
  await s.postWebhook(s.webhookUrl(customer, "notice"), { status: "something_new" });
  // Authenticated but unroutable: quarantined with a 2xx, archived by the worker under quarantine/.
  await s.postWebhook(s.webhookUrl(customer, "quarantined"), "{not json");
  // A body over SQS's limit: the receiver writes a claim check to inbox/, the worker reads it.
  const large = await s.submit(customer, "large");
  await s.waitForRecord(customer, "large", (r) => r.transcript_id === large.id, 60_000);
  await s.postWebhook(s.webhookUrl(customer, "large-again"), {
    transcript_id: large.id,
    status: "completed",
    padding: "x".repeat(300 * 1024),
  });
  await s.sqs.send(new SendMessageCommand({ QueueUrl: s.contract.queueUrl, MessageBody: "{not json" }));

  for (const [order, id] of [
    ["stored", stored.id],
    ["redacted", redacted.id],
    ["error", failed.id],
    ["flaky", flaky.id],
    ["missing", missing.id],
    ["refused", refused.id],
    ["session", session.session_id],
    ["large-again", large.id],
  ] as const) {
    await s.waitForRecord(customer, order, (r) => r.transcript_id === id && r.status !== undefined, 60_000);
  }
  await s.waitForRecord(customer, "redacted", (r) => typeof r.redacted_audio_s3_key === "string", 30_000);
  await s.waitForLog((line) => line.outcome === "unknown_archived", 30_000, "the archived notice");
  await s.waitForLog((line) => line.outcome === "quarantine_archived", 30_000, "the quarantined request");
  await s.waitForLog(
    (line) => typeof line.reason === "string" && line.reason.startsWith("malformed message"),
    30_000,
    "the malformed message archived",
  );

  // An SQS outage: the receiver answers 503 (a failed delivery).
  const setSqsDown = (down: boolean) =>
    fetch(`${s.contract.controlUrl}/outages/sqs`, { method: "PUT", body: JSON.stringify({ down }) });
  await setSqsDown(true);
  try {
    const late = await s.submit(customer, "outage");
    await eventually(
      async () => ((await s.deliveries(late.id)).some((a) => a.statusCode === 503) ? true : undefined),
      { timeoutMs: 20_000, describe: () => "a 503 during the outage" },
    );
  } finally {
    await setSqsDown(false);
  }
  // That AssemblyAI's retry then lands it is resilience.test.ts's to show.

  // An EventBridge outage: the publisher retries, then keeps the event in the events dead-letter queue.
  const setEventsDown = (down: boolean) =>
    fetch(`${s.contract.controlUrl}/outages/events`, { method: "PUT", body: JSON.stringify({ down }) });
  await setEventsDown(true);
  try {
    await s.submit(customer, "unannounced");
    await s.waitForLog((line) => line.message === "event dead-lettered", 60_000, "an event dead-lettered");
  } finally {
    await setEventsDown(false);
  }
  await s.sqs.send(new PurgeQueueCommand({ QueueUrl: s.contract.eventsDlqUrl as string }));
  // Two reconciler runs at least: the first without a checkpoint, a later one reading it.
  await s.waitForLog(
    (line) => line.message === "reconcile run" && Number(line.queued) > 0,
    60_000,
    "a run that queued",
  );
  await eventually(
    async () =>
      recordedCalls().some(
        (c) => c.accessKeyId.startsWith(localAccessKeyId("reconciler")) && c.operation === "GetObject",
      )
        ? true
        : undefined,
    { timeoutMs: 60_000, describe: () => "a reconciler run that read the checkpoint an earlier run wrote" },
  );

  // Last, so that no genuine delivery meets the empty bucket: a burst past it, on a path nothing routes.
  const burst = await Promise.all(
    Array.from({ length: THROTTLE.burstLimit + 30 }, () =>
      fetch(new URL("/throttle-probe", s.contract.webhookUrl), { signal: AbortSignal.timeout(15_000) }),
    ),
  );
  burstStatuses = burst.map((response) => response.status);
  burstBodies = await Promise.all(burst.map((response) => response.text()));
}, 240_000);

function accessLogLines(): Array<Record<string, unknown>> {
  return readFileSync(stack().contract.accessLogFile, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function recordedCalls(): RecordedCall[] {
  return readFileSync(stack().contract.awsCallsFile, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as RecordedCall);
}

describe("IAM, simulated over what the functions really called", () => {
  async function bindings(): Promise<Record<string, Binding>> {
    const s = stack();
    const secrets = secretsClient(s);
    const arnOf = async (name: string) =>
      (await secrets.send(new DescribeSecretCommand({ SecretId: name }))).ARN ?? name;
    const queue = (name: string): Binding => ({
      ref: `https://sqs.${s.contract.region}.amazonaws.com/${ACCOUNT_ID}/${name}`,
      attributes: { Arn: `arn:aws:sqs:${s.contract.region}:${ACCOUNT_ID}:${name}`, QueueName: name },
    });
    return {
      [logicalId("AWS::DynamoDB::Table", /^StoreTable/)]: {
        ref: s.contract.tableName,
        attributes: {
          Arn: `arn:aws:dynamodb:${s.contract.region}:${ACCOUNT_ID}:table/${s.contract.tableName}`,
          StreamArn: String(
            (await s.dynamodb.send(new DescribeTableCommand({ TableName: s.contract.tableName }))).Table
              ?.LatestStreamArn,
          ),
        },
      },
      [logicalId("AWS::Events::EventBus", /EventsBus/)]: {
        ref: String(s.contract.eventBusName),
        attributes: {
          Arn: `arn:aws:events:${s.contract.region}:${ACCOUNT_ID}:event-bus/${s.contract.eventBusName}`,
        },
      },
      [logicalId("AWS::SQS::Queue", /EventsFailedEvents/)]: queue(LOCAL_NAMES.eventsDlq),
      [logicalId("AWS::DynamoDB::Table", /^StoreUsageTable/)]: {
        ref: LOCAL_NAMES.usageTable,
        attributes: {
          Arn: `arn:aws:dynamodb:${s.contract.region}:${ACCOUNT_ID}:table/${LOCAL_NAMES.usageTable}`,
        },
      },
      [logicalId("AWS::SQS::Queue", /DeliveriesQueue/)]: queue(LOCAL_NAMES.queue),
      [logicalId("AWS::SQS::Queue", /DeadLetterQueue/)]: queue(LOCAL_NAMES.dlq),
      [logicalId("AWS::S3::Bucket", /StoreBucket/)]: {
        ref: s.contract.bucketName,
        attributes: { Arn: `arn:aws:s3:::${s.contract.bucketName}` },
      },
      [logicalId("AWS::SecretsManager::Secret", /WebhookSecret/)]: {
        ref: await arnOf(LOCAL_NAMES.webhookSecret),
        attributes: {},
      },
      [logicalId("AWS::SecretsManager::Secret", /ApiKeySecret/)]: {
        ref: await arnOf(LOCAL_NAMES.apiKeySecret),
        attributes: {},
      },
    };
  }

  it.each(Object.keys(FUNCTIONS) as Array<keyof typeof FUNCTIONS>)(
    "every call the %s made is allowed by its role",
    async (fn) => {
      const iam = new TemplateIam(template, await bindings());
      const role = iam.roleOf(logicalId("AWS::Lambda::Function", FUNCTIONS[fn]));
      // The worker's event source (the SQS poller) signs with a key of its own and the worker's role.
      const calls = recordedCalls().filter((call) => call.accessKeyId.startsWith(localAccessKeyId(fn)));
      expect(calls.length).toBeGreaterThan(0);

      const seen = new Set<string>();
      const refused: string[] = [];
      for (const call of calls) {
        expect({ operation: call.operation, action: call.action }).not.toMatchObject({ action: "unknown" });
        for (const evaluation of evaluationsOf(call)) {
          const id = JSON.stringify(evaluation);
          if (seen.has(id)) continue;
          seen.add(id);
          const decision = await iam.decide(role, evaluation);
          if (decision !== "Allowed") refused.push(`${call.operation} -> ${id}: ${decision}`);
        }
      }
      expect(refused).toEqual([]);
    },
  );

  it("covers what each function does: the receiver wrote a claim check, the worker polled, read it, wrote and archived; the reconciler kept a checkpoint; the publisher read the stream and published", () => {
    const actions = (fn: string) =>
      new Set(
        recordedCalls()
          .filter((c) => c.accessKeyId.startsWith(localAccessKeyId(fn)))
          .map((c) => c.operation),
      );
    expect([...actions("receiver")]).toEqual(
      expect.arrayContaining(["SendMessage", "GetSecretValue", "PutObject"]),
    );
    expect([...actions("worker")]).toEqual(
      expect.arrayContaining([
        "GetObject",
        "ReceiveMessage",
        "DeleteMessageBatch",
        "ChangeMessageVisibility",
        "GetItem",
        "UpdateItem",
        "PutObject",
        "GetSecretValue",
      ]),
    );
    expect([...actions("reconciler")]).toEqual(
      expect.arrayContaining(["ListObjectsV2", "GetObject", "PutObject", "Query", "SendMessage"]),
    );
    // Its event source read the stream with its role; it put events, and dead-lettered during the outage.
    expect([...actions("publisher")]).toEqual(
      expect.arrayContaining([
        "DescribeStream",
        "GetShardIterator",
        "GetRecords",
        "PutEvents",
        "SendMessageBatch",
      ]),
    );
  });
});

describe("the stage throttle, modelled by the local API from the stack's settings", () => {
  it("answers a burst past it 429 with API Gateway's body, and passes the rest to the receiver", () => {
    const throttled = burstStatuses.filter((status) => status === 429);

    expect(throttled.length).toBeGreaterThan(0);
    // Admitted ones reached the receiver, which has no route there.
    expect(burstStatuses.filter((status) => status !== 429).every((status) => status === 404)).toBe(true);
    expect(new Set(burstBodies.filter((_, index) => burstStatuses[index] === 429))).toEqual(
      new Set(['{"message":"Too Many Requests"}']),
    );
  });

  it("logs every request in the deployed stage's access-log format, throttled ones with status 429", async () => {
    const stage = Object.values(template.Resources).find((r) => r.Type === "AWS::ApiGatewayV2::Stage");
    const format = JSON.parse(
      String((stage?.Properties?.AccessLogSettings as { Format?: unknown } | undefined)?.Format),
    ) as Record<string, string>;
    const throttledCount = burstStatuses.filter((status) => status === 429).length;
    const lines = await eventually(
      async () => {
        const all = accessLogLines();
        return all.filter((line) => line.status === "429").length === throttledCount ? all : undefined;
      },
      { timeoutMs: 10_000, describe: () => `${throttledCount} access-log lines with status 429` },
    );

    for (const line of lines) expect(Object.keys(line).sort()).toEqual(Object.keys(format).sort());
    // The format's literals (the stack's name) are the line's values.
    const literals = Object.entries(format).filter(([, value]) => !value.startsWith("$context."));
    expect(literals).toEqual([["stack", LOCAL_STACK_NAME]]);
    expect(lines.every((line) => line.stack === LOCAL_STACK_NAME)).toBe(true);
    expect(lines.filter((line) => line.status === "429")[0]).toMatchObject({
      path: "/throttle-probe",
      error: "Too Many Requests",
      integrationStatus: "-",
    });
  });

  it("its 429 lines, and only they, make the template's metric filter write the metric the throttle alarm watches", () => {
    const lines = accessLogLines();
    const alarm = Object.values(template.Resources).find(
      (r) =>
        r.Type === "AWS::CloudWatch::Alarm" &&
        r.Properties?.AlarmName === `${LOCAL_STACK_NAME}-api-throttled`,
    );
    const watched = selectedMetrics(
      { Resources: { Alarm: alarm as TemplateJson["Resources"][string] } },
      new TemplateIam(template),
    ).map((s) => s.metric);

    expect(
      filteredMetrics(
        template,
        ACCESS_LOGS_ID,
        lines.filter((l) => l.status !== "429"),
      ),
    ).toEqual([]);
    expect(filteredMetrics(template, ACCESS_LOGS_ID, lines)).toEqual(watched);
  });
});

describe("metrics: what alarms and graphs watch is what the functions write", () => {
  it("every metric an alarm or a graph selects is created by some log line the functions or the API wrote", () => {
    const emitted = [
      ...emittedMetrics(stack().logs()),
      ...filteredMetrics(template, ACCESS_LOGS_ID, accessLogLines()),
    ];
    const emittedKeys = new Set(emitted.map(key));
    const selected = selectedMetrics(template, new TemplateIam(template)).filter(
      (s) =>
        s.metric?.namespace.startsWith("AWS/") !== true && s.search?.namespace.startsWith("AWS/") !== true,
    );
    expect(selected.length).toBeGreaterThan(10);

    const unseen = selected.filter(({ metric, search }) =>
      metric
        ? !emittedKeys.has(key(metric))
        : !emitted.some((m) => search !== undefined && matches(search, m)),
    );
    expect(unseen.map((s) => `${s.source}: ${JSON.stringify(s.metric ?? s.search)}`)).toEqual([]);
  });

  it("every metric the functions wrote carries the stack", () => {
    const emitted = emittedMetrics(stack().logs());

    expect(emitted.length).toBeGreaterThan(10);
    expect(emitted.filter((metric) => metric.dimensions.Stack !== LOCAL_STACK_NAME)).toEqual([]);
  });
});
