/**
 * The receiver's real SQS client against a small HTTP server that plays SQS: every delivery gets its three
 * attempts, even after many failed ones (the SDK's default per-client retry quota would have run dry).
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { sqsClient } from "../../../functions/receiver/clients";

const md5 = (text: string) => createHash("md5").update(text).digest("hex");

describe("the receiver's SQS client", () => {
  let server: Server;
  let queueUrl: string;
  let mode: "fail" | "fail-twice" = "fail";
  let attempts = 0;

  beforeAll(async () => {
    // The client reads its region and credentials at the first send.
    process.env.AWS_REGION = "us-east-1";
    process.env.AWS_ACCESS_KEY_ID = "test";
    process.env.AWS_SECRET_ACCESS_KEY = "test";
    server = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        attempts++;
        const fail = mode === "fail" || attempts <= 2;
        response.writeHead(fail ? 500 : 200, { "content-type": "application/x-amz-json-1.0" });
        response.end(
          JSON.stringify(
            fail
              ? { __type: "com.amazon.sqs#InternalError", message: "boom" }
              : { MessageId: "m-1", MD5OfMessageBody: md5("{}") },
          ),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    queueUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/000000000000/deliveries`;
  });

  afterAll(async () => {
    sqsClient.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const send = () => sqsClient.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "{}" }));

  it("retries a 500 twice for each of many failing deliveries", async () => {
    mode = "fail";
    attempts = 0;

    const results = await Promise.allSettled(Array.from({ length: 40 }, send));

    expect(results.every((result) => result.status === "rejected")).toBe(true);
    expect(attempts).toBe(120);
  });

  it("still gives the next delivery its three attempts, so a third-attempt success is queued", async () => {
    mode = "fail-twice";
    attempts = 0;

    const result = await send();

    expect(result.MessageId).toBe("m-1");
    expect(attempts).toBe(3);
  });
});
