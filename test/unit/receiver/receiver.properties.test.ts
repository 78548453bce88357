import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-jest";
import fc from "fast-check";
import { type ObjectWrite, secretsManagerClient, sqsClient } from "../../../functions/receiver/clients";
import { loadConfig } from "../../../functions/receiver/config";
import { createHandler, type WebhookHandler } from "../../../functions/receiver/receiver";
import {
  type DeliveryMessage,
  MAX_MESSAGE_BYTES,
  readClaimCheck,
} from "../../../functions/shared/contract/delivery";
import { parseDeliveryMessage } from "../../../functions/shared/contract/delivery-schema";
import { INBOX_PREFIX } from "../../../functions/shared/contract/resources";
import { AUTH_HEADER, captureLogs, fixture, SECRET, storeSecret, TEST_ENV } from "./support";

const sqsMock = mockClient(SQSClient);
const secretsMock = mockClient(SecretsManagerClient);

const RUNS = { numRuns: 300 };

let handler: WebhookHandler;
let logs: ReturnType<typeof captureLogs>;
/** The claim checks' writes; `failPut` makes the next ones fail. */
let puts: ObjectWrite[];
let failPut: boolean;

function handlerWith(env: Record<string, string> = {}): WebhookHandler {
  return createHandler(loadConfig({ ...TEST_ENV, ALLOWED_SOURCE_IPS: "", ...env }), {
    sqs: sqsClient,
    secretsManager: secretsManagerClient,
    putObject: async (write) => {
      if (failPut) throw Object.assign(new Error("InternalError"), { name: "InternalError" });
      puts.push(write);
    },
  });
}

beforeEach(() => {
  sqsMock.reset();
  secretsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: "message-1" });
  storeSecret(secretsMock, SECRET);
  puts = [];
  failPut = false;
  handler = handlerWith();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

/** Values close to the secret that must still be refused. */
const nearMissSecret = fc
  .oneof(
    fc.constant(""),
    fc.nat({ max: SECRET.length - 1 }).map((n) => SECRET.slice(0, n)),
    fc.string({ minLength: 1, maxLength: 4 }).map((suffix) => `${SECRET}${suffix}`),
    fc
      .tuple(fc.nat({ max: SECRET.length - 1 }), fc.string({ minLength: 1, maxLength: 1, unit: "binary" }))
      .map(([at, char]) => `${SECRET.slice(0, at)}${char}${SECRET.slice(at + 1)}`),
    fc.constantFrom(SECRET.toUpperCase(), ` ${SECRET}`, `${SECRET} `, `${SECRET},${SECRET}`, SECRET.slice(1)),
    fc.string({ unit: "binary", maxLength: 80 }),
  )
  .filter((value) => value !== SECRET);

/** The auth header name in a random letter case. */
const authHeaderName = fc
  .array(fc.boolean(), { minLength: AUTH_HEADER.length, maxLength: AUTH_HEADER.length })
  .map((upper) =>
    [...AUTH_HEADER].map((char, i) => (upper[i] ? char.toUpperCase() : char.toLowerCase())).join(""),
  );

const otherHeaders = fc.dictionary(
  fc
    .string({ minLength: 1, maxLength: 20 })
    .filter((name) => name.toLowerCase() !== AUTH_HEADER.toLowerCase()),
  fc.string({ maxLength: 60 }),
  { maxKeys: 6 },
);

const transcriptIds = fc.oneof(
  fc.uuid(),
  fc.stringMatching(/^[A-Za-z0-9-]{1,130}$/),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.integer(),
  fc.constant(null),
);

const payloadShaped = fc
  .record(
    {
      transcript_id: transcriptIds,
      status: fc.oneof(
        fc.constantFrom("completed", "error", "redacted_audio_ready", "queued"),
        fc.string({ maxLength: 12 }),
      ),
      redacted_audio_url: fc.oneof(
        fc.webUrl({ withQueryParameters: true }),
        fc.constantFrom(
          "https://bucket.s3.us-west-2.amazonaws.com/a.mp3?X-Amz-Signature=abc",
          "http://bucket.s3.us-west-2.amazonaws.com/a.mp3",
          "https://u:p@s3.eu-west-1.amazonaws.com/b/a.mp3",
        ),
        fc.string({ maxLength: 30 }),
      ),
      extra: fc.jsonValue({ maxDepth: 3 }),
    },
    { requiredKeys: [] },
  )
  .map((payload) => JSON.stringify(payload));

