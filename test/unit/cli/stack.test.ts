import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { CliError } from "../../../cli/output";
import { type CliIo, main } from "../../../cli/program";
import {
  deployedTarget,
  localStateDir,
  outputsFromStack,
  PROJECT_ROOT,
  resolveTarget,
  type TargetOptions,
  usableApiKey,
} from "../../../cli/stack";
import { Collector } from "./support";

const cloudFormation = mockClient(CloudFormationClient);
const secrets = mockClient(SecretsManagerClient);

const OUTPUTS = {
  WebhookUrl: "https://abc.execute-api.eu-west-1.amazonaws.com/webhook",
  AuthHeaderName: "X-Webhook-Secret",
  WebhookSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-AbCdEf",
  ApiKeySecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-key-AbCdEf",
  TableName: "Transcripts",
  BucketName: "transcripts-bucket",
  QueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/Deliveries",
  QueueName: "Deliveries",
  DeadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/DeadLetters",
  DeadLetterQueueName: "DeadLetters",
};

function stackOutputs(values: Record<string, string>) {
  return Object.entries(values).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));
}

beforeEach(() => {
  cloudFormation.reset();
  secrets.reset();
});

describe("outputsFromStack", () => {
  it("maps the stack's outputs onto the target's fields", () => {
    expect(outputsFromStack("AssemblyAiWebhooks", stackOutputs(OUTPUTS))).toEqual({
      webhookUrl: OUTPUTS.WebhookUrl,
      authHeaderName: "X-Webhook-Secret",
      webhookSecretArn: OUTPUTS.WebhookSecretArn,
      apiKeySecretArn: OUTPUTS.ApiKeySecretArn,
      tableName: "Transcripts",
      bucketName: "transcripts-bucket",
      queueUrl: OUTPUTS.QueueUrl,
      dlqUrl: OUTPUTS.DeadLetterQueueUrl,
    });
  });

  it("takes the receiver's secret cache TTL from WebhookSecretCacheTtlSeconds, absent on older stacks", () => {
    const ttl = outputsFromStack("S", stackOutputs({ ...OUTPUTS, WebhookSecretCacheTtlSeconds: "300" }));

    expect(ttl.webhookSecretCacheTtlSeconds).toBe(300);
    expect(deployedTarget("S", ttl, {}).webhookSecretCacheTtlSeconds).toBe(300);
    expect(outputsFromStack("S", stackOutputs(OUTPUTS))).not.toHaveProperty("webhookSecretCacheTtlSeconds");
    expect(() =>
      outputsFromStack("S", stackOutputs({ ...OUTPUTS, WebhookSecretCacheTtlSeconds: "5m" })),
    ).toThrow(`stack S's output WebhookSecretCacheTtlSeconds is "5m", not a number of seconds`);
  });

  it("takes the usage table, event bus and event source from their outputs, absent on older stacks", () => {
    const outputs = outputsFromStack(
      "S",
      stackOutputs({ ...OUTPUTS, UsageTableName: "Usage", EventBusName: "Bus", EventSource: "acme.hooks" }),
    );
    const target = deployedTarget("S", outputs, {});

    expect(target).toMatchObject({ usageTableName: "Usage", eventBusName: "Bus", eventSource: "acme.hooks" });
    target.close();
    const older = deployedTarget("S", outputsFromStack("S", stackOutputs(OUTPUTS)), {});
    expect(older.usageTableName).toBeUndefined();
    expect(older.eventBusName).toBeUndefined();
    older.close();
  });

  it("names every output a stack lacks", () => {
    const { TableName: _table, DeadLetterQueueUrl: _dlq, ...partial } = OUTPUTS;

    expect(() => outputsFromStack("Other", stackOutputs(partial))).toThrow(
      "stack Other lacks the outputs TableName, DeadLetterQueueUrl",
    );
  });
});

describe("resolveTarget for a deployed stack", () => {
  it("finds the stack by name through DescribeStacks", async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: "AssemblyAiWebhooks" }).resolves({
      Stacks: [
        {
          StackName: "AssemblyAiWebhooks",
          StackStatus: "UPDATE_COMPLETE",
          CreationTime: new Date(),
          Outputs: stackOutputs(OUTPUTS),
        },
      ],
    });

    const target = await resolveTarget(
      { region: "eu-west-1" },
      {},
      new CloudFormationClient({ region: "eu-west-1" }),
    );

    expect(target).toMatchObject({
      mode: "aws",
      description: "stack AssemblyAiWebhooks",
      tableName: "Transcripts",
      dlqUrl: OUTPUTS.DeadLetterQueueUrl,
      apiKeySecretId: OUTPUTS.ApiKeySecretArn,
    });
    target.close();
  });

  it("says plainly when no stack has that name", async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error("Stack with id Nope does not exist"), { name: "ValidationError" }));

    const resolving = resolveTarget(
      { stackName: "Nope" },
      {},
      new CloudFormationClient({ region: "eu-west-1" }),
    );

    await expect(resolving).rejects.toThrow(CliError);
    await expect(resolving).rejects.toThrow(/^no stack named Nope in eu-west-1: deploy it/);
  });

  it("refuses a stack whose last operation failed", async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .resolves({ Stacks: [{ StackName: "S", StackStatus: "CREATE_FAILED", CreationTime: new Date() }] });

    await expect(
      resolveTarget({ stackName: "S" }, {}, new CloudFormationClient({ region: "us-east-1" })),
    ).rejects.toThrow("stack S is in state CREATE_FAILED");
  });
});

