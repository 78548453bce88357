/**
 * The source allowlist on the local stack: a probe from outside it gets 403 before the receiver reads the
 * webhook secret (it costs no Secrets Manager call and learns nothing of the secret), while AssemblyAI's
 * address (here 127.0.0.1) is served. Linux routes all of 127.0.0.0/8 to the loopback interface, so a request
 * bound to 127.0.0.2 arrives from outside the list.
 */
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { localAccessKeyId } from "../../local/resources";
import { type LocalStack, uniqueId, useLocalStack } from "./support";

jest.setTimeout(45_000);

const stack = useLocalStack({ ALLOWED_SOURCE_IPS: "127.0.0.1" });

function receiverCalls(s: LocalStack): string[] {
  return readFileSync(s.contract.awsCallsFile, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as { accessKeyId: string; operation: string })
    .filter((call) => call.accessKeyId.startsWith(localAccessKeyId("receiver")))
    .map((call) => call.operation);
}

/** POSTs from a chosen local address, with the stack's secret. */
function postFrom(s: LocalStack, localAddress: string, url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const sent = request(
      url,
      {
        method: "POST",
        localAddress,
        headers: {
          "content-type": "application/json",
          [s.contract.authHeaderName]: s.contract.authHeaderValue,
        },
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    sent.on("error", reject);
    sent.end(body);
  });
}

test("a probe from outside the allowlist gets 403 with no Secrets Manager call; AssemblyAI's address is served", async () => {
  const s = stack();
  const url = s.webhookUrl(uniqueId("acme"), uniqueId("order"));
  const body = JSON.stringify({ transcript_id: "abc-123", status: "completed" });

  expect(await postFrom(s, "127.0.0.2", url, body)).toBe(403);
  expect(receiverCalls(s)).not.toContain("GetSecretValue");

  expect(await postFrom(s, "127.0.0.1", url, body)).toBe(200);
  expect(receiverCalls(s)).toEqual(expect.arrayContaining(["GetSecretValue", "SendMessage"]));
});
