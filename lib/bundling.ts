/**
 * How every Lambda function is built, in one place: the stack, the local stack and the benchmark all call
 * `bundleFunction`, so what runs locally and what is measured is byte for byte what is deployed.
 *
 * - ESM, minified, tree-shaken with `mainFields: module,main` (the AWS SDK's ES builds shake far better).
 * - The AWS SDK is bundled, not taken from the runtime: we ship the version we test, and a bundled, shaken
 *   client loads faster than the runtime's full copy.
 * - Code splitting: what an entry imports dynamically lands in its own chunk, loaded only when needed.
 * - Source maps are written (`index.mjs.map`, no sources inlined) but never loaded at start-up, and the
 *   deployed asset leaves them out (`bundleForDeployment`): they are larger than the code (receiver: 375 KB
 *   of code, 577 KB of maps; its zip is 128 KB without them, 291 KB with), and a bigger zip is a slower
 *   cold start that buys nothing, since nothing reads them on Lambda. `cdk synth` keeps them beside the
 *   assets, in `cdk.out/sourcemaps/<function>/`, to decode a stack trace from that build offline.
 */
import { mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import * as path from "node:path";
import type { BuildOptions, BuildResult } from "esbuild";

export const PROJECT_ROOT = path.resolve(__dirname, "..");

/** The deployed functions and their entry points, relative to the project root. */
export const FUNCTION_ENTRIES = {
  receiver: "functions/receiver/handler.ts",
  worker: "functions/worker/handler.ts",
  reconciler: "functions/reconciler/handler.ts",
} as const;

export type FunctionName = keyof typeof FUNCTION_ENTRIES;

/** Lambda loads `index.mjs` and calls its `handler` export. */
export const HANDLER = "index.handler";

/**
 * esbuild's `__require` shim throws on `require()` of Node built-ins inside an ESM bundle; a few CommonJS
 * dependencies of the SDK still do that, so give the bundle a real `require`.
 */
const REQUIRE_SHIM =
  'import{createRequire as __createRequire}from"node:module";const require=__createRequire(import.meta.url);';

export function bundleOptions(entry: string, outdir: string): BuildOptions {
  return {
    entryPoints: { index: path.resolve(PROJECT_ROOT, entry) },
    outdir,
    bundle: true,
    platform: "node",
    // The local stack runs these same bundles on the developer's Node.js (20 or later); Lambda runs 24.
    target: "node20",
    format: "esm",
    outExtension: { ".js": ".mjs" },
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    minify: true,
    treeShaking: true,
    mainFields: ["module", "main"],
    external: [],
    sourcemap: "external",
    sourcesContent: false,
    legalComments: "none",
    banner: { js: REQUIRE_SHIM },
    metafile: true,
    logLevel: "warning",
    absWorkingDir: PROJECT_ROOT,
  };
}

/** Bundles one function into `outdir` (created if needed); returns esbuild's result with its metafile. */
export function bundleFunction(name: FunctionName, outdir: string): BuildResult {
  // Loaded on first use: the packaged construct loads this module for its names and ships its functions
  // prebuilt (lib/function-code.ts), so the package's consumers need no esbuild.
  const { buildSync } = require("esbuild") as typeof import("esbuild");
  return buildSync(bundleOptions(FUNCTION_ENTRIES[name], outdir));
}

/**
 * Bundles one function for its deployed asset: the code in `outdir`, its source maps moved to `mapsDir`
 * (same relative paths), so the zip carries only what Lambda runs.
 */
export function bundleForDeployment(name: FunctionName, outdir: string, mapsDir: string): BuildResult {
  const result = bundleFunction(name, outdir);
  rmSync(mapsDir, { recursive: true, force: true });
  for (const file of readdirSync(outdir, { recursive: true, encoding: "utf8" })) {
    if (!file.endsWith(".map")) continue;
    const target = path.join(mapsDir, file);
    mkdirSync(path.dirname(target), { recursive: true });
    renameSync(path.join(outdir, file), target);
  }
  return result;
}