describe("the AssemblyAI region of a deployed stack", () => {
  function describeStack(extra: Record<string, string>) {
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: "AssemblyAiWebhooks",
          StackStatus: "UPDATE_COMPLETE",
          CreationTime: new Date(),
          Outputs: stackOutputs({ ...OUTPUTS, ...extra }),
        },
      ],
    });
  }

  async function baseUrls(options: TargetOptions, env: NodeJS.ProcessEnv = {}) {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: "from-secret" });
    const target = await resolveTarget(options, env, new CloudFormationClient({ region: "eu-west-1" }));
    try {
      return { target: target.assemblyAiBaseUrl, access: (await target.assemblyAi()).baseUrl };
    } finally {
      target.close();
    }
  }

  it("reads the optional AssemblyAiRegion output", () => {
    expect(outputsFromStack("S", stackOutputs({ ...OUTPUTS, AssemblyAiRegion: "eu" }))).toMatchObject({
      assemblyAiRegion: "eu",
    });
    expect(outputsFromStack("S", stackOutputs(OUTPUTS))).not.toHaveProperty("assemblyAiRegion");
  });

  it("reads a stack with both regions: the first as the default, the EU key from ApiKeySecretArnEu", async () => {
    const euSecret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-key-eu-GhIjKl";
    describeStack({ AssemblyAiRegion: "us,eu", ApiKeySecretArnEu: euSecret });
    const client = new CloudFormationClient({ region: "eu-west-1" });

    const first = await resolveTarget({}, {}, client);
    const eu = await resolveTarget({ assemblyaiRegion: "eu" }, {}, client);

    expect([first.apiKeySecretId, first.assemblyAiBaseUrl]).toEqual([
      OUTPUTS.ApiKeySecretArn,
      "https://api.assemblyai.com",
    ]);
    expect([eu.apiKeySecretId, eu.assemblyAiBaseUrl]).toEqual([euSecret, "https://api.eu.assemblyai.com"]);
    first.close();
    eu.close();
  });

  it("refuses a stack that lists a region without that region's key secret output", () => {
    expect(() => outputsFromStack("S", stackOutputs({ ...OUTPUTS, AssemblyAiRegion: "us,eu" }))).toThrow(
      "stack S lists the AssemblyAI region eu but lacks the output ApiKeySecretArnEu",
    );
  });

  it("defaults to the stack's AssemblyAiRegion output", async () => {
    describeStack({ AssemblyAiRegion: "eu" });

    await expect(baseUrls({})).resolves.toEqual({
      target: "https://api.eu.assemblyai.com",
      access: "https://api.eu.assemblyai.com",
    });
  });

  it("lets --assemblyai-region, then ASSEMBLYAI_BASE_URL, override the output", async () => {
    describeStack({ AssemblyAiRegion: "eu" });

    await expect(baseUrls({ assemblyaiRegion: "us" })).resolves.toEqual({
      target: "https://api.assemblyai.com",
      access: "https://api.assemblyai.com",
    });
    await expect(
      baseUrls({ assemblyaiRegion: "us" }, { ASSEMBLYAI_BASE_URL: "http://127.0.0.1:4010" }),
    ).resolves.toEqual({ target: "http://127.0.0.1:4010", access: "http://127.0.0.1:4010" });
  });

  it("uses the US API for a stack deployed before the output existed", async () => {
    describeStack({});

    await expect(baseUrls({})).resolves.toEqual({
      target: "https://api.assemblyai.com",
      access: "https://api.assemblyai.com",
    });
  });

  it("refuses a region it does not know, naming the way out", async () => {
    describeStack({ AssemblyAiRegion: "ap" });

    await expect(resolveTarget({}, {}, new CloudFormationClient({ region: "eu-west-1" }))).rejects.toThrow(
      `stack AssemblyAiWebhooks's output AssemblyAiRegion is "ap", which this CLI does not know: pass --assemblyai-region`,
    );
  });

  it("passes --assemblyai-region to stack resolution only when it is given", async () => {
    const seen: TargetOptions[] = [];
    const run = async (args: string[]) => {
      const io: CliIo = {
        stdout: new Collector(),
        stderr: new Collector(),
        stdin: new PassThrough(),
        env: {},
        resolveTarget: async (options) => {
          seen.push(options);
          throw new CliError("stop here");
        },
      };
      return main(args, io);
    };

    await run(["status"]);
    await run(["--assemblyai-region", "eu", "status"]);

    expect(seen[0]).not.toHaveProperty("assemblyaiRegion");
    expect(seen[1]).toMatchObject({ assemblyaiRegion: "eu" });
    await expect(run(["--assemblyai-region", "ap", "status"])).resolves.toBe(2);
  });
});

