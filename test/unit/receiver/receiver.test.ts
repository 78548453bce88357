import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-jest";
import { type ObjectWrite, secretsManagerClient, sqsClient } from "../../../functions/receiver/clients";
import { DEFAULT_MAX_BODY_BYTES, loadConfig, type ReceiverConfig } from "../../../functions/receiver/config";
import { createHandler, type WebhookHandler } from "../../../functions/receiver/receiver";
import {
  type DeliveryMessage,
  MAX_MESSAGE_BYTES,
  type QuarantineDelivery,
  readClaimCheck,
} from "../../../functions/shared/contract/delivery";
import {
  parseDeliveryMessage,
  type RoutableDelivery,
} from "../../../functions/shared/contract/delivery-schema";
import { INBOX_PREFIX } from "../../../functions/shared/contract/resources";
import { SecretStages } from "../secret-stages";
import {
  AUTH_HEADER,
  bodyOf,
  captureLogs,
  fixture,
  PREVIOUS_SECRET,
  SECRET,
  storeSecret,
  TEST_ENV,
  withBody,
  withHeaders,
  withoutAuthHeader,
  withQuery,
} from "./support";

const sqsMock = mockClient(SQSClient);
const secretsMock = mockClient(SecretsManagerClient);

const RECEIVED_AT = Date.parse("2026-11-27T05:52:00.250Z");
const TRANSCRIPT_ID = "5552493-16d8-42d8-8feb-c2a16b56f6e8";

let clock: number;
let logs: ReturnType<typeof captureLogs>;
/** The claim checks' S3 writes (ReceiverDeps.putObject), in order. */
let puts: ObjectWrite[];
let putObject: jest.Mock<Promise<void>, [ObjectWrite]>;

function receiver(env: Record<string, string> = {}, overrides: Partial<ReceiverConfig> = {}): WebhookHandler {
  const config = { ...loadConfig({ ...TEST_ENV, ...env }), ...overrides };
  return createHandler(config, {
    sqs: sqsClient,
    secretsManager: secretsManagerClient,
    putObject,
    now: () => clock,
  });
}

function sentBody(): string {
  return sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? "";
}

function sentMessage(): DeliveryMessage {
  return JSON.parse(sentBody()) as DeliveryMessage;
}

/** The queued message, which must be a routable delivery. */
function sentDelivery(): RoutableDelivery {
  const message = sentMessage();
  if (message.kind === "quarantine") throw new Error(`quarantined: ${message.reason_message}`);
  if (message.kind === "assemblyai_delete") throw new Error("the receiver queued a delete retry");
  return message;
}

/** The event's headers without the secret's header: what a quarantine message keeps. */
function headersWithoutSecret(event: APIGatewayProxyEventV2): Record<string, string> {
  const headers = { ...event.headers } as Record<string, string>;
  delete headers[AUTH_HEADER.toLowerCase()];
  return headers;
}

/**
 * A quarantined delivery as the contract has it: a 200 that says so and why, exactly one SQS message of kind
 * quarantine holding the query, the headers without the secret and the body as sent, the secret nowhere in
 * the message or the logs, and one log line with the outcome `quarantined`.
 */
async function expectQuarantined(
  handler: WebhookHandler,
  event: APIGatewayProxyEventV2,
  reason: string,
  named?: string,
): Promise<QuarantineDelivery> {
  const response = await handler(event);

  expect(response.statusCode).toBe(200);
  expect(response.headers?.["content-type"]).toBe("application/json");
  expect(bodyOf(response)).toEqual({
    status: "quarantined",
    reason,
    message: named === undefined ? expect.any(String) : expect.stringContaining(named),
    message_id: "0f6d4a8e-message",
  });
  expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
  expect(putObject).not.toHaveBeenCalled();
  const parsed = parseDeliveryMessage(sentBody());
  if (!parsed.ok) throw new Error(parsed.reason);
  const message = parsed.message;
  if (message.kind !== "quarantine") throw new Error(`expected a quarantine message, got ${message.kind}`);
  const sentBytes = Buffer.from(event.body ?? "", event.isBase64Encoded ? "base64" : "utf8");
  expect(message).toMatchObject({
    kind: "quarantine",
    source: "webhook",
    reason,
    reason_message: bodyOf(response).message,
    raw_query: event.rawQueryString ?? "",
    headers: headersWithoutSecret(event),
    request_id: event.requestContext.requestId,
    source_ip: event.requestContext.http.sourceIp,
  });
  expect(Buffer.from(message.body, message.body_encoding === "base64" ? "base64" : "utf8")).toEqual(
    sentBytes,
  );
  expect(sentBody()).not.toContain(SECRET);
  expect(logs.records()).toEqual([
    expect.objectContaining({
      level: "WARN",
      message: "delivery quarantined",
      Outcome: "quarantined",
      Reason: reason,
      quarantine_reason: reason,
      kind: "quarantine",
      status_code: 200,
    }),
  ]);
  for (const line of logs.lines) expect(line).not.toContain(SECRET);
  return message;
}

