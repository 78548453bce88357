/**
 * Issue 12 on the local stack: no genuine delivery gets a final 4xx or is acknowledged and never stored.
 * Jobs go through the simulator (AssemblyAI posts the webhook URL exactly as it was given), so each case is
 * what a real job's URL would do; unroutable bodies are posted by hand with the right secret.
 */
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { runCli, runCliJson } from "./cli-support";
import { eventually, type LocalStack, uniqueId, useLocalStack } from "./support";

jest.setTimeout(60_000);

const stack = useLocalStack();

/** Submits a job whose webhook URL carries `rawQuery` exactly, and waits for its record. */
async function storedThrough(s: LocalStack, rawQuery: string, customerId: string, orderId: string) {
  const job = await s.submit(customerId, orderId, { webhookUrl: s.webhookUrlWithQuery(rawQuery) });
  const record = await s.waitForRecord(customerId, orderId, (r) => r.status === "completed", 30_000);
  return { job, record };
}

async function keysUnder(s: LocalStack, prefix: string): Promise<string[]> {
  const page = await s.s3.send(new ListObjectsV2Command({ Bucket: s.contract.bucketName, Prefix: prefix }));
  return (page.Contents ?? []).map((object) => object.Key ?? "");
}

describe("webhook URLs real jobs carry are stored under exactly their ids", () => {
  test.each([
    ["a raw +", (tag: string) => [`customer_id=ops+${tag}@example.com`, `ops+${tag}@example.com`]],
    ["%2B", (tag: string) => [`customer_id=ops%2B${tag}%40example.com`, `ops+${tag}@example.com`]],
    ["..", (tag: string) => [`customer_id=..&x=${tag}`, ".."]],
    ["%2F and a #", (tag: string) => [`customer_id=a%2F..%2F${tag}%23b`, `a/../${tag}#b`]],
    [
      "non-ASCII",
      (tag: string) => [`customer_id=${encodeURIComponent(`Zoë 日本 ${tag}`)}`, `Zoë 日本 ${tag}`],
    ],
    // DynamoDB's partition key limit: its S3 segment is shortened with a digest to fit S3's key limit.
    [
      "2,048 bytes of UTF-8",
      (tag: string) => {
        const id = `${tag}${"ü".repeat((2048 - tag.length) / 2)}`;
        return [`customer_id=${encodeURIComponent(id)}`, id];
      },
    ],
  ])("customer_id with %s", async (_name, make) => {
    const s = stack();
    const order = uniqueId("order");
    const [query, customer] = make(uniqueId("t")) as [string, string];

    const { job, record } = await storedThrough(s, `${query}&order_id=${order}`, customer, order);

    expect(record).toMatchObject({ customer_id: customer, order_id: order, transcript_id: job.id });
    // The id is encoded into one key segment: nothing escapes transcripts/, nothing collides.
    expect(record.transcript_s3_key?.startsWith("transcripts/")).toBe(true);
    expect(record.transcript_s3_key?.split("/")).toHaveLength(4);
    expect(await s.getTranscriptJson(record.transcript_s3_key ?? "")).toMatchObject({ id: job.id });
  });

  test("repeated, many, long and prototype-named parameters are kept as the URL had them", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("order");
    const many = Array.from({ length: 30 }, (_, index) => `p${index}=${index}`).join("&");
    const long = "v".repeat(2048);
    const query = [
      `customer_id=${customer}`,
      `order_id=${order}`,
      "tag=a",
      "tag=b",
      "constructor=c",
      "__proto__=p",
      "toString=t",
      "hasOwnProperty=h",
      `long=${long}`,
      many,
    ].join("&");

    const { record } = await storedThrough(s, query, customer, order);

    const metadata = record.metadata as Record<string, unknown>;
    expect(Object.keys(metadata)).toHaveLength(2 + 1 + 4 + 1 + 30);
    expect(metadata.tag).toEqual(["a", "b"]);
    for (const [name, value] of [
      ["constructor", "c"],
      ["__proto__", "p"],
      ["toString", "t"],
      ["hasOwnProperty", "h"],
      ["long", long],
      ["p29", "29"],
    ]) {
      expect(Object.getOwnPropertyDescriptor(metadata, name as string)?.value).toBe(value);
    }
  });

  test("a 2 MB authenticated body is kept through the claim check and stored", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("order");
    // A genuine transcript delivery with a large extra field, as a future AssemblyAI payload could carry.
    const job = await s.submit(customer, order, { webhookUrl: s.webhookUrl(customer, "ignored") });
    await s.waitForRecord(customer, "ignored", (r) => r.status === "completed", 30_000);

    const answer = await s.postWebhook(s.webhookUrl(customer, order), {
      transcript_id: job.id,
      status: "completed",
      padding: "x".repeat(2 * 1024 * 1024),
    });

    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ status: "queued", kind: "transcript" });
    const record = await s.waitForRecord(customer, order, (r) => r.status === "completed", 30_000);
    expect(record.transcript_id).toBe(job.id);
    // The message waited in the inbox (the claim check), not on the queue.
    expect((await keysUnder(s, "inbox/")).length).toBeGreaterThan(0);
  });
});

