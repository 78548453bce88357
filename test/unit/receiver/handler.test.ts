import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-jest";
import { captureLogs, fixture, SECRET, storeSecret, TEST_ENV } from "./support";

type HandlerModule = typeof import("../../../functions/receiver/handler");

const sqsMock = mockClient(SQSClient);
const secretsMock = mockClient(SecretsManagerClient);
const originalEnv = process.env;

beforeEach(() => {
  sqsMock.reset();
  secretsMock.reset();
  process.env = { ...originalEnv };
});

afterAll(() => {
  process.env = originalEnv;
});

describe("the Lambda entry point", () => {
  it("reads its configuration at cold start and queues a delivery", async () => {
    process.env = { ...originalEnv, ...TEST_ENV };
    sqsMock.on(SendMessageCommand).resolves({ MessageId: "m-1" });
    storeSecret(secretsMock, SECRET);
    const logs = captureLogs();
    // A plain require, in this file's module registry, so the SDK classes are the ones mocked above.
    const entry = require("../../../functions/receiver/handler") as HandlerModule;

    const response = await entry.handler(fixture("transcript-completed"));
    logs.restore();

    expect(response.statusCode).toBe(200);
    expect(logs.lines).toHaveLength(1);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: TEST_ENV.QUEUE_URL });
  });

  it("fails the cold start with the name of a missing variable", () => {
    process.env = { ...originalEnv, ...TEST_ENV, QUEUE_URL: "" };

    expect(() =>
      jest.isolateModules(() => {
        require("../../../functions/receiver/handler");
      }),
    ).toThrow("QUEUE_URL");
  });
});