function withAuth(event: APIGatewayProxyEventV2, value: string): APIGatewayProxyEventV2 {
  return { ...event, headers: { ...event.headers, [AUTH_HEADER.toLowerCase()]: value } };
}

beforeEach(() => {
  sqsMock.reset();
  secretsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: "0f6d4a8e-message" });
  storeSecret(secretsMock, SECRET);
  clock = RECEIVED_AT;
  puts = [];
  putObject = jest.fn(async (write: ObjectWrite) => {
    puts.push(write);
  });
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
  jest.useRealTimers();
});

describe("accepted deliveries", () => {
  it("queues a completed transcript and answers 200 with the message id", async () => {
    const response = await receiver()(fixture("transcript-completed"));

    expect(response.statusCode).toBe(200);
    expect(response.headers?.["content-type"]).toBe("application/json");
    expect(bodyOf(response)).toEqual({
      status: "queued",
      kind: "transcript",
      message_id: "0f6d4a8e-message",
    });
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: TEST_ENV.QUEUE_URL });
  });

  it("builds the queue message exactly as the delivery contract types it", async () => {
    await receiver()(fixture("transcript-completed"));

    expect(sentMessage()).toEqual({
      version: 1,
      source: "webhook",
      kind: "transcript",
      transcript_id: TRANSCRIPT_ID,
      status: "completed",
      metadata: {
        customer_id: "cust-42",
        order_id: "order-7",
        params: { customer_id: "cust-42", order_id: "order-7" },
      },
      received_at: "2026-11-27T05:52:00.250Z",
      source_ip: "44.238.19.20",
      request_id: "T6XjYhVtPHcEJ8g=",
      payload: { transcript_id: TRANSCRIPT_ID, status: "completed" },
    });
  });

  it("decodes a base64-encoded body and carries every query parameter in metadata.params", async () => {
    const response = await receiver()(fixture("transcript-error-base64"));

    expect(response.statusCode).toBe(200);
    const message = sentMessage();
    expect(message).toMatchObject({ kind: "transcript", status: "error", source_ip: "54.220.25.36" });
    expect(sentDelivery().metadata.params).toEqual({
      customer_id: "cust-42",
      order_id: "order-8",
      region: "eu",
    });
  });

  it("queues a redacted audio notification with its URL", async () => {
    const response = await receiver()(fixture("redacted-audio-ready"));

    expect(bodyOf(response)).toMatchObject({ status: "queued", kind: "redacted_audio" });
    const message = sentMessage();
    expect(message.kind).toBe("redacted_audio");
    expect(message.kind === "redacted_audio" && message.redacted_audio_url).toMatch(
      /^https:\/\/bucket-name\.s3\.us-west-2\.amazonaws\.com\//,
    );
  });

  it("queues a transcript id with a status it does not know as kind unknown, answering 200", async () => {
    const response = await receiver()(withBody({ transcript_id: TRANSCRIPT_ID, status: "archived" }));

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response).kind).toBe("unknown");
    expect(sentMessage()).toMatchObject({ kind: "unknown", payload: { status: "archived" } });
  });

  it("queues any other JSON object as kind unknown rather than losing it with a 4xx", async () => {
    const response = await receiver()(withBody({ event: "something_new", data: { a: [1, 2] } }));

    expect(response.statusCode).toBe(200);
    expect(sentMessage()).toMatchObject({ kind: "unknown", payload: { event: "something_new" } });
  });

  it("tolerates a trailing slash on the path", async () => {
    const response = await receiver()({ ...fixture("transcript-completed"), rawPath: "/webhook/" });

    expect(response.statusCode).toBe(200);
  });

  it("matches the auth header name case-insensitively", async () => {
    const event = withoutAuthHeader(fixture("transcript-completed"));
    const response = await receiver()({
      ...event,
      headers: { ...event.headers, "X-WEBHOOK-SECRET": SECRET },
    });

    expect(response.statusCode).toBe(200);
  });

  it("accepts a redacted audio URL on an explicitly allowed http origin (the local simulator)", async () => {
    const handler = receiver({ REDACTED_AUDIO_HOSTS: "http://127.0.0.1:4010" });

    const response = await handler(
      withBody({ status: "redacted_audio_ready", redacted_audio_url: "http://127.0.0.1:4010/audio/1.mp3" }),
    );

    expect(response.statusCode).toBe(200);
  });
});

