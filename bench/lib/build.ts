/**
 * Everything the benchmark runs, built into one scratch directory:
 * - the functions as deployed: `bundleFunction` from lib/bundling.ts, untouched;
 * - the same handlers bundled the way CDK's NodejsFunction does by default (see `cdkDefaultOptions`);
 * - the floors (an empty handler, a bare SQS send, the synchronous sample) with the deployed options, so a
 *   floor differs from our function by our code only;
 * - the child scripts, bundled so that no TypeScript loader runs inside a measured process;
 * - a function as it was at an earlier commit (`buildAtCommit`), for a before-and-after in one run.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import { type BuildOptions, buildSync, type Metafile } from "esbuild";
import {
  bundleFunction,
  bundleOptions,
  FUNCTION_ENTRIES,
  type FunctionName,
  PROJECT_ROOT,
} from "../../lib/bundling";

export interface Built {
  /** The file Lambda would load. */
  readonly entry: string;
  readonly format: "esm" | "cjs";
  /** Every code file (entry and chunks), source maps excluded. */
  readonly codeBytes: number;
  /** The entry and the chunks it imports statically: what module load reads before the first request. */
  readonly staticBytes: number;
  readonly files: number;
}

/**
 * CDK's NodejsFunction defaults for a Node.js 24 runtime: CommonJS, not minified, no source map, target
 * `node24`, platform node, esbuild's default main fields for CommonJS (`main,module`), no code splitting.
 * The one change: `externalModules: []`, because NodejsFunction marks `@aws-sdk/*` external on Node 18+
 * runtimes (using the runtime's SDK) and we bundle the SDK too; a fair comparison bundles it on both sides.
 */
export function cdkDefaultOptions(entry: string, outdir: string): BuildOptions {
  return {
    entryPoints: [path.resolve(PROJECT_ROOT, entry)],
    outfile: path.join(outdir, "index.js"),
    bundle: true,
    platform: "node",
    target: "node24",
    format: "cjs",
    minify: false,
    sourcemap: false,
    external: [],
    metafile: true,
    logLevel: "warning",
    absWorkingDir: PROJECT_ROOT,
  };
}

function codeFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...codeFiles(full));
    else if (/\.(mjs|cjs|js)$/.test(name)) out.push(full);
  }
  return out;
}

/** Bytes of the entry plus everything it reaches through static imports. */
function staticClosure(metafile: Metafile, entry: string): number {
  const outputs = metafile.outputs;
  const key = Object.keys(outputs).find((name) => path.resolve(PROJECT_ROOT, name) === entry);
  if (key === undefined) return Number.NaN;
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const imported of outputs[name]?.imports ?? []) {
      if (imported.kind === "import-statement" && !imported.external) visit(imported.path);
    }
  };
  visit(key);
  return [...seen].reduce((sum, name) => sum + (outputs[name]?.bytes ?? 0), 0);
}

function describe(dir: string, entry: string, format: "esm" | "cjs", metafile: Metafile | undefined): Built {
  const files = codeFiles(dir);
  return {
    entry,
    format,
    codeBytes: files.reduce((sum, file) => sum + statSync(file).size, 0),
    staticBytes: metafile ? staticClosure(metafile, entry) : statSync(entry).size,
    files: files.length,
  };
}

export function buildDeployed(name: FunctionName, outdir: string): Built {
  const result = bundleFunction(name, outdir);
  return describe(outdir, path.join(outdir, "index.mjs"), "esm", result.metafile);
}

export function buildCdkDefault(name: FunctionName, outdir: string): Built {
  const result = buildSync(cdkDefaultOptions(FUNCTION_ENTRIES[name], outdir));
  return describe(outdir, path.join(outdir, "index.js"), "cjs", result.metafile);
}

/** A bench handler, bundled exactly as the deployed functions are. */
export function buildWithDeployedOptions(entry: string, outdir: string): Built {
  const result = buildSync(bundleOptions(entry, outdir));
  return describe(outdir, path.join(outdir, "index.mjs"), "esm", result.metafile);
}

/** A child script: one ESM file, not minified, the SDK bundled like the functions'. */
export function buildChild(entry: string, outfile: string): string {
  const options = bundleOptions(entry, path.dirname(outfile));
  buildSync({
    ...options,
    entryPoints: [path.resolve(PROJECT_ROOT, entry)],
    outdir: undefined,
    outfile,
    outExtension: undefined,
    splitting: false,
    chunkNames: undefined,
    minify: false,
    sourcemap: false,
    metafile: false,
  });
  return outfile;
}

/**
 * A function as it was at an earlier commit, bundled with today's options: that commit's `functions/` and
 * `lib/` are extracted (`git archive`) beside today's node_modules. For a baseline measured in the same run
 * as today's code. Undefined when the commit is not in this clone's history (a shallow clone, a tarball).
 */
export function buildAtCommit(commit: string, name: FunctionName, outdir: string): Built | undefined {
  const source = path.join(outdir, "source");
  rmSync(source, { recursive: true, force: true });
  mkdirSync(source, { recursive: true });
  const archive = spawnSync("git", ["archive", "--format=tar", commit, "functions", "lib"], {
    cwd: PROJECT_ROOT,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (archive.status !== 0) return undefined;
  const untar = spawnSync("tar", ["-x", "-C", source], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`could not extract ${commit}: ${untar.stderr.toString()}`);
  symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(source, "node_modules"));
  const code = path.join(outdir, "code");
  const options = bundleOptions(FUNCTION_ENTRIES[name], code);
  const result = buildSync({
    ...options,
    entryPoints: { index: path.join(source, FUNCTION_ENTRIES[name]) },
    absWorkingDir: source,
  });
  return describe(code, path.join(code, "index.mjs"), "esm", result.metafile);
}
