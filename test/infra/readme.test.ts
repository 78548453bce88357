/**
 * The README's commands run as written, as far as they can offline: every `npm run` names a script and puts
 * `--` before options meant for the script (npm would take `-c` as its own), every `-c key=value` it shows
 * is a setting the stack accepts, one deploy example synthesizes as is, and every CLI command it documents
 * answers `--help`.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { CONTEXT_KEYS, resolveConfig } from "../../lib/config";
import { runCli } from "../unit/cli/support";

const root = path.resolve(__dirname, "..", "..");
const readme = readFileSync(path.join(root, "README.md"), "utf8");
const scripts = Object.keys(
  (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> })
    .scripts,
);

/** Every command line the README shows: code blocks' lines and inline code spans. */
function commands(): string[] {
  const blocks = [...readme.matchAll(/```(?:bash|sh)?\n([\s\S]*?)```/g)].flatMap((m) =>
    (m[1] ?? "").split("\n").map((line) => line.replace(/\s+#.*$/, "").trim()),
  );
  const inline = [...readme.replaceAll(/```[\s\S]*?```/g, "").matchAll(/`([^`\n]+)`/g)].map((m) =>
    (m[1] ?? "").trim(),
  );
  return [...blocks, ...inline].filter((line) => /^(npm|npx) /.test(line));
}

const npmRuns = commands().filter((c) => c.startsWith("npm run "));
const settings = [
  ...new Set(commands().flatMap((c) => [...c.matchAll(/-c (\w+)=(\S+)/g)].map((m) => `${m[1]}=${m[2]}`))),
];

describe("the README's commands", () => {
  it("finds the commands it checks", () => {
    expect(npmRuns.length).toBeGreaterThan(5);
    expect(settings.length).toBeGreaterThan(3);
  });

  it.each(npmRuns)("`%s` names a package script and passes its options after --", (command) => {
    const [, , script = "", ...rest] = command.split(/\s+/);
    expect(scripts).toContain(script);
    const firstOption = rest.findIndex((word) => word.startsWith("-"));
    if (firstOption >= 0) expect(rest[firstOption]).toBe("--");
  });

  it.each(settings.filter((s) => !s.includes("<") && s !== "key=value"))(
    "-c %s is a setting the stack accepts",
    (setting) => {
      const [key = "", value = ""] = setting.split("=");

      expect(CONTEXT_KEYS).toContain(key);
      expect(() => resolveConfig({ [key]: value })).not.toThrow();
    },
  );

  it("synthesizes its example deploy, offline, with the settings it shows", async () => {
    const example = npmRuns.find((c) => c.startsWith("npm run deploy -- -c") && !c.includes("<"));
    expect(example).toBeDefined();
    const context = (example ?? "").replace(/^npm run deploy -- /, "").split(/\s+/);

    await promisify(execFile)("npx", ["cdk", "synth", "--quiet", "--no-notices", ...context], {
      cwd: root,
      env: { ...process.env, AWS_PROFILE: "", AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
      timeout: 110_000,
    });
  }, 120_000);

  // The rows of the README's CLI table, between its heading and the exit codes.
  const cliSection = readme.slice(
    readme.indexOf("### The `aai-webhooks` command line"),
    readme.indexOf("Exit codes:"),
  );
  const cliCommands = [...cliSection.matchAll(/^\| `([a-z][a-z-]*(?: (?:list|redrive))?)[ `]/gm)].map(
    (m) => m[1] ?? "",
  );

  it("documents the CLI's commands", () => {
    expect(cliCommands).toEqual(
      expect.arrayContaining(["submit", "get", "status", "rotate-secret", "dlq list", "usage", "erase"]),
    );
  });

  it("runs `npx aai-webhooks` as the repository's command, linked by npm ci (bin/package.json)", async () => {
    // --offline: a command missing from node_modules/.bin fails here rather than being fetched by name.
    const { stdout } = await promisify(execFile)("npx", ["--offline", "aai-webhooks", "--help"], {
      cwd: root,
      timeout: 60_000,
    });

    expect(stdout).toContain("Usage: aai-webhooks [options] [command]");
  }, 70_000);

  it.each(cliCommands)("aai-webhooks %s --help answers", async (name) => {
    const result = await runCli([...name.split(" "), "--help"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: aai-webhooks ${name}`);
  });
});
