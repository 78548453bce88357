/** Builds the stack for infrastructure tests, from the same config resolution `bin/app.ts` uses. */
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { resolveConfig, type WebhookStackConfig } from "../../lib/config";
import { WebhookStack } from "../../lib/webhook-stack";

export type RawConfig = Partial<Record<keyof WebhookStackConfig, unknown>>;

export function buildStack(raw: RawConfig = {}, outdir?: string): { app: App; stack: WebhookStack } {
  const app = new App(outdir ? { outdir } : {});
  const stack = new WebhookStack(app, "Webhooks", { config: resolveConfig(raw) });
  return { app, stack };
}

const templates = new Map<string, Template>();

/** The synthesized template for a configuration, built once per test file. */
export function templateFor(raw: RawConfig = {}): Template {
  const key = JSON.stringify(raw);
  let template = templates.get(key);
  if (!template) {
    template = Template.fromStack(buildStack(raw).stack);
    templates.set(key, template);
  }
  return template;
}

/** One app holding a stack per configuration (named by its key), so that one synthesis covers them all. */
export function buildApp(stacks: Record<string, RawConfig>, outdir: string): App {
  const app = new App({ outdir });
  for (const [id, raw] of Object.entries(stacks)) {
    new WebhookStack(app, id, { config: resolveConfig(raw) });
  }
  return app;
}