describe("routing", () => {
  it("answers 404 not_found for another path, queueing nothing", async () => {
    const response = await receiver()({ ...fixture("transcript-completed"), rawPath: "/other" });

    expect(response.statusCode).toBe(404);
    expect(bodyOf(response).error).toBe("not_found");
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it("answers 405 method_not_allowed with an allow header for a method other than POST", async () => {
    const event = fixture("transcript-completed");
    const response = await receiver()({
      ...event,
      requestContext: { ...event.requestContext, http: { ...event.requestContext.http, method: "GET" } },
    });

    expect(response.statusCode).toBe(405);
    expect(response.headers?.allow).toBe("POST");
    expect(bodyOf(response).error).toBe("method_not_allowed");
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });
});

describe("authentication", () => {
  it("answers 401 when the header is missing, without calling Secrets Manager", async () => {
    const response = await receiver()(withoutAuthHeader(fixture("transcript-completed")));

    expect(response.statusCode).toBe(401);
    expect(bodyOf(response).error).toBe("unauthorized");
    expect(secretsMock).not.toHaveReceivedCommand(GetSecretValueCommand);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it("answers 401 when the header is empty", async () => {
    const response = await receiver()(withAuth(fixture("transcript-completed"), ""));

    expect(response.statusCode).toBe(401);
  });

  it("answers 401 when the header value is wrong, queueing nothing", async () => {
    const response = await receiver()(withAuth(fixture("transcript-completed"), `${SECRET}x`));

    expect(response.statusCode).toBe(401);
    expect(bodyOf(response).error).toBe("unauthorized");
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it("does not go back to Secrets Manager for each wrong value within the TTL", async () => {
    const handler = receiver();

    for (const attempt of ["a", "b", "c"]) await handler(withAuth(fixture("transcript-completed"), attempt));

    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 3); // the three stages, once
  });

  it("answers 503 secret_unavailable (not 401) when Secrets Manager fails with nothing cached", async () => {
    secretsMock.reset();
    secretsMock.on(GetSecretValueCommand).rejects(new Error("connect ETIMEDOUT"));

    const response = await receiver()(fixture("transcript-completed"));

    expect(response.statusCode).toBe(503);
    expect(bodyOf(response).error).toBe("secret_unavailable");
    expect(response.headers?.["retry-after"]).toBe("10");
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it("answers 503 secret_unavailable when the secret has no current string value", async () => {
    secretsMock.reset();
    storeSecret(secretsMock, "  ");

    const response = await receiver()(fixture("transcript-completed"));

    expect(response.statusCode).toBe(503);
    expect(bodyOf(response).error).toBe("secret_unavailable");
  });

  it("keeps accepting with the cached secret when a refresh fails after the TTL", async () => {
    const handler = receiver();
    await handler(fixture("transcript-completed"));
    secretsMock.reset();
    secretsMock.on(GetSecretValueCommand).rejects(new Error("ThrottlingException"));
    clock += 301_000;

    const response = await handler(fixture("transcript-completed"));

    expect(response.statusCode).toBe(200);
  });
});

describe("secret rotation", () => {
  const TTL_MS = 300_000;
  const NEW_SECRET = "rotated-secret-value-5e1b";

  /** Secrets Manager holding PREVIOUS_SECRET as AWSPREVIOUS and SECRET as AWSCURRENT. */
  function rotatedOnce(): SecretStages {
    const stages = new SecretStages(PREVIOUS_SECRET);
    stages.put(SECRET);
    secretsMock.reset();
    return stages.serve(secretsMock);
  }

  /** What rotate-secret does once the wait is over: AWSPREVIOUS to the current version, then AWSCURRENT. */
  function promote(stages: SecretStages, staged: string): void {
    const map = stages.stageMap();
    const holding = (stage: string) => Object.keys(map).find((id) => map[id]?.includes(stage));
    const current = holding("AWSCURRENT") as string;
    stages.updateStage("AWSPREVIOUS", current, holding("AWSPREVIOUS"));
    stages.updateStage("AWSCURRENT", staged, current);
  }

  it("accepts the previous secret while it is still AWSPREVIOUS", async () => {
    secretsMock.reset();
    storeSecret(secretsMock, "rotated-secret-value-5e1b", PREVIOUS_SECRET);

    const response = await receiver()(withAuth(fixture("transcript-completed"), PREVIOUS_SECRET));

    expect(response.statusCode).toBe(200);
  });

  it("accepts a value staged as AWSPENDING alongside the current and the previous one", async () => {
    const stages = rotatedOnce();
    stages.put(NEW_SECRET, ["AWSPENDING"]);
    const handler = receiver();

    const answers = await Promise.all(
      [NEW_SECRET, SECRET, PREVIOUS_SECRET].map(
        async (value) => (await handler(withAuth(fixture("transcript-completed"), value))).statusCode,
      ),
    );

    expect(answers).toEqual([200, 200, 200]);
  });

  it("accepts a staged value from the first re-read after staging, before it is promoted", async () => {
    const stages = rotatedOnce();
    const handler = receiver();
    await handler(fixture("transcript-completed"));
    stages.put(NEW_SECRET, ["AWSPENDING"]);

    clock += TTL_MS;
    const staged = await handler(withAuth(fixture("transcript-completed"), NEW_SECRET));

    expect(staged.statusCode).toBe(200);
  });

  it("lets no unauthenticated probe make the first delivery with a promoted value fail", async () => {
    // Issue 11.5 as reproduced: a wrong value just before the first genuine delivery with the new one.
    const stages = rotatedOnce();
    const handler = receiver();
    await handler(fixture("transcript-completed"));
    const staged = stages.put(NEW_SECRET, ["AWSPENDING"]);
    clock += TTL_MS; // rotate-secret's wait

    const probe = await handler(withAuth(fixture("transcript-completed"), "not-the-secret"));
    promote(stages, staged);
    clock += 1;
    const genuine = await handler(withAuth(fixture("transcript-completed"), NEW_SECRET));
    const submittedBefore = await handler(fixture("transcript-completed"));

    expect(probe.statusCode).toBe(401);
    expect(genuine.statusCode).toBe(200);
    expect(submittedBefore.statusCode).toBe(200);
    expect(stages.valueAt("AWSCURRENT")).toBe(NEW_SECRET);
  });

  it("keeps accepting both the new and the replaced value after the promotion, at every re-read", async () => {
    const stages = rotatedOnce();
    const handler = receiver();
    const staged = stages.put(NEW_SECRET, ["AWSPENDING"]);
    clock += TTL_MS;
    promote(stages, staged);

    const answers: number[] = [];
    for (const elapsed of [0, TTL_MS, 2 * TTL_MS]) {
      clock += elapsed;
      for (const value of [NEW_SECRET, SECRET]) {
        answers.push((await handler(withAuth(fixture("transcript-completed"), value))).statusCode ?? 0);
      }
    }

    expect(answers).toEqual([200, 200, 200, 200, 200, 200]);
  });

  it("never reads Secrets Manager because of a wrong value, however far apart the attempts", async () => {
    const handler = receiver({ SECRET_CACHE_TTL_SECONDS: "300" });
    await handler(fixture("transcript-completed"));

    for (const _attempt of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
      clock += 31_000;
      await handler(withAuth(fixture("transcript-completed"), "not-the-secret"));
    }

    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it("accepts a value put straight to AWSCURRENT only once its cache TTL has passed", async () => {
    const handler = receiver({ SECRET_CACHE_TTL_SECONDS: "60" });
    await handler(fixture("transcript-completed"));
    secretsMock.reset();
    storeSecret(secretsMock, NEW_SECRET, SECRET);

    clock += 59_000;
    const tooSoon = await handler(withAuth(fixture("transcript-completed"), NEW_SECRET));
    clock += 1_000;
    const afterTtl = await handler(withAuth(fixture("transcript-completed"), NEW_SECRET));
    const replaced = await handler(fixture("transcript-completed"));

    expect(tooSoon.statusCode).toBe(401);
    expect(afterTtl.statusCode).toBe(200);
    expect(replaced.statusCode).toBe(200);
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });
});

describe("source address allowlist", () => {
  it("answers 403 forbidden for an address outside ALLOWED_SOURCE_IPS, queueing nothing", async () => {
    const handler = receiver({ ALLOWED_SOURCE_IPS: "54.220.25.36/32" });

    const response = await handler(fixture("transcript-completed"));

    expect(response.statusCode).toBe(403);
    expect(bodyOf(response).error).toBe("forbidden");
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it("accepts an address inside a listed range", async () => {
    const handler = receiver({ ALLOWED_SOURCE_IPS: "44.238.19.0/24, 2001:db8::/32" });

    const response = await handler(fixture("transcript-completed"));

    expect(response.statusCode).toBe(200);
  });

  it("accepts an IPv6 address inside a listed IPv6 range", async () => {
    const handler = receiver({ ALLOWED_SOURCE_IPS: "44.238.19.20,2001:db8::/32" });
    const event = fixture("transcript-completed");

    const response = await handler({
      ...event,
      requestContext: {
        ...event.requestContext,
        http: { ...event.requestContext.http, sourceIp: "2001:db8::7" },
      },
    });

    expect(response.statusCode).toBe(200);
  });

  it("answers 403 to a request from outside before any Secrets Manager call, whatever its header", async () => {
    const handler = receiver({ ALLOWED_SOURCE_IPS: "54.220.25.36" });

    const guessed = await handler(withAuth(fixture("transcript-completed"), "guess"));
    const genuine = await handler(fixture("transcript-completed"));

    expect([guessed.statusCode, genuine.statusCode]).toEqual([403, 403]);
    // A probe from outside costs nothing and tells nothing about the secret.
    expect(secretsMock).not.toHaveReceivedCommand(GetSecretValueCommand);
  });
});

describe("body", () => {
  it("quarantines a body over MAX_BODY_BYTES with a 200, kept whole", async () => {
    const event = withBody({ transcript_id: TRANSCRIPT_ID, status: "completed", pad: "x".repeat(100) });

    const message = await expectQuarantined(
      receiver({ MAX_BODY_BYTES: "100" }),
      event,
      "payload_too_large",
      "at most 100",
    );

    expect(message).toMatchObject({ body: event.body, body_encoding: "utf8" });
  });

  it("measures a base64 body by its decoded size", async () => {
    const payload = JSON.stringify({ transcript_id: TRANSCRIPT_ID, status: "completed" });
    const encoded = Buffer.from(payload).toString("base64");
    const handler = receiver({ MAX_BODY_BYTES: String(payload.length) });

    const response = await handler({
      ...fixture("transcript-completed"),
      body: encoded,
      isBase64Encoded: true,
    });

    expect(encoded.length).toBeGreaterThan(payload.length);
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response).status).toBe("queued");
  });

  it.each([
    ["empty", ""],
    ["missing", undefined],
    ["not JSON", "transcript_id=1&status=completed"],
    ["truncated JSON", '{"transcript_id": "abc"'],
  ])("quarantines a %s body as invalid_json with a 200", async (_, body) => {
    const event = { ...fixture("transcript-completed"), body, isBase64Encoded: false };

    const message = await expectQuarantined(receiver(), event, "invalid_json");

    expect(message).toMatchObject({ body: body ?? "", body_encoding: "utf8" });
  });

  it("quarantines a body that is not UTF-8 as invalid_utf8, keeping its bytes as base64", async () => {
    const bytes = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0xfe, 0x7d]);
    const event = {
      ...fixture("transcript-completed"),
      body: bytes.toString("base64"),
      isBase64Encoded: true,
    };

    const message = await expectQuarantined(receiver(), event, "invalid_utf8");

    expect(message.body_encoding).toBe("base64");
    expect(Buffer.from(message.body, "base64")).toEqual(bytes);
  });

  it.each([
    ["an array", "[1,2]"],
    ["a string", '"completed"'],
    ["null", "null"],
    ["a number", "42"],
  ])("quarantines %s as invalid_payload with a 200", async (_, body) => {
    await expectQuarantined(receiver(), withBody(body), "invalid_payload", "a JSON object is expected");
  });

  it("quarantines a payload nested too deep to re-serialise as invalid_payload", async () => {
    const deep = `{"a":${"[".repeat(20_000)}${"]".repeat(20_000)}}`;

    await expectQuarantined(receiver(), withBody(deep), "invalid_payload", "nested deeper");
  });
});

describe("metadata", () => {
  it.each([
    ["customer_id", "order_id=order-7"],
    ["order_id", "customer_id=cust-42"],
    ["order_id", "customer_id=cust-42&order_id="],
    ["customer_id", ""],
  ])("quarantines a missing or empty %s as missing_parameter, naming it", async (name, query) => {
    await expectQuarantined(receiver(), withQuery(query), "missing_parameter", name);
  });

  it("quarantines a customer_id given twice as invalid_parameter (API Gateway would join them)", async () => {
    const event = withQuery("customer_id=cust-42&customer_id=cust-43&order_id=order-7");
    event.queryStringParameters = { customer_id: "cust-42,cust-43", order_id: "order-7" };

    await expectQuarantined(receiver(), event, "invalid_parameter", "customer_id is given more than once");
  });

  it("quarantines an order_id over DynamoDB's 1,024-byte key limit as invalid_parameter", async () => {
    await expectQuarantined(
      receiver(),
      withQuery(`customer_id=cust-42&order_id=${"o".repeat(1025)}`),
      "invalid_parameter",
      "order_id is 1025 bytes",
    );
  });

  it.each([
    ["an email address with +", "jane+doe@example.com", "jane+doe@example.com"],
    ["an email address with %2B", "jane%2Bdoe%40example.com", "jane+doe@example.com"],
    ["..", "..", ".."],
    ["a slash", "a%2Fb", "a/b"],
    ["a raw slash", "a/b", "a/b"],
    ["a #", "a%23b", "a#b"],
    ["a space", "a%20b", "a b"],
    ["2,048 bytes", "c".repeat(2048), "c".repeat(2048)],
  ])("queues a customer_id of %s under the exact id", async (_, written, id) => {
    const response = await receiver()(withQuery(`customer_id=${written}&order_id=order-7`));

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response).status).toBe("queued");
    expect(sentDelivery().metadata).toMatchObject({ customer_id: id, params: { customer_id: id } });
  });

  it("queues repeated parameters as lists, 33 parameters and a 2 KB value", async () => {
    const extras = Array.from({ length: 29 }, (_, i) => `p${i}=v`).join("&");
    const long = "v".repeat(2048);

    const response = await receiver()(
      withQuery(`customer_id=cust-42&order_id=order-7&tag=a&tag=b&note=${long}&${extras}`),
    );

    expect(response.statusCode).toBe(200);
    const { params } = sentDelivery().metadata;
    expect(Object.keys(params)).toHaveLength(33);
    expect(params.tag).toEqual(["a", "b"]);
    expect(params.note).toBe(long);
  });

  it.each(["__proto__", "constructor", "toString", "hasOwnProperty"])(
    "queues a parameter named %s as data",
    async (name) => {
      const response = await receiver()(withQuery(`customer_id=cust-42&order_id=order-7&${name}=x`));

      expect(response.statusCode).toBe(200);
      const message = parseDeliveryMessage(sentBody());
      if (!message.ok || message.message.kind === "quarantine") throw new Error("not queued as a delivery");
      const { params } = message.message.metadata;
      expect(Object.hasOwn(params, name)).toBe(true);
      expect(Object.getOwnPropertyDescriptor(params, name)?.value).toBe("x");
    },
  );
});

describe("claim check", () => {
  const bigTranscript = () =>
    withBody({ transcript_id: TRANSCRIPT_ID, status: "completed", text: "x".repeat(2_000_000) });

  it("writes a message over SQS's limit to the inbox and queues its key", async () => {
    const event = bigTranscript();

    const response = await receiver()(event);

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({
      status: "queued",
      kind: "transcript",
      message_id: "0f6d4a8e-message",
    });
    expect(puts).toHaveLength(1);
    const [write] = puts;
    expect(write).toMatchObject({
      bucket: TEST_ENV.BUCKET_NAME,
      key: "inbox/2026-11-27/2026-11-27T05:52:00.250Z-T6XjYhVtPHcEJ8g=.json",
    });
    expect(Buffer.byteLength(write?.body ?? "")).toBeGreaterThan(MAX_MESSAGE_BYTES);
    // The queue carries the claim, small, and the worker reads the whole message from the key.
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(Buffer.byteLength(sentBody())).toBeLessThan(1_024);
    expect(readClaimCheck(sentBody(), INBOX_PREFIX)).toEqual({
      key: write?.key,
      bytes: Buffer.byteLength(write?.body ?? ""),
    });
    const stored = parseDeliveryMessage(write?.body ?? "");
    if (!stored.ok) throw new Error(stored.reason);
    expect(stored.message).toMatchObject({
      kind: "transcript",
      transcript_id: TRANSCRIPT_ID,
      metadata: { customer_id: "cust-42", order_id: "order-7" },
      payload: JSON.parse(event.body ?? ""),
    });
  });

  it("keeps a body of the largest size Lambda can carry, base64-encoded as API Gateway sends binary", async () => {
    const json = JSON.stringify({ transcript_id: TRANSCRIPT_ID, status: "completed", pad: "" });
    const body = Buffer.from(
      json.replace('"pad":""', `"pad":"${"y".repeat(DEFAULT_MAX_BODY_BYTES - json.length)}"`),
    );
    expect(body.length).toBe(DEFAULT_MAX_BODY_BYTES);

    const response = await receiver()({
      ...fixture("transcript-completed"),
      body: body.toString("base64"),
      isBase64Encoded: true,
    });

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toMatchObject({ status: "queued", kind: "transcript" });
    const stored = parseDeliveryMessage(puts[0]?.body ?? "");
    expect(stored.ok && stored.message.kind === "transcript" && stored.message.payload.pad).toHaveLength(
      DEFAULT_MAX_BODY_BYTES - json.length,
    );
  });

  it("sends by claim check a body and metadata that together would not fit one SQS message", async () => {
    const controlChars = "%01".repeat(1024); // each becomes a 6-byte \u0001 escape in the message
    const params = Array.from({ length: 30 }, (_, i) => `p${i}=${controlChars}`).join("&");
    const event = withQuery(`customer_id=cust-42&order_id=order-7&${params}`);

    const response = await receiver({ MAX_BODY_BYTES: "196608" })({
      ...event,
      body: JSON.stringify({ pad: "x".repeat(100_000) }),
    });

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toMatchObject({ status: "queued", kind: "unknown" });
    expect(puts).toHaveLength(1);
    const stored = parseDeliveryMessage(puts[0]?.body ?? "");
    expect(stored.ok && stored.message.kind === "unknown" && stored.message.metadata.params.p29).toBe(
      "\u0001".repeat(1024),
    );
  });

  it("queues a message under SQS's limit inline, writing nothing to S3", async () => {
    await receiver()(
      withBody({ transcript_id: TRANSCRIPT_ID, status: "completed", text: "x".repeat(200_000) }),
    );

    expect(putObject).not.toHaveBeenCalled();
    expect(readClaimCheck(sentBody(), INBOX_PREFIX)).toBeUndefined();
    expect(sentMessage().kind).toBe("transcript");
  });

  it("sends a large quarantined body by claim check too, kept whole", async () => {
    const body = `not json ${"y".repeat(1_000_000)}`;

    const response = await receiver()(withBody(body));

    expect(bodyOf(response)).toMatchObject({ status: "quarantined", reason: "invalid_json" });
    const stored = parseDeliveryMessage(puts[0]?.body ?? "");
    expect(stored.ok && stored.message).toMatchObject({ kind: "quarantine", body, body_encoding: "utf8" });
    expect(puts[0]?.body).not.toContain(SECRET);
    expect(readClaimCheck(sentBody(), INBOX_PREFIX)?.key).toBe(puts[0]?.key);
  });

  it("answers 503 enqueue_failed and queues nothing when the claim's PutObject fails", async () => {
    putObject.mockRejectedValue(Object.assign(new Error("SlowDown"), { name: "SlowDown" }));

    const response = await receiver()(bigTranscript());

    expect(response.statusCode).toBe(503);
    expect(bodyOf(response).error).toBe("enqueue_failed");
    expect(response.headers?.["retry-after"]).toBe("10");
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
    expect(logs.records()).toEqual([
      expect.objectContaining({
        Outcome: "failed",
        Reason: "enqueue_failed",
        error_detail: expect.stringContaining("SlowDown"),
      }),
    ]);
  });

  it("answers 503 and aborts the write when the claim's PutObject hangs past its deadline", async () => {
    let signal: AbortSignal | undefined;
    putObject.mockImplementation((write) => {
      signal = write.signal;
      return new Promise(() => {});
    });

    const response = await receiver({}, { claimDeadlineMs: 5 })(bigTranscript());

    expect(response.statusCode).toBe(503);
    expect(signal?.aborted).toBe(true);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });
});

describe("payload validation", () => {
  it.each([
    ["a transcript", { transcript_id: "../../etc/passwd", status: "completed" }],
    ["a transcript with a numeric id", { transcript_id: 42, status: "completed" }],
    ["an unknown kind", { transcript_id: "a b", status: "archived" }],
    [
      "a redacted audio notification",
      {
        transcript_id: "x/y",
        status: "redacted_audio_ready",
        redacted_audio_url: "https://s3.us-west-2.amazonaws.com/b/k.mp3",
      },
    ],
  ])("quarantines a bad id in %s as invalid_transcript_id with a 200", async (_, payload) => {
    await expectQuarantined(receiver(), withBody(payload), "invalid_transcript_id", "transcript_id");
  });

  it.each([
    ["plain http", "http://bucket.s3.us-west-2.amazonaws.com/a.mp3"],
    ["a host off the allowlist", "https://evil.example.com/a.mp3"],
    ["a look-alike host", "https://s3.us-west-2.amazonaws.com.evil.example/a.mp3"],
    ["credentials", "https://user:pass@bucket.s3.us-west-2.amazonaws.com/a.mp3"],
    ["not a URL", "not a url"],
    ["an http origin that is not the listed one", "http://127.0.0.1:4011/a.mp3"],
  ])(
    "queues %s as kind unknown with a note (archived, never downloaded, not a final 4xx)",
    async (_, url) => {
      const handler = receiver({
        REDACTED_AUDIO_HOSTS: "*.s3.us-west-2.amazonaws.com,http://127.0.0.1:4010",
      });

      const response = await handler(withBody({ status: "redacted_audio_ready", redacted_audio_url: url }));

      expect(response.statusCode).toBe(200);
      expect(bodyOf(response).kind).toBe("unknown");
      expect(sentMessage()).toMatchObject({
        kind: "unknown",
        note: expect.stringMatching(/^redacted_audio_url /),
      });
      expect(sentMessage()).not.toHaveProperty("redacted_audio_url");
      expect(logs.records().at(-1)).toMatchObject({
        level: "WARN",
        kind: "unknown",
        note: expect.any(String),
      });
      expect(logs.lines.join("\n")).not.toContain(url);
    },
  );
});

describe("enqueue", () => {
  it("answers 503 enqueue_failed when SendMessage fails, so AssemblyAI retries", async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error("ServiceUnavailable"));

    const response = await receiver()(fixture("transcript-completed"));

    expect(response.statusCode).toBe(503);
    expect(bodyOf(response).error).toBe("enqueue_failed");
    expect(response.headers?.["retry-after"]).toBe("10");
  });

  it("answers 503 enqueue_failed when SendMessage hangs past the configured deadline", async () => {
    sqsMock.on(SendMessageCommand).callsFake(() => new Promise(() => {}));
    const handler = receiver({}, { enqueueDeadlineMs: 5 });

    const response = await handler(fixture("transcript-completed"));

    expect(response.statusCode).toBe(503);
    expect(bodyOf(response).error).toBe("enqueue_failed");
  });

  it("waits for a slow SendMessage instead of answering a 503 for a message that is queued", async () => {
    jest.useFakeTimers();
    sqsMock
      .on(SendMessageCommand)
      .callsFake(() => new Promise((resolve) => setTimeout(() => resolve({ MessageId: "slow-1" }), 4_000)));
    const handler = receiver();

    const pending = handler(fixture("transcript-completed"));
    await jest.advanceTimersByTimeAsync(4_000);

    const response = await pending;
    expect(response.statusCode).toBe(200);
  });

  it("answers within the default 8 s budget when SendMessage hangs", async () => {
    jest.useFakeTimers();
    sqsMock.on(SendMessageCommand).callsFake(() => new Promise(() => {}));
    const handler = receiver();
    let settled = false;

    const pending = handler(fixture("transcript-completed")).finally(() => {
      settled = true;
    });
    await jest.advanceTimersByTimeAsync(8_000);

    expect(settled).toBe(true);
    expect((await pending).statusCode).toBe(503);
  });

  it("answers within the default 8 s budget when a cold Secrets Manager read hangs", async () => {
    jest.useFakeTimers();
    secretsMock.reset();
    secretsMock.on(GetSecretValueCommand).callsFake(() => new Promise(() => {}));
    const handler = receiver();
    let settled = false;

    const pending = handler(fixture("transcript-completed")).finally(() => {
      settled = true;
    });
    await jest.advanceTimersByTimeAsync(8_000);

    expect(settled).toBe(true);
    expect(bodyOf(await pending).error).toBe("secret_unavailable");
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });
});

describe("unexpected failures", () => {
  it("answers 500 internal_error without leaking the cause", async () => {
    const event = { ...fixture("transcript-completed"), body: 42 as unknown as string };

    const response = await receiver()(event);

    expect(response.statusCode).toBe(500);
    expect(bodyOf(response)).toEqual({
      error: "internal_error",
      message: "the delivery could not be processed; retry later",
    });
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });
});

describe("telemetry", () => {
  it("writes one log line per accepted delivery with the ids, and the Deliveries metric as EMF", async () => {
    clock = RECEIVED_AT;
    const handler = createHandler(loadConfig(TEST_ENV), {
      sqs: sqsClient,
      secretsManager: secretsManagerClient,
      putObject,
      now: () => (clock += 7),
    });

    await handler(fixture("transcript-completed"));

    expect(logs.records()).toEqual([
      expect.objectContaining({
        level: "INFO",
        message: "delivery accepted",
        transcript_id: TRANSCRIPT_ID,
        customer_id: "cust-42",
        order_id: "order-7",
        kind: "transcript",
        status_code: 200,
        request_id: "T6XjYhVtPHcEJ8g=",
        source_ip: "44.238.19.20",
        message_id: "0f6d4a8e-message",
        latency_ms: expect.any(Number),
        Outcome: "accepted",
        Reason: "transcript",
      }),
    ]);
    // One EMF line per dimension set: by outcome, and by outcome and reason.
    expect(logs.metrics()).toEqual(
      [
        ["Stack", "Outcome"],
        ["Stack", "Outcome", "Reason"],
      ].map((dimensions) =>
        expect.objectContaining({
          _aws: {
            Timestamp: expect.any(Number),
            CloudWatchMetrics: [
              {
                Namespace: "AssemblyAIWebhooks",
                Dimensions: [dimensions],
                Metrics: [{ Name: "Deliveries", Unit: "Count" }],
              },
            ],
          },
          Stack: "test-stack",
          Outcome: "accepted",
          Deliveries: 1,
          ...(dimensions.includes("Reason") ? { Reason: "transcript" } : {}),
        }),
      ),
    );
  });

  it("logs a rejection with its error code as the Reason", async () => {
    await receiver()(withAuth(fixture("transcript-completed"), "wrong"));

    expect(logs.records()).toEqual([
      expect.objectContaining({
        level: "WARN",
        message: "delivery rejected",
        Outcome: "rejected",
        Reason: "unauthorized",
        error: "unauthorized",
        status_code: 401,
      }),
    ]);
  });

  it("logs a quarantined delivery with its reason and no ids, as none could be trusted", async () => {
    await receiver()(withQuery("customer_id=cust-42&customer_id=cust-43&order_id=order-7"));

    expect(logs.records()).toEqual([
      expect.objectContaining({
        level: "WARN",
        message: "delivery quarantined",
        Outcome: "quarantined",
        Reason: "invalid_parameter",
        quarantine_reason: "invalid_parameter",
        quarantine_message: "query parameter customer_id is given more than once",
        status_code: 200,
        message_id: "0f6d4a8e-message",
      }),
    ]);
    for (const field of ["customer_id", "order_id", "transcript_id", "error"]) {
      expect(logs.records()[0]).not.toHaveProperty(field);
    }
    expect(logs.metrics()).toEqual([
      expect.objectContaining({ Outcome: "quarantined" }),
      expect.objectContaining({ Outcome: "quarantined", Reason: "invalid_parameter" }),
    ]);
  });

  it("cuts a logged id to 256 characters", async () => {
    await receiver()(withQuery(`customer_id=${"c".repeat(2048)}&order_id=order-7`));

    expect(logs.records()[0]).toMatchObject({ Outcome: "accepted", customer_id: "c".repeat(256) });
  });

  it("logs a failure with its cause", async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error("ServiceUnavailable"));

    await receiver()(fixture("transcript-completed"));

    expect(logs.records()).toEqual([
      expect.objectContaining({
        level: "ERROR",
        message: "delivery failed",
        Outcome: "failed",
        Reason: "enqueue_failed",
        error_detail: "Error: ServiceUnavailable",
        kind: "transcript",
      }),
    ]);
  });

  it("never writes the secret or the presented header value, whatever the outcome", async () => {
    const handler = receiver();
    const wrong = "wrong-presented-value-71c3d9";
    sqsMock.on(SendMessageCommand).rejects(new Error("ServiceUnavailable"));

    await handler(fixture("transcript-completed"));
    await handler(withAuth(fixture("transcript-completed"), wrong));
    await handler(withHeaders({ [AUTH_HEADER]: SECRET }));
    sqsMock.on(SendMessageCommand).resolves({ MessageId: "m-2" });
    await handler({
      ...withHeaders({ [AUTH_HEADER]: SECRET, authorization: SECRET, cookie: SECRET }),
      body: "{",
    });

    expect(logs.records()).toHaveLength(4);
    expect(logs.metrics()).toHaveLength(8);
    expect(logs.records()[3]).toMatchObject({ Outcome: "quarantined" });
    const sent = sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input.MessageBody);
    expect(sent).toHaveLength(3);
    for (const body of sent) expect(body).not.toContain(SECRET);
    for (const line of logs.lines) {
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain(wrong);
    }
  });
});
