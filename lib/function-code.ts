/**
 * Where a function's code comes from, decided here and nowhere else:
 *
 * - Run from the repository (this module is TypeScript, under tsx or ts-jest), each function is bundled from
 *   its source in functions/ at synth, by `bundleForDeployment` with the project's esbuild.
 * - Run from the package (this module compiled into dist/lib/), there are no sources and maybe no esbuild:
 *   `npm run build` ran the same `bundleForDeployment` into `dist/assets/<function>/` (bin/build-package.ts),
 *   and that directory is the asset.
 *
 * Same bundler, options and sources give the same bytes, so the same asset hash and template either way
 * (test/package/package.test.ts compares the hashes).
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { AssetHashType, DockerImage, type ILocalBundling } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { bundleForDeployment, type FunctionName, PROJECT_ROOT, prebuiltBundleDir } from "./bundling";

/** Compiled JavaScript exists only in dist/, built by `npm run build`; the repository runs its TypeScript. */
const RUNS_FROM_PACKAGE = path.extname(__filename) === ".js";

/**
 * Bundles with the project's own esbuild, no Docker. A class with the function's name as a field, because
 * CDK keys its per-process bundling cache on the JSON of the bundling options: a plain `{ tryBundle }` would
 * serialise the same for every function, and the second function would be handed the first one's bundle.
 */
class LocalEsbuild implements ILocalBundling {
  constructor(readonly functionName: FunctionName) {}

  tryBundle(outputDir: string): boolean {
    // outputDir is a staging directory inside the cloud assembly (cdk.out): the maps go beside the assets.
    bundleForDeployment(
      this.functionName,
      outputDir,
      path.join(path.dirname(outputDir), "sourcemaps", this.functionName),
    );
    return true;
  }
}

/** The code of one function of `FUNCTION_ENTRIES`, as an asset: prebuilt in the package, else bundled now. */
export function functionCode(name: FunctionName): lambda.Code {
  if (RUNS_FROM_PACKAGE) {
    // Compiled, this module sits in dist/lib/, so PROJECT_ROOT is the package's dist/.
    const prebuilt = prebuiltBundleDir(PROJECT_ROOT, name);
    if (!existsSync(prebuilt)) {
      throw new Error(
        `The ${name} function's prebuilt bundle is missing from the package (${prebuilt}): ` +
          "it was built without it; `npm run build` bundles every function",
      );
    }
    return lambda.Code.fromAsset(prebuilt);
  }
  return lambda.Code.fromAsset(PROJECT_ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never used: local bundling with the project's esbuild always succeeds or throws.
      image: DockerImage.fromRegistry("public.ecr.aws/sam/build-nodejs24.x"),
      local: new LocalEsbuild(name),
    },
  });
}
