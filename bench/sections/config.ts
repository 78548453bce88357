/** The deployed configuration (cdk.json context with defaults), read the way local/start.ts reads it. */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../lib/bundling";
import { CONTEXT_KEYS, resolveConfig, type WebhookStackConfig } from "../../lib/config";

export function stackConfig(): WebhookStackConfig {
  const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "cdk.json"), "utf8")) as {
    context?: Record<string, unknown>;
  };
  const context = cdkJson.context ?? {};
  return resolveConfig(
    Object.fromEntries(
      CONTEXT_KEYS.filter((key) => context[key] !== undefined && context[key] !== "").map((key) => [
        key,
        context[key],
      ]),
    ),
  );
}
