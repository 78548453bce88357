/**
 * What each function's bundle carries of its telemetry: the worker and the reconciler log and measure
 * through Powertools; the receiver has its own emitter to stay within its 400 KB code budget
 * (functions/receiver/telemetry.ts), so nothing may bring Powertools back into it. Likewise the message
 * schema: the receiver builds messages and never parses them, so valibot stays out of it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { bundleFunction, type FunctionName } from "../../lib/bundling";

const dir = mkdtempSync(path.join(tmpdir(), "bundles-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bundledInputs(name: FunctionName): string[] {
  const { metafile } = bundleFunction(name, path.join(dir, name));
  return Object.keys(metafile?.inputs ?? {});
}

const powertools = (inputs: string[]) => inputs.filter((input) => input.includes("@aws-lambda-powertools/"));

describe("telemetry in the bundles", () => {
  it.each(["worker", "reconciler"] as const)("the %s bundles Powertools' Logger and Metrics", (name) => {
    const inputs = powertools(bundledInputs(name));

    expect(inputs.some((input) => input.includes("@aws-lambda-powertools/logger/"))).toBe(true);
    expect(inputs.some((input) => input.includes("@aws-lambda-powertools/metrics/"))).toBe(true);
  });

  it("the receiver bundles no Powertools", () => {
    expect(powertools(bundledInputs("receiver"))).toEqual([]);
  });
});

describe("the message schema in the bundles", () => {
  const schema = (inputs: string[]) =>
    inputs.filter((input) => input.includes("/valibot/") || input.endsWith("contract/delivery-schema.ts"));

  it("the worker parses messages with it", () => {
    expect(schema(bundledInputs("worker")).length).toBeGreaterThan(0);
  });

  it("the receiver, which only builds messages, carries none of it", () => {
    expect(schema(bundledInputs("receiver"))).toEqual([]);
  });
});
