/**
 * The package as a consumer gets it: `npm pack` (which runs `npm run build`), and the tarball installed into
 * a fresh CDK app beside only aws-cdk-lib, constructs and cdk-nag (test/package/consumer/), where it
 * synthesizes with cdk-nag and no finding, deploys the very bundles synth builds from this repository, and
 * type-checks.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { FUNCTION_ENTRIES } from "../../lib/bundling";
import { AssemblyAiWebhookReceiver } from "../../lib/index";

const run = promisify(execFile);
const root = path.resolve(__dirname, "../..");
const manifest = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
  name: string;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
const SETUP_TIMEOUT_MS = 300_000;
const STEP_TIMEOUT_MS = 120_000;

/** The version this repository tests with, so that the consumer's install is the one npm ci cached. */
function installedVersion(name: string): string {
  return (
    JSON.parse(readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
}

/** Environment of a machine with no AWS configuration at all, as in test/infra/synth-cli.test.ts. */
function withoutAws(extra: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("AWS_")));
  return {
    ...clean,
    AWS_CONFIG_FILE: "/nonexistent",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
    AWS_EC2_METADATA_DISABLED: "true",
    ...extra,
  };
}

interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

interface PolicyProperties {
  PolicyDocument: { Statement: { Action: string | string[] }[] };
}

let work: string;
let appDir: string;
let packedFiles: string[];

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), "package-test-"));
  // npm pack runs `npm run build` first (prepack), so the tarball is this checkout's code.
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: root });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  if (packed === undefined) throw new Error(`npm pack reported no tarball: ${stdout}`);
  packedFiles = packed.files.map((file) => file.path);

  appDir = path.join(work, "app");
  cpSync(path.join(__dirname, "consumer"), appDir, { recursive: true });
  const dependencies = {
    [manifest.name]: `file:${path.join(work, packed.filename)}`,
    "aws-cdk-lib": installedVersion("aws-cdk-lib"),
    constructs: installedVersion("constructs"),
    "cdk-nag": installedVersion("cdk-nag"),
  };
  writeFileSync(
    path.join(appDir, "package.json"),
    `${JSON.stringify({ name: "consumer-app", private: true, dependencies }, null, 2)}\n`,
  );
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: appDir });
}, SETUP_TIMEOUT_MS);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("holds dist/, the README, the licence and package.json, and nothing else", () => {
    expect(packedFiles.filter((file) => !file.startsWith("dist/")).sort()).toEqual([
      "LICENSE",
      "README.md",
      "package.json",
    ]);
    expect(packedFiles).toEqual(expect.arrayContaining(["dist/lib/index.js", "dist/lib/index.d.ts"]));
  });

  it("carries every function prebuilt, without its source maps", () => {
    for (const name of Object.keys(FUNCTION_ENTRIES)) {
      expect(packedFiles).toContain(`dist/assets/${name}/index.mjs`);
    }
    expect(packedFiles.filter((file) => file.endsWith(".map"))).toEqual([]);
  });

  it("loads at run time, and names in its declarations, only its dependencies and peers", () => {
    const dist = path.join(appDir, "node_modules", manifest.name, "dist");
    const entries = ["lib/index", "lib/client/transcript-store-client"];
    const allowed = new Set([
      ...Object.keys(manifest.dependencies),
      ...Object.keys(manifest.peerDependencies),
    ]);
    const isBuiltin = (specifier: string) =>
      specifier.startsWith("node:") || builtinModules.includes(specifier);
    const packageOf = (specifier: string) =>
      specifier
        .split("/")
        .slice(0, specifier.startsWith("@") ? 2 : 1)
        .join("/");

    const js = packagesNamed(dist, entries, ".js").filter((name) => !isBuiltin(name));
    const declarations = packagesNamed(dist, entries, ".d.ts").filter((name) => !isBuiltin(name));

    // lib/bundling.js requires esbuild inside the functions that bundle from sources, which the package never
    // calls (lib/function-code.ts); the app below synthesizes with no esbuild installed.
    expect(js.filter((name) => !allowed.has(packageOf(name)) && name !== "esbuild")).toEqual([]);
    expect(declarations.filter((name) => !allowed.has(packageOf(name)))).toEqual([]);
    expect(js).toContain("aws-cdk-lib");
    expect(declarations).toContain("constructs");
  });

  it("gives the read client an entry point of its own that loads no CDK", async () => {
    const probe = `const client = require("${manifest.name}/client");
      const loaded = Object.keys(require.cache).map((file) => file.split("/node_modules/").pop().split("/")[0]);
      console.log(JSON.stringify({ exports: Object.keys(client).sort(), packages: [...new Set(loaded)].sort() }));`;

    const { stdout } = await run(process.execPath, ["-e", probe], { cwd: appDir });

    const { exports, packages } = JSON.parse(stdout) as { exports: string[]; packages: string[] };
    expect(exports).toEqual(expect.arrayContaining(["TranscriptStoreClient", "isTurnEvent"]));
    expect(packages).toEqual(expect.arrayContaining([manifest.name, "@aws-sdk", "valibot"]));
    expect(packages.filter((name) => name === "aws-cdk-lib" || name === "constructs")).toEqual([]);
  });
});

