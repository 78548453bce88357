/**
 * Each function's environment on the local stack against the synthesized one. Both are built by the
 * definitions in functions/shared/contract/environment.ts; this proves that the local stack gives each
 * function exactly the variables the template gives it, the local resource wherever the template references
 * one, and the deployed value of every setting but for the local stack's few deliberate differences below.
 */
import { App, type CfnElement, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { ASSEMBLYAI_BASE_URLS } from "../../functions/shared/assemblyai";
import {
  type AssemblyAiRegionRef,
  ENV,
  serializeAssemblyAiRegions,
} from "../../functions/shared/contract/environment";
import { ConfigurationError } from "../../functions/shared/env";
import { resolveConfig, type WebhookStackConfig } from "../../lib/config";
import { WebhookStack } from "../../lib/webhook-stack";
import { LOCAL_NAMES, LOCAL_STACK_NAME } from "../../local/resources";
import { type LocalRefs, localEnvironments, localSettings, stackConfig } from "../../local/start";

type FunctionName = "receiver" | "worker" | "reconciler" | "publisher";
type Variables = Record<string, unknown>;

const SIMULATOR_URL = "http://127.0.0.1:4010";
const LOCAL_WEBHOOK_URL = "http://127.0.0.1:3000/webhook";
/** The local stand-ins for a configuration's regions: the simulator (EU under /eu), a key secret each. */
function localRefs(config: WebhookStackConfig): LocalRefs {
  return {
    queueUrl: "http://127.0.0.1:4567/123456789012/assemblyai-webhooks-deliveries",
    tableName: LOCAL_NAMES.table,
    usageTableName: LOCAL_NAMES.usageTable,
    bucketName: LOCAL_NAMES.bucket,
    webhookSecretArn:
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:assemblyai-webhooks/webhook-secret-AbCdEf",
    eventBusName: LOCAL_NAMES.eventBus,
    eventsDlqUrl: "http://127.0.0.1:4567/123456789012/assemblyai-webhooks-events-dlq",
    assemblyAiRegions: config.assemblyAiRegion.map((region, index) => ({
      region,
      baseUrl: region === "eu" ? `${SIMULATOR_URL}/eu` : SIMULATOR_URL,
      apiKeySecretArn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:assemblyai-webhooks/assemblyai-api-key${index === 0 ? "" : `-${region}`}-GhIjKl`,
    })) as [AssemblyAiRegionRef, ...AssemblyAiRegionRef[]],
  };
}

/** Where the local stack deliberately differs from the deployed value of a setting, and how. */
const LOCAL_DIFFERENCES: Record<FunctionName, Record<string, (deployed: string) => string>> = {
  receiver: {
    // Local deliveries come from 127.0.0.1: every source is allowed.
    [ENV.allowedSourceIps]: () => "",
    // The simulator serves redacted audio too.
    [ENV.redactedAudioHosts]: (deployed) => `${deployed},${SIMULATOR_URL}`,
  },
  worker: {
    [ENV.redactedAudioHosts]: (deployed) => `${deployed},${SIMULATOR_URL}`,
    // A retry after a simulated fault comes after 2 s rather than 30.
    [ENV.retryBaseSeconds]: () => "2",
  },
  reconciler: {},
  publisher: {},
};

const CONFIGS: Record<string, WebhookStackConfig> = {
  "the settings in cdk.json": stackConfig(),
  "every setting a function reads changed": resolveConfig({
    authHeaderName: "X-Delivery-Token",
    assemblyAiRegion: "eu",
    allowedSourceIps: "assemblyai-eu,10.0.0.0/8",
    redactedAudioHosts: "audio.example.com,*.cdn.example.com:8443",
    inlineTextMaxBytes: 5000,
    reconcileMaxApiCalls: 50,
    reconcileLookbackMinutes: 120,
    deleteFromAssemblyAi: true,
    retentionDays: 30,
    eventSource: "acme.transcripts",
  }),
  "an existing bus, by ARN": resolveConfig({
    eventBusName: "arn:aws:events:us-east-1:210987654321:event-bus/shared",
  }),
  "both AssemblyAI regions": resolveConfig({ assemblyAiRegion: "both", allowedSourceIps: "assemblyai" }),
};

describe.each(Object.entries(CONFIGS))("with %s", (_name, config) => {
  const stack = new WebhookStack(new App(), "Webhooks", { config });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<
    string,
    { Properties: { Environment: { Variables: Variables } } }
  >;
  const deployedVariables = (fn: lambda.Function | undefined): Variables => {
    if (!fn) throw new Error("the stack has no such function");
    const id = Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnElement);
    return resources[id]?.Properties.Environment.Variables ?? {};
  };
  const deployed: Record<FunctionName, Variables> = {
    receiver: deployedVariables(stack.receiver.receiverApi.receiver.function),
    worker: deployedVariables(stack.receiver.worker.worker.function),
    reconciler: deployedVariables(stack.receiver.reconciler?.reconciler.function),
    publisher: deployedVariables(stack.receiver.events.publisher.function),
  };
  const LOCAL_REFS = localRefs(config);
  const [firstRegion] = LOCAL_REFS.assemblyAiRegions;
  const environments = localEnvironments(LOCAL_REFS, localSettings(config, {}, SIMULATOR_URL));
  const local: Record<FunctionName, Record<string, string>> = {
    receiver: environments.receiver,
    worker: environments.worker,
    reconciler: environments.reconciler(LOCAL_WEBHOOK_URL),
    publisher: environments.publisher,
  };

  /** Each variable that references something: its value in the template, and the local stand-in. */
  const references: Record<string, { deployed: unknown; local: string }> = {
    [ENV.stackName]: { deployed: stack.stackName, local: LOCAL_STACK_NAME },
    [ENV.queueUrl]: {
      deployed: stack.resolve(stack.receiver.queue.queue.queueUrl),
      local: LOCAL_REFS.queueUrl,
    },
    [ENV.tableName]: {
      deployed: stack.resolve(stack.receiver.store.table.tableName),
      local: LOCAL_REFS.tableName,
    },
    [ENV.bucketName]: {
      deployed: stack.resolve(stack.receiver.store.bucket.bucketName),
      local: LOCAL_REFS.bucketName,
    },
    [ENV.usageTableName]: {
      deployed: stack.resolve(stack.receiver.store.usageTable.tableName),
      local: LOCAL_REFS.usageTableName,
    },
    [ENV.webhookSecretArn]: {
      deployed: stack.resolve(stack.receiver.secrets.webhookSecret.secretArn),
      local: LOCAL_REFS.webhookSecretArn,
    },
    [ENV.apiKeySecretArn]: {
      deployed: stack.resolve(stack.receiver.secrets.apiKeySecret.secretArn),
      local: firstRegion.apiKeySecretArn,
    },
    [ENV.assemblyAiBaseUrl]: {
      deployed: ASSEMBLYAI_BASE_URLS[config.assemblyAiRegion[0]],
      local: firstRegion.baseUrl,
    },
    // Every region's API and key secret, each a reference.
    [ENV.assemblyAiRegions]: {
      deployed: stack.resolve(
        serializeAssemblyAiRegions(
          stack.receiver.secrets.apiKeySecrets.map(({ region, secret }) => ({
            region,
            baseUrl: ASSEMBLYAI_BASE_URLS[region],
            apiKeySecretArn: secret.secretArn,
          })),
        ),
      ),
      local: serializeAssemblyAiRegions(LOCAL_REFS.assemblyAiRegions),
    },
    // The stack's own bus locally; the one named (name or ARN, as given) in the template.
    [ENV.eventBusName]: {
      deployed: config.eventBusName ?? stack.resolve(stack.receiver.eventBus.eventBusName),
      local: LOCAL_REFS.eventBusName,
    },
    [ENV.eventsDeadLetterQueueUrl]: {
      deployed: stack.resolve(stack.receiver.eventsDeadLetterQueue.queueUrl),
      local: LOCAL_REFS.eventsDlqUrl,
    },
    [ENV.webhookUrl]: {
      deployed: stack.resolve(stack.receiver.receiverApi.webhookUrl),
      local: LOCAL_WEBHOOK_URL,
    },
  };

  describe.each(["receiver", "worker", "reconciler", "publisher"] as const)("the %s", (fn) => {
    const names = Object.keys(deployed[fn]);
    const referenceNames = names.filter((name) => name in references);
    const settingNames = names.filter((name) => !(name in references));

    it("gets locally exactly the variables it gets in the template", () => {
      expect(names.length).toBeGreaterThan(0);
      expect(Object.keys(local[fn]).sort()).toEqual([...names].sort());
    });

    it("gets the local resource for every variable that references one in the template", () => {
      expect(referenceNames).toContain(ENV.stackName);
      for (const name of referenceNames) {
        const reference = references[name] as { deployed: unknown; local: string };
        expect({ [name]: deployed[fn][name] }).toEqual({ [name]: reference.deployed });
        expect({ [name]: local[fn][name] }).toEqual({ [name]: reference.local });
      }
    });

    it("gets the deployed value of every setting, except where the local stack is meant to differ", () => {
      expect(settingNames.length).toBeGreaterThan(0);
      for (const name of settingNames) {
        const value = deployed[fn][name];
        expect({ [name]: typeof value }).toEqual({ [name]: "string" });
        const expected = LOCAL_DIFFERENCES[fn][name]?.(value as string) ?? value;
        expect({ [name]: local[fn][name] }).toEqual({ [name]: expected });
      }
    });
  });
});

describe("the local settings", () => {
  const config = stackConfig();

  it("take the secret cache TTL and the first retry delay from the environment", () => {
    const settings = localSettings(
      config,
      { SECRET_CACHE_TTL_SECONDS: "5", RETRY_BASE_SECONDS: "7" },
      undefined,
    );

    expect(settings).toMatchObject({ secretCacheTtlSeconds: 5, retryBaseSeconds: 7 });
  });

  it.each([
    ["SECRET_CACHE_TTL_SECONDS", "0"],
    ["RETRY_BASE_SECONDS", "1.5"],
  ])("refuse %s=%s as the function would, naming the variable", (name, value) => {
    const read = () => localSettings(config, { [name]: value }, undefined);

    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow(name);
  });
});
