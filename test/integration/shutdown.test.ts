/**
 * `local/start.ts` shuts down cleanly on SIGTERM: exit code 0, stack.json removed, the webhook port, the
 * simulator and the emulator closed, and no child process left behind. It waits for the exit, bounded only
 * so that a hang fails with a clear message (no timed assertion: CI machines are busy).
 */
import { existsSync } from "node:fs";
import {
  answers,
  commandLine,
  descendantPids,
  isAlive,
  type LocalStack,
  startLocalStack,
  uniqueId,
} from "./support";

jest.setTimeout(120_000);

let stack: LocalStack | undefined;

afterAll(async () => {
  // Only when the test failed before stopping it.
  await stack?.stop();
  stack?.cleanUp();
});

test("SIGTERM stops the whole stack: exit 0, stack.json removed, ports closed, moto gone", async () => {
  stack = await startLocalStack();
  const s = stack;
  const { webhookUrl, awsEndpoint, assemblyAiBaseUrl } = s.contract;

  // It works before the shutdown (so the shutdown below also stops a poller that has done real work).
  const customer = uniqueId("acme");
  const order = uniqueId("order");
  await s.submit(customer, order);
  await s.waitForRecord(customer, order, (r) => r.status === "completed");

  expect(existsSync(s.contractPath)).toBe(true);
  const pid = s.child.pid ?? 0;
  const descendants = existsSync("/proc") ? descendantPids(pid) : [];
  const names = new Map(descendants.map((child) => [child, commandLine(child) ?? ""]));
  const moto = descendants.filter((child) => (commandLine(child) ?? "").includes("moto_server"));
  if (existsSync("/proc")) expect(moto).toHaveLength(1);

  s.child.kill("SIGTERM");
  const exit = await Promise.race([
    s.exited(),
    new Promise<"did not exit">((resolve) => setTimeout(() => resolve("did not exit"), 40_000).unref()),
  ]);

  expect(exit).toEqual({ code: 0, signal: null });
  expect(existsSync(s.contractPath)).toBe(false);
  expect(await answers(webhookUrl)).toBe(false);
  expect(await answers(assemblyAiBaseUrl)).toBe(false);
  expect(await answers(`${awsEndpoint}/moto-api/`)).toBe(false);
  // Every process the stack started (tsx's node, moto_server) has exited (a zombie awaiting reaping counts).
  const survivors = descendants.filter(isAlive).map((child) => `${child} ${names.get(child)}`);
  expect(survivors).toEqual([]);
});
