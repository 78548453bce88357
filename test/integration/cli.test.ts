/**
 * The `aai-webhooks` CLI, every command, run as a child process against the local stack (moto, the worker,
 * the AssemblyAI simulator), asserting what an operator sees: output, JSON and exit codes.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { GetSecretValueCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { buildReplayMessage } from "../../cli/messages";
import { LOCAL_NAMES } from "../../local/resources";
import { runCli, runCliJson, secretsClient } from "./cli-support";
import { audioUrl, type LocalStack, uniqueId, useLocalStack } from "./support";

const stack = useLocalStack();

/** A finished transcript whose webhook the receiver rejected (wrong secret): AssemblyAI gives up on a 4xx. */
async function rejectedTranscript(local: LocalStack, customerId: string, orderId: string): Promise<string> {
  const transcript = await local.submit(customerId, orderId, { authHeaderValue: "not-the-secret" });
  const attempts = await local.waitForSettledDelivery(transcript.id);
  expect(attempts.at(-1)?.statusCode).toBe(401);
  return transcript.id;
}

describe("submit, get, list", () => {
  const customerId = uniqueId("cli");

  it("submits an audio URL with the stack's webhook and secret, and get shows the stored record", async () => {
    const submitted = await runCliJson<{ transcript_id: string; webhook_url: string }>(stack(), [
      "submit",
      audioUrl({ words: 30 }),
      "--customer-id",
      customerId,
      "--order-id",
      "url-1",
      "--param",
      "team=blue",
    ]);
    expect(submitted.webhook_url).toBe(`${stack().webhookUrl(customerId, "url-1")}&team=blue`);
    await stack().waitForRecord(customerId, "url-1");

    const result = await runCli(stack(), ["get", customerId, "url-1"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^transcript_id\\s+${submitted.transcript_id}$`, "m"));
    expect(result.stdout).toMatch(/^status\s+completed$/m);
    expect(result.stdout).toMatch(/^source\s+webhook$/m);
    expect(result.stdout).toContain('"team":"blue"');
    expect(result.stdout + result.stderr).not.toContain(stack().contract.authHeaderValue);
  });

  it("uploads a local file through the SDK and submits it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "aai-cli-audio-"));
    const file = path.join(dir, "call.wav");
    writeFileSync(file, Buffer.alloc(4096, 1));
    try {
      const result = await runCli(stack(), [
        "submit",
        file,
        "--customer-id",
        customerId,
        "--order-id",
        "file-1",
      ]);

      expect(result.code).toBe(0);
      expect(result.stderr).toContain(`uploading ${file}`);
      const record = await stack().waitForRecord(customerId, "file-1");
      expect(record.status).toBe("completed");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a file that does not exist, before calling anyone", async () => {
    const result = await runCli(stack(), [
      "submit",
      "/nonexistent/call.wav",
      "--customer-id",
      customerId,
      "--order-id",
      "x",
    ]);

    expect(result).toMatchObject({ code: 1, stderr: "error: no such file: /nonexistent/call.wav\n" });
  });

  it("get --full prints the whole transcript JSON from the bucket", async () => {
    const record = await stack().waitForRecord(customerId, "url-1");

    const transcript = await runCliJson<{ id: string; words: unknown[] }>(stack(), [
      "get",
      customerId,
      "url-1",
      "--full",
    ]);

    expect(transcript.id).toBe(record.transcript_id);
    expect(transcript.words).toHaveLength(30);
  });

  it("get of a record that does not exist exits 1 with one line", async () => {
    const result = await runCli(stack(), ["get", customerId, "nope"]);

    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: `error: no record for customer ${customerId} order nope\n`,
    });
  });

  it("list shows the customer's records as a table, and as JSON", async () => {
    await stack().waitForRecord(customerId, "file-1");

    const table = await runCli(stack(), ["list", customerId]);
    const records = await runCliJson<Array<{ order_id: string }>>(stack(), ["list", customerId]);

    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ORDER\s+STATUS\s+TRANSCRIPT/m);
    expect(table.stdout).toMatch(/^file-1\s+completed/m);
    expect(table.stdout).toMatch(/^url-1\s+completed/m);
    expect(records.map((record) => record.order_id)).toEqual(["file-1", "url-1"]);
  });

  it("bad arguments are usage errors (exit 2)", async () => {
    // An empty id can be no key (any other text can: ids are anything a URL carries).
    const result = await runCli(stack(), ["get", "", "x"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("is invalid for argument 'customer_id'");
  });
});

describe("replay", () => {
  it("ingests a transcript whose webhook was rejected, taking the ids from its webhook_url", async () => {
    const customerId = uniqueId("replay");
    const transcriptId = await rejectedTranscript(stack(), customerId, "o-1");
    expect(await stack().getRecord(customerId, "o-1")).toBeUndefined();

    const result = await runCli(stack(), ["replay", transcriptId]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`^${transcriptId}\\s+queued\\s+completed\\s+${customerId}\\s+o-1`, "m"),
    );
    const record = await stack().waitForRecord(customerId, "o-1");
    expect(record).toMatchObject({ transcript_id: transcriptId, status: "completed", source: "replay" });
  });

  it("stores under --customer-id/--order-id when given", async () => {
    const customerId = uniqueId("replay");
    const transcriptId = await rejectedTranscript(stack(), customerId, "o-1");

    const result = await runCli(stack(), [
      "replay",
      transcriptId,
      "--customer-id",
      customerId,
      "--order-id",
      "moved",
    ]);

    expect(result.code).toBe(0);
    const record = await stack().waitForRecord(customerId, "moved");
    expect(record.transcript_id).toBe(transcriptId);
  });

  it("replays several ids, reports each, and exits 3 when one is not finished", async () => {
    const customerId = uniqueId("replay");
    const finished = await rejectedTranscript(stack(), customerId, "done");
    const running = await stack().submit(customerId, "running", {
      audioUrl: audioUrl({ delay_ms: 120_000 }),
    });

    const result = await runCli(stack(), ["--json", "replay", finished, running.id]);

    expect(result.code).toBe(3);
    const rows = JSON.parse(result.stdout) as Array<{ transcript_id: string; ok: boolean; error?: string }>;
    expect(rows).toEqual([
      expect.objectContaining({ transcript_id: finished, ok: true }),
      expect.objectContaining({
        transcript_id: running.id,
        ok: false,
        error: expect.stringMatching(/is (queued|processing): only completed or error/),
      }),
    ]);
    await stack().waitForRecord(customerId, "done");
  });

  it("says clearly when AssemblyAI does not know the transcript", async () => {
    const result = await runCli(stack(), ["replay", "0000-no-such-transcript"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: AssemblyAI: GET \/v2\/transcript\/0000-no-such-transcript answered HTTP 404: /,
    );
  });
});

describe("dlq", () => {
  it("lists a dead-lettered delivery, then redrives it so the worker stores it", async () => {
    const customerId = uniqueId("dlq");
    const transcriptId = await rejectedTranscript(stack(), customerId, "o-1");
    const message = {
      ...buildReplayMessage({
        transcriptId,
        status: "completed",
        metadata: {
          customer_id: customerId,
          order_id: "o-1",
          params: { customer_id: customerId, order_id: "o-1" },
        },
        now: new Date(),
        requestId: uniqueId("req"),
      }),
      source: "webhook" as const,
    };
    const sent = await stack().sqs.send(
      new SendMessageCommand({ QueueUrl: stack().contract.dlqUrl, MessageBody: JSON.stringify(message) }),
    );

    const listed = await runCliJson<{ depth: number; messages: Array<Record<string, unknown>> }>(stack(), [
      "dlq",
      "list",
    ]);
    const table = await runCli(stack(), ["dlq", "list"]);

    expect(listed.messages).toContainEqual(
      expect.objectContaining({
        message_id: sent.MessageId,
        kind: "transcript",
        transcript_id: transcriptId,
        customer_id: customerId,
        order_id: "o-1",
        source: "webhook",
        received_at: message.received_at,
        receive_count: expect.any(Number),
      }),
    );
    expect(table.stdout).toMatch(
      new RegExp(`^${sent.MessageId}\\s+transcript\\s+${transcriptId}\\s+${customerId}\\s+o-1`, "m"),
    );
    expect(table.stdout).toContain("dlq redrive");
    // Listing released the messages: all of them are still there, visible.
    expect((await stack().dlqDepth()).visible).toBe(listed.depth);

    const redrive = await runCli(stack(), ["dlq", "redrive"]);

    expect(redrive.code).toBe(0);
    expect(redrive.stdout).toMatch(/^\d+ messages? moved back to the delivery queue \(completed\)$/m);
    expect((await stack().dlqDepth()).total).toBe(0);
    const record = await stack().waitForRecord(customerId, "o-1");
    expect(record.transcript_id).toBe(transcriptId);
  });

  it("names the worker's reason for a message it cannot read", async () => {
    const sent = await stack().sqs.send(
      new SendMessageCommand({ QueueUrl: stack().contract.dlqUrl, MessageBody: "{broken" }),
    );

    const listed = await runCliJson<{ messages: Array<Record<string, unknown>> }>(stack(), ["dlq", "list"]);

    expect(listed.messages).toContainEqual(
      expect.objectContaining({
        message_id: sent.MessageId,
        kind: "malformed",
        problem: "message body is not JSON",
      }),
    );
    const redrive = await runCliJson<{ moved: number }>(stack(), ["dlq", "redrive"]);
    expect(redrive.moved).toBeGreaterThanOrEqual(1);
  });

  it("redrive of an empty DLQ is a no-op", async () => {
    await stack().waitForQueueDrained();

    const result = await runCli(stack(), ["dlq", "redrive"]);

    expect(result).toMatchObject({ code: 0, stdout: "the dead-letter queue is empty: nothing to redrive\n" });
  });
});

describe("status", () => {
  it("shows both queues, the API key's state and recent failures", async () => {
    const customerId = uniqueId("status");
    await stack().submit(customerId, "broken", { audioUrl: audioUrl({ simulate: "error" }) });
    await stack().waitForRecord(customerId, "broken");

    const status = await runCliJson<{
      queue: { visible: number; in_flight: number; oldest_message_age: null };
      dead_letter_queue: { visible: number };
      api_key: string;
      recent_failures: Array<{ customer_id: string; status: string }>;
    }>(stack(), ["status", "--failures", "50"]);
    const human = await runCli(stack(), ["status"]);

    expect(status.queue).toMatchObject({
      visible: expect.any(Number),
      in_flight: expect.any(Number),
      oldest_message_age: null,
    });
    expect(status.dead_letter_queue.visible).toBe(0);
    expect(status.api_key).toBe("set");
    expect(status.recent_failures).toContainEqual(
      expect.objectContaining({ customer_id: customerId, status: "error" }),
    );
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^queue\s+\d+ \(\d+ waiting, \d+ in flight\)$/m);
    expect(human.stdout).toMatch(/^dead-letter queue\s+0 /m);
    expect(human.stdout).toMatch(/^oldest message\s+n\/a/m);
  });
});

describe("status: fetch_failed records waiting for a retry", () => {
  it("counts a record AssemblyAI answered 404 for, from the sparse retry index", async () => {
    const waiting = async () =>
      (await runCliJson<{ fetch_failed_waiting_retry: number }>(stack(), ["status"]))
        .fetch_failed_waiting_retry;
    const before = await waiting();
    const customerId = uniqueId("status-retry");
    const job = await stack().submit(customerId, "missing");
    await stack().addFault({ status: 404, times: 100, transcriptId: job.id });
    try {
      await stack().waitForRecord(customerId, "missing", (r) => r.status === "fetch_failed");
    } finally {
      await stack().clearFaults();
    }

    const after = await waiting();
    const human = await runCli(stack(), ["status"]);

    expect(after).toBe(before + 1);
    expect(human.stdout).toMatch(new RegExp(`^retries waiting\\s+${after} fetch_failed record`, "m"));
  });
});

describe("the package's bin entry", () => {
  it("runs the same CLI through the tsx shim", async () => {
    const result = await runCli(stack(), ["status"], { entry: "bin" });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^dead-letter queue\s+/m);
  });
});

describe("set-api-key", () => {
  it("checks the key with the simulator, needs --force to replace one, never prints it, and refuses an empty one", async () => {
    const secrets = secretsClient(stack());
    const read = async () =>
      (await secrets.send(new GetSecretValueCommand({ SecretId: LOCAL_NAMES.apiKeySecret }))).SecretString;
    const original = await read();
    // The key the simulator accepts (local-simulator-key), which the local stack's secret holds already.
    const accepted = stack().contract.assemblyAiApiKey;
    try {
      const rejected = await runCli(stack(), ["set-api-key", "--force"], { stdin: "cli-test-key-42\n" });
      const unforced = await runCli(stack(), ["set-api-key"], { stdin: "cli-test-key-42\n" });
      const unchecked = await runCli(stack(), ["set-api-key", "--force", "--no-verify"], {
        stdin: "cli-test-key-42\n",
      });
      const afterUnchecked = await read();
      const checked = await runCli(stack(), ["set-api-key", "--force"], { stdin: `${accepted}\n` });
      const empty = await runCli(stack(), ["set-api-key"], { stdin: "\n" });

      expect(rejected.code).toBe(1);
      expect(rejected.stderr).toMatch(/^error: AssemblyAI at \S+ rejected the key \(HTTP 401\)/);
      expect(unforced.code).toBe(1);
      expect(unforced.stderr).toContain("already holds an API key: pass --force to replace it");
      expect(unchecked.code).toBe(0);
      expect(unchecked.stderr).toContain("the key was not checked against AssemblyAI (--no-verify)");
      expect(afterUnchecked).toBe("cli-test-key-42");
      expect(checked.code).toBe(0);
      expect(checked.stdout).toMatch(/^checked\s+accepted by /m);
      for (const result of [rejected, unforced, unchecked, checked]) {
        expect(result.stdout + result.stderr).not.toContain("cli-test-key-42");
        expect(result.stdout + result.stderr).not.toContain(accepted);
      }
      expect(await read()).toBe(accepted);
      expect(empty).toMatchObject({ code: 2, stderr: "error: the API key is empty: nothing was stored\n" });
      expect(await read()).toBe(accepted);
    } finally {
      await secrets.send(
        new PutSecretValueCommand({ SecretId: LOCAL_NAMES.apiKeySecret, SecretString: original }),
      );
      secrets.destroy();
    }
  });
});

describe("reconcile", () => {
  it("queues a finished transcript whose webhook never got it stored, and the worker stores it", async () => {
    const customerId = uniqueId("reconcile");
    const transcriptId = await rejectedTranscript(stack(), customerId, "o-1");

    const result = await runCli(stack(), ["reconcile", "--since", "30m"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^${transcriptId}\\s+queued\\s+${customerId}\\s+o-1`, "m"));
    expect(result.stdout).toMatch(/^queued\s+[1-9]\d*$/m);
    const record = await stack().waitForRecord(customerId, "o-1");
    expect(record).toMatchObject({ transcript_id: transcriptId, source: "reconciler" });

    await stack().waitForQueueDrained();
    const again = await runCliJson<{ queued: number }>(stack(), ["reconcile", "--since", "30m"]);
    expect(again.queued).toBe(0);
  });
});
