import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { buildApp } from "./synth";

describe("cfn-lint", () => {
  it("finds no error or unacknowledged warning in the synthesized templates, defaults and keys on", () => {
    const outdir = mkdtempSync(path.join(tmpdir(), "cfn-lint-"));
    try {
      // One synthesis, one cfn-lint run: the default stack, and one with every resource the settings add.
      const stacks = {
        Webhooks: {},
        Configured: {
          bucketKmsKey: true,
          logsKmsKey: true,
          removalPolicy: "destroy",
          alarmEmail: "a@example.com",
          retentionDays: 90,
          deleteFromAssemblyAi: true,
        },
      };
      buildApp(stacks, outdir).synth();
      const templates = Object.keys(stacks).map((id) => path.join(outdir, `${id}.template.json`));

      const run = () =>
        execFileSync("cfn-lint", ["--config-file", ".cfnlintrc.yaml", "--", ...templates], {
          cwd: path.resolve(__dirname, "../.."),
          encoding: "utf8",
          stdio: "pipe",
        });

      // cfn-lint exits non-zero with its findings on stdout; show them as the failure.
      let findings = "";
      try {
        run();
      } catch (error) {
        findings = (error as { stdout?: string }).stdout || String(error);
      }
      expect(findings).toBe("");
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
