/**
 * What each function's bundle carries of its telemetry: the worker and the reconciler log and measure
 * through Powertools; the receiver has its own emitter to stay within its 400 KB code budget
 * (functions/receiver/telemetry.ts), so nothing may bring Powertools back into it; its S3 client (claim checks
 * only) is a chunk a cold start does not load. Likewise the message
 * schema: the receiver builds messages and never parses them, so valibot stays out of it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { bundleFunction, FUNCTION_ENTRIES, type FunctionName } from "../../lib/bundling";

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

describe("the S3 client in the receiver's bundle", () => {
  /** The inputs of the chunks a cold start loads: the entry and what it imports statically, transitively. */
  function loadedAtStart(name: FunctionName): string[] {
    const { metafile } = bundleFunction(name, path.join(dir, `${name}-closure`));
    const outputs = metafile?.outputs ?? {};
    // Chunks imported dynamically are entry points too: the function's own is its handler.
    const entry = Object.keys(outputs).find((output) =>
      outputs[output]?.entryPoint?.endsWith(FUNCTION_ENTRIES[name]),
    );
    const seen = new Set<string>();
    const visit = (output: string) => {
      if (seen.has(output)) return;
      seen.add(output);
      for (const imported of outputs[output]?.imports ?? []) {
        if (imported.kind === "import-statement" && !imported.external) visit(imported.path);
      }
    };
    if (entry !== undefined) visit(entry);
    return [...seen].flatMap((output) => Object.keys(outputs[output]?.inputs ?? {}));
  }
  const s3Client = (inputs: string[]) => inputs.filter((input) => input.includes("@aws-sdk/client-s3/"));

  it("is deployed, for claim checks, but not loaded by a cold start (a chunk imported on first use)", () => {
    expect(s3Client(bundledInputs("receiver")).length).toBeGreaterThan(0);
    expect(s3Client(loadedAtStart("receiver"))).toEqual([]);
    // The check itself sees what a static import loads: the worker loads its S3 client at start.
    expect(s3Client(loadedAtStart("worker")).length).toBeGreaterThan(0);
  });
});