/**
 * The bare module names that the modules reachable from `entries` (relative to `dist`, without extension)
 * import, following the relative imports between the files ending in `extension`.
 */
function packagesNamed(dist: string, entries: string[], extension: ".js" | ".d.ts"): string[] {
  const seen = new Set<string>();
  const named = new Set<string>();
  const pending = entries.map((entry) => path.join(dist, `${entry}${extension}`));
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const [, specifier = ""] of text.matchAll(/(?:require\(|from |import\()"([^"]+)"/g)) {
      if (!specifier.startsWith(".")) {
        named.add(specifier);
        continue;
      }
      const base = path.resolve(path.dirname(file), specifier);
      const target = [`${base}${extension}`, path.join(base, `index${extension}`)].find((c) => existsSync(c));
      if (target === undefined) throw new Error(`${file} imports ${specifier}, which is not in the package`);
      pending.push(target);
    }
  }
  return [...named];
}

describe("a fresh CDK app with the package, aws-cdk-lib, constructs and cdk-nag", () => {
  let template: { Resources: Record<string, CfnResource> };

  it(
    "synthesizes the receiver and a consumer subscribed to Transcript Stored, with no cdk-nag finding",
    async () => {
      const outdir = path.join(work, "cdk.out");
      // No esbuild beside it, and no sources: the construct deploys the package's prebuilt bundles.
      expect(existsSync(path.join(appDir, "node_modules", "esbuild"))).toBe(false);

      await run(process.execPath, ["app.js"], { cwd: appDir, env: withoutAws({ CDK_OUTDIR: outdir }) });

      const report = JSON.parse(readFileSync(path.join(outdir, "validation-report.json"), "utf8")) as {
        pluginReports: { pluginName: string; violations: { ruleName: string }[] }[];
      };
      expect(report.pluginReports.flatMap((plugin) => plugin.violations.map((v) => v.ruleName))).toEqual([]);
      const assembly = JSON.parse(readFileSync(path.join(outdir, "manifest.json"), "utf8")) as {
        artifacts: Record<string, { metadata?: Record<string, { type: string; data: unknown }[]> }>;
      };
      const messages = Object.values(assembly.artifacts).flatMap((artifact) =>
        Object.entries(artifact.metadata ?? {}).flatMap(([construct, entries]) =>
          entries
            .filter((entry) => entry.type === "aws:cdk:error" || entry.type === "aws:cdk:warning")
            .map((entry) => `${construct}: ${String(entry.data)}`),
        ),
      );
      expect(messages).toEqual([]);

      template = JSON.parse(readFileSync(path.join(outdir, "Consumer.template.json"), "utf8"));
      const resources = Object.entries(template.Resources);
      const [busId] = resources.find(([, resource]) => resource.Type === "AWS::Events::EventBus") ?? [];
      const [indexerId, indexer] =
        resources.find(
          ([id, resource]) => resource.Type === "AWS::Lambda::Function" && id.startsWith("Indexer"),
        ) ?? [];
      expect(busId).toBeDefined();
      expect(indexer?.Properties).toMatchObject({ Runtime: "nodejs24.x", Handler: "index.handler" });
      const rules = resources.filter(
        ([, resource]) =>
          resource.Type === "AWS::Events::Rule" &&
          JSON.stringify(resource.Properties?.EventBusName) === JSON.stringify({ Ref: busId }),
      );
      expect(rules.map(([, rule]) => rule.Properties)).toEqual([
        expect.objectContaining({
          EventPattern: { "detail-type": ["Transcript Stored"], detail: { customer_id: ["acme"] } },
          State: "ENABLED",
          Targets: [expect.objectContaining({ Arn: { "Fn::GetAtt": [indexerId, "Arn"] } })],
        }),
      ]);
      // grantReadTranscripts reached the consumer's own role, beside its log statement.
      const [roleId] =
        resources.find(
          ([id, resource]) => resource.Type === "AWS::IAM::Role" && id.startsWith("IndexerRole"),
        ) ?? [];
      const roleActions = resources
        .filter(
          ([, resource]) =>
            resource.Type === "AWS::IAM::Policy" &&
            JSON.stringify(resource.Properties?.Roles) === JSON.stringify([{ Ref: roleId }]),
        )
        .flatMap(([, policy]) => (policy.Properties as unknown as PolicyProperties).PolicyDocument.Statement)
        .flatMap((statement) => statement.Action);
      expect(roleActions).toEqual(
        expect.arrayContaining(["logs:PutLogEvents", "dynamodb:GetItem", "dynamodb:Query", "s3:GetObject"]),
      );
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "deploys byte for byte what synth bundles from this repository's sources",
    () => {
      // The same receiver at the same path, from the repository's TypeScript: bundled now, from functions/.
      const app = new App({ outdir: path.join(work, "from-source") });
      new AssemblyAiWebhookReceiver(new Stack(app, "Consumer"), "Webhooks");
      const fromSource = Template.fromStack(app.node.findChild("Consumer") as Stack).toJSON() as {
        Resources: Record<string, CfnResource>;
      };

      const functions = Object.entries(fromSource.Resources).filter(
        ([, resource]) => resource.Type === "AWS::Lambda::Function",
      );
      // Each function's code is an asset whose name is the hash of its files: equal names, equal bytes.
      expect(functions.length).toBeGreaterThanOrEqual(Object.keys(FUNCTION_ENTRIES).length);
      for (const [id, resource] of functions) {
        expect(template.Resources[id]?.Properties?.Code).toEqual(resource.Properties?.Code);
      }
      // And the rest of the receiver is the same too: the consumer only adds resources of its own.
      for (const [id, resource] of Object.entries(fromSource.Resources)) {
        expect({ id, ...template.Resources[id] }).toEqual({ id, ...resource });
      }
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "keeps cdk-nag in force: the same app with a non-compliant bucket fails its synth",
    async () => {
      const outdir = path.join(work, "cdk.out-noncompliant");

      await expect(
        run(process.execPath, ["noncompliant.js"], { cwd: appDir, env: withoutAws({ CDK_OUTDIR: outdir }) }),
      ).rejects.toMatchObject({ stderr: expect.stringContaining("AwsSolutions-S10") });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "gives a TypeScript consumer the construct's and the client's types",
    async () => {
      // As `cdk init app --language typescript` configures a project, with this repository's Node.js types.
      writeFileSync(
        path.join(appDir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2022",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            lib: ["es2022"],
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            typeRoots: [path.join(root, "node_modules", "@types")],
            types: ["node"],
          },
          files: ["typed.ts"],
        }),
      );
      const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");

      const result = await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: appDir }).catch(
        (error: { stdout?: string }) => ({ stdout: `tsc failed:\n${error.stdout ?? String(error)}` }),
      );
      expect(result.stdout).toBe("");
    },
    STEP_TIMEOUT_MS,
  );
});