describe("what cannot be routed is quarantined with a 2xx, never refused", () => {
  test.each([
    ["malformed JSON", "customer_id=c&order_id=o", '{"transcript_id": "abc", ', "invalid_json"],
    ["a JSON array", "customer_id=c&order_id=o", "[1,2]", "invalid_payload"],
    ["no customer_id", "order_id=o", '{"transcript_id":"abc-123","status":"completed"}', "missing_parameter"],
    [
      "an empty order_id",
      "customer_id=c&order_id=",
      '{"transcript_id":"abc","status":"completed"}',
      "missing_parameter",
    ],
    [
      "a bad transcript_id",
      "customer_id=c&order_id=o",
      '{"transcript_id":"../x","status":"completed"}',
      "invalid_transcript_id",
    ],
  ])(
    "%s: answered 200 quarantined, archived whole, listed by the CLI",
    async (_name, query, body, reason) => {
      const s = stack();
      const marker = uniqueId("q");

      const answer = await s.postWebhook(s.webhookUrlWithQuery(`${query}&marker=${marker}`), body);

      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ status: "quarantined", reason, message: expect.any(String) });
      const listed = await eventuallyListed(s, marker);
      expect(listed).toMatchObject({ reason, key: expect.stringMatching(/^quarantine\//) });
      const archived = JSON.parse((await s.getObject(listed.key)).toString("utf8")) as Record<
        string,
        unknown
      >;
      expect(archived).toMatchObject({ kind: "quarantine", reason, body, body_encoding: "utf8" });
      expect(archived.raw_query).toBe(`${query}&marker=${marker}`);
      // Headers are kept, the secret is not.
      expect(archived.headers).toMatchObject({ "content-type": "application/json" });
      expect(JSON.stringify(archived)).not.toContain(s.contract.authHeaderValue);
    },
  );

  test("a quarantined transcript with no owner is routed by replay once its owner is known", async () => {
    const s = stack();
    const customer = uniqueId("acme");
    const order = uniqueId("order");
    const job = await s.submit(customer, "first", {});
    await s.waitForRecord(customer, "first", (r) => r.status === "completed", 30_000);
    const marker = uniqueId("q");

    const answer = await s.postWebhook(s.webhookUrlWithQuery(`marker=${marker}`), {
      transcript_id: job.id,
      status: "completed",
    });
    expect(answer.json).toMatchObject({ status: "quarantined", reason: "missing_parameter" });
    const listed = await eventuallyListed(s, marker);
    expect(listed.transcript_id).toBe(job.id);

    const replayed = await runCli(s, ["replay", job.id, "--customer-id", customer, "--order-id", order]);
    expect(replayed.code).toBe(0);
    const record = await s.waitForRecord(customer, order, (r) => r.status === "completed", 30_000);
    expect(record.transcript_id).toBe(job.id);
  });

  test("unauthenticated and misrouted requests still get their 4xx", async () => {
    const s = stack();
    const url = s.webhookUrl("c", "o");
    expect((await s.postWebhook(url, {}, { authHeaderValue: null })).status).toBe(401);
    expect((await s.postWebhook(url, {}, { authHeaderValue: "wrong" })).status).toBe(401);
    expect((await s.postWebhook(url.replace("/webhook", "/other"), {})).status).toBe(404);
    expect((await s.postWebhook(url, {}, { method: "PUT" })).status).toBe(405);
  });
});

interface Listed {
  readonly key: string;
  readonly reason?: string;
  readonly query?: string;
  readonly transcript_id?: string;
}

/** `quarantine list` until it shows the request carrying `marker` (the worker archives it shortly). */
function eventuallyListed(s: LocalStack, marker: string): Promise<Listed> {
  let last: unknown;
  return eventually(
    async () => {
      last = await runCliJson<{ requests: Listed[] }>(s, ["quarantine", "list", "--max", "200"]);
      return (last as { requests: Listed[] }).requests.find((entry) => entry.query?.includes(marker));
    },
    { timeoutMs: 30_000, describe: () => `no quarantined request with ${marker}: ${JSON.stringify(last)}` },
  );
}
