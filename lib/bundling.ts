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
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
// esbuild is the repository's, not the package's: the functions below that use it are `@internal`, so left
// out of the package's declarations (tsconfig.build.json, stripInternal), and load it only when called.
import type { BuildOptions, BuildResult } from "esbuild";

export const PROJECT_ROOT = path.resolve(__dirname, "..");

/** The deployed functions and their entry points, relative to the project root. */
export const FUNCTION_ENTRIES = {
  receiver: "functions/receiver/handler.ts",
  worker: "functions/worker/handler.ts",
  reconciler: "functions/reconciler/handler.ts",
  publisher: "functions/publisher/handler.ts",
} as const;

export type FunctionName = keyof typeof FUNCTION_ENTRIES;

/** Lambda loads `index.mjs` and calls its `handler` export. */
export const HANDLER = "index.handler";

/** The package's folder, which `npm run build` writes, relative to the project root. */
export const PACKAGE_DIR = "dist";

/**
 * A function's prebuilt bundle in the package whose root is `packageRoot`: `dist/` of the project, or, for
 * the packaged construct, the folder its compiled modules sit in (there `PROJECT_ROOT` is that `dist/`).
 */
export function prebuiltBundleDir(packageRoot: string, name: FunctionName): string {
  return path.join(packageRoot, "assets", name);
}

/**
 * esbuild's `__require` shim throws on `require()` of Node built-ins inside an ESM bundle; a few CommonJS
 * dependencies of the SDK still do that, so give the bundle a real `require`.
 */
const REQUIRE_SHIM =
  'import{createRequire as __createRequire}from"node:module";const require=__createRequire(import.meta.url);';

/** @internal esbuild's options for one function. */
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

/** @internal Bundles one function into `outdir` (created if needed): esbuild's result, with its metafile. */
export function bundleFunction(name: FunctionName, outdir: string): BuildResult {
  // The packaged construct loads this module for its names, and deploys prebuilt bundles (function-code.ts).
  const { buildSync } = require("esbuild") as typeof import("esbuild");
  return buildSync(bundleOptions(FUNCTION_ENTRIES[name], outdir));
}

/**
 * @internal Bundles one function for its deployed asset: the code in `outdir`, its source maps in `mapsDir`
 * (same relative paths), so the zip carries only what Lambda runs.
 *
 * The bytes do not depend on where `outdir` is: esbuild builds as if into the function's folder of the
 * package (`dist/assets/<function>/`, where `npm run build` writes it) and the files are then written here.
 * The maps name the sources relative to their output and esbuild's chunk names hash the maps, so building
 * into the real folder would give each cloud assembly location (cdk.out, a test's temporary folder) its own
 * bytes and asset hash, and the package's prebuilt bundles would never be what synth deploys. (The maps'
 * paths, `../../../functions/…`, read the same from `cdk.out/sourcemaps/<function>/`.)
 */
export function bundleForDeployment(name: FunctionName, outdir: string, mapsDir: string): BuildResult {
  const { buildSync } = require("esbuild") as typeof import("esbuild");
  const builtAs = prebuiltBundleDir(path.join(PROJECT_ROOT, PACKAGE_DIR), name);
  const result = buildSync({ ...bundleOptions(FUNCTION_ENTRIES[name], builtAs), write: false });
  rmSync(mapsDir, { recursive: true, force: true });
  for (const file of result.outputFiles) {
    const target = path.join(
      file.path.endsWith(".map") ? mapsDir : outdir,
      path.relative(builtAs, file.path),
    );
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, file.contents);
  }
  return result;
}
