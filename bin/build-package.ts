/**
 * `npm run build`, which `npm pack` runs first: the package, in dist/. It compiles the entry point
 * (lib/index.ts) and what it imports to JavaScript with type declarations (tsconfig.build.json), then bundles
 * every function of `FUNCTION_ENTRIES` with `bundleForDeployment`, as synth does from the repository, into
 * `dist/assets/<function>/`: the code the packaged construct deploys (lib/function-code.ts), since its
 * consumers have neither the functions' sources nor esbuild. The source maps stay out, as they stay out of
 * a deployed asset: the package would carry twice the bytes for nothing that runs.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
  bundleForDeployment,
  FUNCTION_ENTRIES,
  type FunctionName,
  PACKAGE_DIR,
  PROJECT_ROOT,
  prebuiltBundleDir,
} from "../lib/bundling";

const dist = path.join(PROJECT_ROOT, PACKAGE_DIR);

// tsc never deletes what it no longer emits: start empty, so that a removed module leaves the package.
rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
  cwd: PROJECT_ROOT,
  stdio: "inherit",
});

const maps = mkdtempSync(path.join(tmpdir(), "build-package-maps-"));
try {
  for (const name of Object.keys(FUNCTION_ENTRIES) as FunctionName[]) {
    bundleForDeployment(name, prebuiltBundleDir(dist, name), path.join(maps, name));
  }
} finally {
  rmSync(maps, { recursive: true, force: true });
}
// On stderr: `npm pack --json` runs this first (prepack), and its stdout is the tarball's JSON.
console.error(
  `Built ${path.relative(PROJECT_ROOT, dist)}/: ${Object.keys(FUNCTION_ENTRIES).join(", ")} prebuilt`,
);
