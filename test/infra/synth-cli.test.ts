import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = path.resolve(__dirname, "../..");

/** Environment of a machine with no AWS configuration at all. */
function withoutAws(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("AWS_")));
  return {
    ...clean,
    AWS_CONFIG_FILE: "/nonexistent",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
    AWS_EC2_METADATA_DISABLED: "true",
    CDK_DISABLE_VERSION_CHECK: "1",
    CDK_DISABLE_CLI_TELEMETRY: "true",
  };
}

describe("cdk synth", () => {
  it("synthesizes the app with no AWS credentials, and cdk-nag as registered by bin/app.ts passes", async () => {
    const outdir = mkdtempSync(path.join(tmpdir(), "cdk-synth-"));
    try {
      await run("npx", ["cdk", "synth", "--quiet", "--no-notices", "--output", outdir], {
        cwd: root,
        env: withoutAws(process.env),
      });

      const template = path.join(outdir, "AssemblyAiWebhooks.template.json");
      expect(existsSync(template)).toBe(true);
      expect(Object.keys(JSON.parse(readFileSync(template, "utf8")).Resources).length).toBeGreaterThan(20);
      // Each function's asset is what Lambda runs and nothing more: its source maps wait beside it.
      const assets = readdirSync(outdir).filter((name) => existsSync(path.join(outdir, name, "index.mjs")));
      expect(assets).toHaveLength(4);
      for (const asset of assets) {
        const files = readdirSync(path.join(outdir, asset), { recursive: true, encoding: "utf8" });
        expect(files.filter((file) => file.endsWith(".map"))).toEqual([]);
      }
      for (const fn of ["receiver", "worker", "reconciler"]) {
        expect(existsSync(path.join(outdir, "sourcemaps", fn, "index.mjs.map"))).toBe(true);
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 120_000);

  it("fails with a message naming the setting when context is contradictory", async () => {
    const outdir = mkdtempSync(path.join(tmpdir(), "cdk-synth-"));
    try {
      const result = run(
        "npx",
        ["cdk", "synth", "--quiet", "--no-notices", "--output", outdir, "-c", "workerBatchSize=50"],
        { cwd: root, env: withoutAws(process.env) },
      );

      await expect(result).rejects.toMatchObject({
        stderr: expect.stringContaining("workerBatchSize must be between 1 and 10, got 50"),
      });
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 120_000);
});
