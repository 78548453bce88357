/**
 * How every Lambda function is built, in one place: the stack, the local stack and the benchmark all call
 * `bundleFunction`, so what runs locally and what is measured is byte for byte what is deployed.
 *
 * - ESM, minified, tree-shaken with `mainFields: module,main` (the AWS SDK's ES builds shake far better).
 * - The AWS SDK is bundled, not taken from the runtime: we ship the version we test, and a bundled, shaken
 *   client loads faster than the runtime's full copy.
 * - Code splitting: what an entry imports dynamically lands in its own chunk, loaded only when needed.
 * - Source maps are written next to the code (`index.mjs.map`, no sources inlined) and never loaded at
 *   start-up: decode a stack trace offline with the map from the asset, or set NODE_OPTIONS=--enable-source-maps
 *   on a function when debugging, accepting its cold-start cost.
 */
import * as path from "node:path";
import { type BuildOptions, type BuildResult, buildSync } from "esbuild";

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
  return buildSync(bundleOptions(FUNCTION_ENTRIES[name], outdir));
}