const bodies = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.json({ maxDepth: 4 }),
  payloadShaped,
  fc.constantFrom("", "null", "[]", "{}", '{"transcript_id":', "\uFEFF{}", "{}".padStart(80, "[")),
);

const queryStrings = fc.oneof(
  fc.string({ unit: "binary", maxLength: 120 }),
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom("customer_id", "order_id", "tag", ""), fc.string({ maxLength: 70 })),
        fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.:@-]{0,20}$/), fc.string({ unit: "binary", maxLength: 40 })),
      ),
      { maxLength: 36 },
    )
    .map((pairs) => new URLSearchParams(pairs).toString()),
  fc.constantFrom("customer_id=cust-42&order_id=order-7", "customer_id=a&customer_id=b&order_id=c", "%zz=%"),
);

/** Valid metadata plus hostile extras, so that the authenticated property also reaches the queue. */
const mostlyValidQueryStrings = fc
  .tuple(
    fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,40}$/),
    fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,40}$/),
    fc.array(
      fc.tuple(fc.string({ minLength: 1, maxLength: 70 }), fc.string({ unit: "binary", maxLength: 60 })),
      {
        maxLength: 4,
      },
    ),
  )
  .map(([customerId, orderId, extras]) =>
    new URLSearchParams([["customer_id", customerId], ["order_id", orderId], ...extras]).toString(),
  );

/** A request body as API Gateway hands it over: plain, base64, or claiming base64 while not being it. */
const encodedBodies = fc
  .tuple(bodies, fc.constantFrom("plain", "base64", "mislabelled"))
  .map(([body, how]) => ({
    body: how === "base64" ? Buffer.from(body, "utf8").toString("base64") : body,
    isBase64Encoded: how !== "plain",
  }));

/** Bytes repeated up to a few hundred KB: large bodies (claim checks, MAX_BODY_BYTES) without generating each byte. */
const repeated = <T>(chunk: fc.Arbitrary<T>, join: (parts: T[]) => Buffer) =>
  fc.tuple(chunk, fc.integer({ min: 1, max: 8_000 })).map(([part, times]) => join(Array(times).fill(part)));

/** Any body an authenticated sender could post: bytes, text, JSON, small or up to a few hundred KB. */
const authenticatedBodies = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: bodies.map((body) => Buffer.from(body, "utf8")) },
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      repeated(fc.uint8Array({ minLength: 1, maxLength: 64 }), (parts) => Buffer.concat(parts)),
      repeated(fc.string({ unit: "binary", minLength: 1, maxLength: 40 }), (parts) =>
        Buffer.from(parts.join("")),
      ),
      fc
        .tuple(payloadShaped, fc.string({ minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 40_000 }))
        .map(([payload, pad, times]) =>
          Buffer.from(
            `${payload.slice(0, -1)}${payload.length > 2 ? "," : ""}"pad":${JSON.stringify(pad.repeat(times))}}`,
          ),
        ),
    ),
    fc.constantFrom("plain", "base64", "mislabelled"),
  )
  .map(([bytes, how]) => ({
    body:
      how === "base64"
        ? bytes.toString("base64")
        : how === "mislabelled"
          ? bytes.toString("latin1")
          : bytes.toString("utf8"),
    isBase64Encoded: how !== "plain",
  }));

const routes = fc.oneof(
  fc.constant({ rawPath: "/webhook", method: "POST" }),
  fc.record({
    rawPath: fc.oneof(fc.constantFrom("/webhook", "/webhook/", "/", "/WEBHOOK", "/webhook//"), fc.webPath()),
    method: fc.constantFrom("POST", "GET", "PUT", "OPTIONS", "post"),
  }),
);