describe("the deployed target's secrets", () => {
  const outputs = outputsFromStack("S", stackOutputs(OUTPUTS));

  it("reads the webhook secret from Secrets Manager", async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: OUTPUTS.WebhookSecretArn })
      .resolves({ SecretString: "s3cret" });
    const target = deployedTarget("S", outputs, { region: "eu-west-1" });

    await expect(target.webhookSecret()).resolves.toBe("s3cret");
    target.close();
  });

  it("prefers ASSEMBLYAI_API_KEY and otherwise reads the API key secret", async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: OUTPUTS.ApiKeySecretArn })
      .resolves({ SecretString: "from-secret" });
    const withEnv = deployedTarget(
      "S",
      outputs,
      { region: "eu-west-1" },
      { env: { ASSEMBLYAI_API_KEY: "from-env" } },
    );
    const withoutEnv = deployedTarget(
      "S",
      outputs,
      { region: "eu-west-1" },
      { env: {}, assemblyaiRegion: "eu" },
    );

    await expect(withEnv.assemblyAi()).resolves.toEqual({
      apiKey: "from-env",
      baseUrl: "https://api.assemblyai.com",
    });
    await expect(withoutEnv.assemblyAi()).resolves.toEqual({
      apiKey: "from-secret",
      baseUrl: "https://api.eu.assemblyai.com",
    });
    withEnv.close();
    withoutEnv.close();
  });

  it("refuses the placeholder the stack deploys with", async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: "PLACEHOLDER: set the AssemblyAI API key (README, Deploy)" });
    const target = deployedTarget("S", outputs, { region: "eu-west-1" }, { env: {} });

    await expect(target.assemblyAi()).rejects.toThrow("the AssemblyAI API key is not set");
    target.close();
  });
});

describe("usableApiKey", () => {
  it("refuses an empty value", () => {
    expect(() => usableApiKey("  ", "secret x")).toThrow("no AssemblyAI API key in secret x");
  });
});

describe("resolveTarget for the local stack", () => {
  let stateDir: string;

  beforeEach(() => {
    stateDir = mkdtempSync(path.join(tmpdir(), "aai-cli-"));
  });

  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it("resolves LOCAL_STATE_DIR against the project root, as npm start does", () => {
    // The repository's root, where npm start writes .local/ (not the folder above it).
    expect(PROJECT_ROOT).toBe(path.resolve(__dirname, "..", "..", ".."));
    expect(localStateDir({})).toBe(path.join(PROJECT_ROOT, ".local"));
    expect(localStateDir({ LOCAL_STATE_DIR: "tmp/x" })).toBe(path.join(PROJECT_ROOT, "tmp/x"));
    expect(localStateDir({ LOCAL_STATE_DIR: stateDir })).toBe(stateDir);
  });

  it("reads stack.json and serves the contract's values", async () => {
    writeFileSync(
      path.join(stateDir, "stack.json"),
      JSON.stringify({
        webhookUrl: "http://127.0.0.1:3000/webhook",
        authHeaderName: "X-Webhook-Secret",
        authHeaderValue: "local-secret",
        awsEndpoint: "http://127.0.0.1:5000",
        region: "us-east-1",
        tableName: "t",
        bucketName: "b",
        queueUrl: "http://127.0.0.1:5000/123456789012/q",
        dlqUrl: "http://127.0.0.1:5000/123456789012/dlq",
        assemblyAiBaseUrl: "http://127.0.0.1:4000",
        assemblyAiApiKey: "local-key",
        controlUrl: "http://127.0.0.1:6000",
        webhookSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:local-webhook-AbCdEf",
        webhookSecretCacheTtlSeconds: 3,
      }),
    );
    secrets
      .on(GetSecretValueCommand, {
        SecretId: "arn:aws:secretsmanager:us-east-1:123456789012:secret:local-webhook-AbCdEf",
        VersionStage: "AWSCURRENT",
      })
      .resolves({ SecretString: "local-secret" });

    const target = await resolveTarget({ local: true }, { LOCAL_STATE_DIR: stateDir });

    expect(target).toMatchObject({
      mode: "local",
      assemblyAiBaseUrl: "http://127.0.0.1:4000",
      tableName: "t",
      dlqUrl: "http://127.0.0.1:5000/123456789012/dlq",
      webhookSecretCacheTtlSeconds: 3,
      localStateDir: stateDir,
    });
    await expect(target.webhookSecret()).resolves.toBe("local-secret");
    await expect(target.assemblyAi()).resolves.toEqual({
      apiKey: "local-key",
      baseUrl: "http://127.0.0.1:4000",
    });
    target.close();
  });

  it("says how to start the local stack when stack.json is missing", async () => {
    await expect(resolveTarget({ local: true }, { LOCAL_STATE_DIR: stateDir })).rejects.toThrow(
      /^no local stack: .*stack\.json does not exist \(start it with npm start/,
    );
  });
});
