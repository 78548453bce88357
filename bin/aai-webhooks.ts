#!/usr/bin/env node
/** `aai-webhooks`: the operator's command line for the stack (see `--help`, and README, Operating). */
import { main, processIo } from "../cli/program";

// The AWS SDK warns on every run under Node 20 about its releases of 2027; this project supports Node 20
// (package.json engines), so the notice is noise here. An explicit setting of the variable wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

main(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Only a bug gets here: commands turn every expected failure into a line and an exit code.
    console.error(error);
    process.exitCode = 1;
  },
);
