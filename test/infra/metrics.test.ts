/**
 * Two stacks in one account and region (staging and prod) never share a metric: every metric our functions
 * emit carries the stack's name, and every alarm and graph of a stack selects its own. That the selected
 * metrics are really emitted is checked against the functions' own log lines on the local stack
 * (test/integration/contracts.test.ts).
 */
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { ENV } from "../../functions/shared/contract/environment";
import { emit, METRICS_NAMESPACE, STACK_DIMENSION, withTelemetry } from "../../functions/shared/telemetry";
import { resolveConfig } from "../../lib/config";
import { WebhookStack } from "../../lib/webhook-stack";
import { TemplateIam, type TemplateJson } from "../support/iam";
import { emittedMetrics, key, type Selected, selectedMetrics } from "../support/metrics";
import { setWriter } from "../support/telemetry";

const names = ["staging", "prod"] as const;
const app = new App();
// Both stacks in one app (one account and region), defined before either is synthesized.
const stacks = names.map((name) => new WebhookStack(app, name, { config: resolveConfig({}) }));
const templates = Object.fromEntries(
  stacks.map((stack) => [stack.stackName, Template.fromStack(stack).toJSON() as TemplateJson]),
) as Record<(typeof names)[number], TemplateJson>;

const ours = (selected: Selected) =>
  selected.metric?.namespace === METRICS_NAMESPACE || selected.search?.namespace === METRICS_NAMESPACE;
const selectedBy = (name: (typeof names)[number]) => {
  const template = templates[name];
  return selectedMetrics(template, new TemplateIam(template)).filter(ours);
};

describe("metrics of two stacks", () => {
  it.each(names)("%s: every alarm and graph on our metrics selects the stack's own", (name) => {
    const selected = selectedBy(name);

    expect(selected.length).toBeGreaterThan(10);
    for (const { source, metric, search } of selected) {
      if (metric)
        expect({ source, stack: metric.dimensions[STACK_DIMENSION] }).toEqual({ source, stack: name });
      if (search) {
        expect({ source, schema: search.schema.includes(STACK_DIMENSION) }).toEqual({ source, schema: true });
        expect({ source, stack: search.filters[STACK_DIMENSION] }).toEqual({ source, stack: name });
      }
    }
  });

  it("select no metric in common", () => {
    const keys = (name: (typeof names)[number]) =>
      new Set(selectedBy(name).flatMap((s) => (s.metric ? [key(s.metric)] : [])));
    const staging = keys("staging");

    expect([...keys("prod")].filter((k) => staging.has(k))).toEqual([]);
  });

  it.each(names)("%s: every function is told its stack's name, which its metrics carry", (name) => {
    const functions = Object.values(templates[name].Resources).filter(
      (r) => r.Type === "AWS::Lambda::Function",
    );

    expect(functions).toHaveLength(4);
    for (const fn of functions) {
      expect(
        (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.[
          ENV.stackName
        ],
      ).toBe(name);
    }
  });

  it("the emitter puts the stack in every dimension set, so no metric of ours lacks it", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const previous = setWriter((line) => lines.push(JSON.parse(line)));
    const stack = process.env[ENV.stackName];
    process.env[ENV.stackName] = "prod";
    try {
      // Built as a function's entry point builds it, at its cold start, when STACK_NAME is read.
      const handler = withTelemetry("metrics-test", async () => {
        emit({
          message: "m",
          metrics: { Deliveries: { value: 1, unit: "Count" } },
          dimensions: { Outcome: "rejected", Reason: "unauthorized" },
          dimensionSets: [[], ["Outcome"], ["Outcome", "Reason"]],
        });
        emit({ message: "n", metrics: { ReconcilerApiCalls: { value: 3, unit: "Count" } } });
      });
      await handler(undefined);
    } finally {
      setWriter(previous);
      process.env[ENV.stackName] = stack;
    }

    const emitted = emittedMetrics(lines);
    expect(emitted.map(({ name, dimensions }) => ({ name, dimensions }))).toEqual([
      { name: "Deliveries", dimensions: { [STACK_DIMENSION]: "prod" } },
      { name: "Deliveries", dimensions: { [STACK_DIMENSION]: "prod", Outcome: "rejected" } },
      {
        name: "Deliveries",
        dimensions: { [STACK_DIMENSION]: "prod", Outcome: "rejected", Reason: "unauthorized" },
      },
      { name: "ReconcilerApiCalls", dimensions: { [STACK_DIMENSION]: "prod" } },
    ]);
  });
});
