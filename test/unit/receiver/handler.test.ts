import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-jest";
import { lambdaContext } from "../../../local/lambda-context";
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
  it("reads its configuration at cold start, queues a delivery and logs it with the invocation's context", async () => {
    // Lambda sets the initialization type; Powertools reports a cold start only for on-demand.
    process.env = { ...originalEnv, ...TEST_ENV, AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand" };
    sqsMock.on(SendMessageCommand).resolves({ MessageId: "m-1" });
    storeSecret(secretsMock, SECRET);
    const logs = captureLogs();
    // A plain require, in this file's module registry, so the SDK classes are the ones mocked above.
    const entry = require("../../../functions/receiver/handler") as HandlerModule;

    const first = await entry.handler(
      fixture("transcript-completed"),
      lambdaContext("receiver", 256, 10_000, "r-1"),
    );
    await entry.handler(fixture("transcript-completed"), lambdaContext("receiver", 256, 10_000, "r-2"));
    logs.restore();

    expect(first.statusCode).toBe(200);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: TEST_ENV.QUEUE_URL });
    expect(logs.records()).toEqual([
      expect.objectContaining({
        level: "INFO",
        message: "delivery accepted",
        service: "receiver",
        function_request_id: "r-1",
        cold_start: true,
      }),
      expect.objectContaining({
        message: "delivery accepted",
        function_request_id: "r-2",
        cold_start: false,
      }),
    ]);
    expect(logs.metrics()).toHaveLength(4);
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
