import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { buildStack } from "./synth";

describe("cfn-lint", () => {
  it("finds no error or unacknowledged warning in the synthesized template", () => {
    const outdir = mkdtempSync(path.join(tmpdir(), "cfn-lint-"));
    try {
      const { app, stack } = buildStack({}, outdir);
      app.synth();
      const template = path.join(outdir, stack.templateFile);

      const run = () =>
        execFileSync("cfn-lint", ["--config-file", ".cfnlintrc.yaml", "--", template], {
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
