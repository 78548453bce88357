import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-jest";
import { setWriter, type Writer } from "../../support/telemetry";

type HandlerModule = typeof import("../../../functions/reconciler/handler");

const secretsMock = mockClient(SecretsManagerClient);
const originalEnv = process.env;
const ENV = {
  AWS_REGION: "us-east-1",
  TABLE_NAME: "transcripts",
  BUCKET_NAME: "transcripts-bucket",
  STACK_NAME: "test-stack",
  QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries",
  ASSEMBLYAI_API_KEY_SECRET_ARN:
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:assemblyai-api-key-AbCdEf",
  WEBHOOK_URL: "https://abc123.execute-api.us-east-1.amazonaws.com/webhook",
};
let previousWriter: Writer;
let lines: string[];

beforeEach(() => {
  secretsMock.reset();
  lines = [];
  previousWriter = setWriter((line) => lines.push(line));
});

afterEach(() => {
  setWriter(previousWriter);
  process.env = originalEnv;
});

describe("the Lambda entry point", () => {
  it("reads its configuration at cold start and runs on a scheduled event", async () => {
    process.env = { ...originalEnv, ...ENV };
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: "PLACEHOLDER: set it" });
    // A plain require, in this file's module registry, so the SDK classes are the ones mocked above.
    const entry = require("../../../functions/reconciler/handler") as HandlerModule;

    const report = await entry.handler({ "detail-type": "Scheduled Event", source: "aws.events" });

    expect(report).toBeUndefined();
    expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, {
      SecretId: ENV.ASSEMBLYAI_API_KEY_SECRET_ARN,
      VersionStage: "AWSCURRENT",
    });
    expect(lines).toHaveLength(1);
  });

  it("fails the cold start with the name of a missing variable", () => {
    process.env = { ...originalEnv, ...ENV, WEBHOOK_URL: "" };

    expect(() =>
      jest.isolateModules(() => {
        require("../../../functions/reconciler/handler");
      }),
    ).toThrow("WEBHOOK_URL");
  });
});
