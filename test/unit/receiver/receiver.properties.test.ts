import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-jest";
import fc from "fast-check";
import { secretsManagerClient, sqsClient } from "../../../functions/receiver/clients";
import { loadConfig } from "../../../functions/receiver/config";
import { createHandler, type WebhookHandler } from "../../../functions/receiver/receiver";
import { type DeliveryMessage, METADATA_ID_PATTERN } from "../../../functions/shared/contract/delivery";
import { AUTH_HEADER, captureLogs, fixture, SECRET, storeSecret, TEST_ENV } from "./support";

const sqsMock = mockClient(SQSClient);
const secretsMock = mockClient(SecretsManagerClient);

const RUNS = { numRuns: 300 };

let handler: WebhookHandler;
let logs: ReturnType<typeof captureLogs>;

beforeEach(() => {
  sqsMock.reset();
  secretsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: "message-1" });
  storeSecret(secretsMock, SECRET);
  handler = createHandler(loadConfig({ ...TEST_ENV, ALLOWED_SOURCE_IPS: "" }), {
    sqs: sqsClient,
    secretsManager: secretsManagerClient,
  });
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

async function run(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  sqsMock.resetHistory();
  logs.lines.length = 0;
  const response = await handler(event);
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
          if (auth && auth[1].length >= 16) {
            for (const line of logs.lines) expect(line).not.toContain(auth[1]);
          }
        },
      ),
      RUNS,
    );
  });

  it("with the right secret, answers 2xx with exactly one message or 4xx with none, never a 5xx", async () => {
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        authHeaderName,
        otherHeaders,
        fc.oneof(queryStrings, mostlyValidQueryStrings),
        encodedBodies,
        async (name, headers, query, encoded) => {
          const response = await run(
            hostileEvent({ ...headers, [name]: SECRET }, query, encoded, {
              rawPath: "/webhook",
              method: "POST",
            }),
          );

          const status = response.statusCode ?? 0;
          expect(status).toBeLessThan(500);
          outcomes.add(status >= 300 ? "rejected" : "accepted");
          if (status >= 300) {
            expectErrorBody(response);
            expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
            return;
          }
          expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
          const sent = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? "";
          expect(sent).not.toMatch(/[\uFFFE\uFFFF]/);
          const message = JSON.parse(sent) as DeliveryMessage;
          expect(message.metadata.customer_id).toMatch(METADATA_ID_PATTERN);
          expect(message.metadata.order_id).toMatch(METADATA_ID_PATTERN);
          expect(Object.keys(message.metadata.params).length).toBeLessThanOrEqual(32);
          expect(JSON.parse(response.body ?? "")).toMatchObject({ status: "queued", kind: message.kind });
        },
      ),
      RUNS,
    );

    // Both branches were exercised, so the property is not vacuously true.
    expect([...outcomes].sort()).toEqual(["accepted", "rejected"]);
  });

  it("answers every accepted-shape delivery with the right secret with 2xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[A-Za-z0-9-]{1,128}$/),
        fc.constantFrom("completed", "error"),
        fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,256}$/),
        fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,256}$/),
        fc.boolean(),
        async (transcriptId, status, customerId, orderId, base64) => {
          const body = JSON.stringify({ transcript_id: transcriptId, status });
          const query = new URLSearchParams({ customer_id: customerId, order_id: orderId }).toString();
          const encoded = {
            body: base64 ? Buffer.from(body).toString("base64") : body,
            isBase64Encoded: base64,
          };

          const response = await run(
            hostileEvent({ [AUTH_HEADER]: SECRET }, query, encoded, { rawPath: "/webhook", method: "POST" }),
          );

          expect(response.statusCode).toBe(200);
          expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
        },
      ),
      RUNS,
    );
  });
});