function hostileEvent(
  headers: Record<string, string>,
  query: string,
  encoded: { body: string; isBase64Encoded: boolean },
  route: { rawPath: string; method: string },
): APIGatewayProxyEventV2 {
  const event = fixture("transcript-completed");
  return {
    ...event,
    rawPath: route.rawPath,
    rawQueryString: query,
    headers,
    body: encoded.body,
    isBase64Encoded: encoded.isBase64Encoded,
    requestContext: { ...event.requestContext, http: { ...event.requestContext.http, method: route.method } },
  };
}

function expectErrorBody(response: APIGatewayProxyStructuredResultV2): void {
  expect(response.headers?.["content-type"]).toBe("application/json");
  const body = JSON.parse(response.body ?? "") as Record<string, unknown>;
  expect(typeof body.error).toBe("string");
  expect(typeof body.message).toBe("string");
}

async function run(
  event: APIGatewayProxyEventV2,
  using: WebhookHandler = handler,
): Promise<APIGatewayProxyStructuredResultV2> {
  sqsMock.resetHistory();
  logs.lines.length = 0;
  puts.length = 0;
  const response = await using(event);
  expect(logs.records()).toHaveLength(1);
  for (const line of logs.lines) expect(line).not.toContain(SECRET);
  return response;
}

describe("hostile requests", () => {
  it("never answers 2xx nor queues anything without the right secret, and never blames us with a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        otherHeaders,
        fc.option(fc.tuple(authHeaderName, nearMissSecret), { nil: undefined }),
        queryStrings,
        encodedBodies,
        routes,
        async (headers, auth, query, encoded, route) => {
          const allHeaders = auth ? { ...headers, [auth[0]]: auth[1] } : headers;

          const response = await run(hostileEvent(allHeaders, query, encoded, route));

          expect(response.statusCode).toBeGreaterThanOrEqual(400);
          expect(response.statusCode).toBeLessThan(500);
          expectErrorBody(response);
          expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
          expect(puts).toHaveLength(0);
          if (auth && auth[1].length >= 16) {
            for (const line of logs.lines) expect(line).not.toContain(auth[1]);
          }
        },
      ),
      RUNS,
    );
  });

  it("with the right secret, always answers 200 with exactly one message kept whole, whatever the body and query", async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        authHeaderName,
        otherHeaders,
        fc.oneof(queryStrings, mostlyValidQueryStrings),
        authenticatedBodies,
        fc.constantFrom(undefined, "300000"),
        async (name, headers, query, encoded, maxBodyBytes) => {
          const event = hostileEvent({ ...headers, [name]: SECRET }, query, encoded, {
            rawPath: "/webhook",
            method: "POST",
          });

          const response = await run(
            event,
            maxBodyBytes === undefined ? handler : handlerWith({ MAX_BODY_BYTES: maxBodyBytes }),
          );

          expect(response.statusCode).toBe(200);
          expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
          const queued = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? "";
          expect(queued).not.toMatch(/[\uFFFE\uFFFF]/);
          expect(Buffer.byteLength(queued)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
          // The message itself, or, for one over SQS's limit, the one its claim check points at.
          const claim = readClaimCheck(queued, INBOX_PREFIX);
          expect(puts).toHaveLength(claim === undefined ? 0 : 1);
          const whole = claim === undefined ? queued : (puts[0]?.body ?? "");
          if (claim !== undefined) {
            expect(puts[0]?.key).toBe(claim.key);
            expect(Buffer.byteLength(whole)).toBeGreaterThan(MAX_MESSAGE_BYTES);
            seen.add("claim check");
          }
          expect(whole).not.toContain(SECRET);
          const parsed = parseDeliveryMessage(whole);
          if (!parsed.ok) throw new Error(`the queued message does not parse: ${parsed.reason}`);
          const message: DeliveryMessage = parsed.message;
          const answer = JSON.parse(response.body ?? "") as Record<string, unknown>;
          if (message.kind === "quarantine") {
            seen.add("quarantined");
            expect(answer).toEqual({
              status: "quarantined",
              reason: message.reason,
              message: message.reason_message,
              message_id: "message-1",
            });
            const kept = Buffer.from(message.body, message.body_encoding === "base64" ? "base64" : "utf8");
            expect(kept.equals(Buffer.from(encoded.body, encoded.isBase64Encoded ? "base64" : "utf8"))).toBe(
              true,
            );
            expect(message.raw_query).toBe(query);
            expect(Object.keys(message.headers).map((header) => header.toLowerCase())).not.toContain(
              AUTH_HEADER.toLowerCase(),
            );
          } else {
            seen.add("queued");
            expect(answer).toEqual({ status: "queued", kind: message.kind, message_id: "message-1" });
            expect(message.metadata.customer_id.length).toBeGreaterThan(0);
            expect(message.metadata.order_id.length).toBeGreaterThan(0);
          }
        },
      ),
      RUNS,
    );

    // Every branch was exercised, so the property is not vacuously true.
    expect([...seen].sort()).toEqual(["claim check", "quarantined", "queued"]);
  });

  it("with the right secret, answers 2xx or 5xx but never 4xx when SQS or S3 fail", async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(queryStrings, mostlyValidQueryStrings),
        authenticatedBodies,
        fc.constantFrom("ok", "sqs fails", "sqs hangs up", "s3 fails"),
        async (query, encoded, fault) => {
          sqsMock.reset();
          if (fault === "sqs fails") sqsMock.on(SendMessageCommand).rejects(new Error("ServiceUnavailable"));
          else if (fault === "sqs hangs up")
            sqsMock
              .on(SendMessageCommand)
              .rejects(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
          else sqsMock.on(SendMessageCommand).resolves({ MessageId: "message-1" });
          failPut = fault === "s3 fails";

          const response = await run(
            hostileEvent({ [AUTH_HEADER]: SECRET }, query, encoded, { rawPath: "/webhook", method: "POST" }),
          );

          const status = response.statusCode ?? 0;
          statuses.add(status);
          expect(status < 300 || status >= 500).toBe(true);
          if (status >= 500) expectErrorBody(response);
        },
      ),
      RUNS,
    );

    expect([...statuses].sort()).toEqual([200, 503]);
  });

  it("queues every transcript delivery under exactly the ids and parameters its URL carried", async () => {
    const text = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 30 }),
      fc.string({ unit: "binary-ascii" }),
    );
    const id = (limit: number) =>
      text.filter((value) => value.length > 0 && Buffer.byteLength(value) <= limit);
    const name = fc
      .oneof(text, fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "tag"))
      .filter((value) => value.length > 0 && value !== "customer_id" && value !== "order_id");
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[A-Za-z0-9-]{1,128}$/),
        fc.constantFrom("completed", "error"),
        id(2048),
        id(1024),
        fc.array(fc.tuple(name, text), { maxLength: 8 }),
        fc.boolean(),
        async (transcriptId, status, customerId, orderId, extras, base64) => {
          const body = JSON.stringify({ transcript_id: transcriptId, status });
          const pairs: Array<[string, string]> = [
            ["customer_id", customerId],
            ["order_id", orderId],
            ...extras,
          ];
          const query = pairs.map((pair) => pair.map(encodeURIComponent).join("=")).join("&");
          const encoded = {
            body: base64 ? Buffer.from(body).toString("base64") : body,
            isBase64Encoded: base64,
          };

          const response = await run(
            hostileEvent({ [AUTH_HEADER]: SECRET }, query, encoded, { rawPath: "/webhook", method: "POST" }),
          );

          expect(response.statusCode).toBe(200);
          expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
          const queued = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? "";
          const parsed = parseDeliveryMessage(queued);
          if (!parsed.ok || parsed.message.kind !== "transcript")
            throw new Error(`not queued as a transcript`);
          const { metadata } = parsed.message;
          expect(metadata.customer_id).toBe(customerId);
          expect(metadata.order_id).toBe(orderId);
          const grouped = new Map<string, string[]>();
          for (const [key, value] of pairs) grouped.set(key, [...(grouped.get(key) ?? []), value]);
          expect(Object.keys(metadata.params).sort()).toEqual([...grouped.keys()].sort());
          for (const [key, values] of grouped) {
            expect(Object.getOwnPropertyDescriptor(metadata.params, key)?.value).toEqual(
              values.length === 1 ? values[0] : values,
            );
          }
        },
      ),
      RUNS,
    );
  });
});
