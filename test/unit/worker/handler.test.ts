import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-jest";
import { lambdaContext } from "../../../local/lambda-context";
import { setWriter, type Writer } from "../../support/telemetry";
import { sqsEvent, unknownMessage } from "./support";

type HandlerModule = typeof import("../../../functions/worker/handler");

const s3 = mockClient(S3Client);
const dynamodb = mockClient(DynamoDBClient);
const ENV = {
  TABLE_NAME: "transcripts",
  BUCKET_NAME: "transcripts-bucket",
  STACK_NAME: "test-stack",
  QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/assemblyai-transcripts",
  ASSEMBLYAI_API_KEY_SECRET_ARN:
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:assemblyai-api-key-AbCdEf",
};

/** Loads the handler module with the given environment, as a cold start does; `isolated` loads it afresh. */
function coldStart(env: Record<string, string | undefined>, isolated = false): HandlerModule {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    if (!isolated) return require("../../../functions/worker/handler") as HandlerModule;
    let module: HandlerModule | undefined;
    jest.isolateModules(() => {
      module = require("../../../functions/worker/handler") as HandlerModule;
    });
    return module as HandlerModule;
  } finally {
    for (const name of Object.keys(env)) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  }
}

let previousWriter: Writer;

beforeEach(() => {
  s3.reset();
  s3.on(PutObjectCommand).resolves({});
  // The unknown delivery's order is looked up first (an erased order's deliveries are dropped).
  dynamodb.reset();
  dynamodb.on(GetItemCommand).resolves({});
  previousWriter = setWriter(() => undefined);
});

afterEach(() => {
  setWriter(previousWriter);
});

describe("handler", () => {
  it("answers a partial batch response for an SQS event", async () => {
    process.env.AWS_REGION ??= "us-east-1";
    const { handler } = coldStart(ENV);

    const result = await handler(sqsEvent({ body: unknownMessage() }), lambdaContext("worker", 512, 60_000));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: "transcripts-bucket" });
  });

  it("fails at cold start, naming the variable, when configuration is missing", () => {
    expect(() => coldStart({ ...ENV, TABLE_NAME: "" }, true)).toThrow(
      "environment variable TABLE_NAME is required",
    );
  });
});
