/** The Lambda `context` the local adapters hand to handlers, shaped as on Lambda. */
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

export function lambdaContext(
  functionName: string,
  memoryMb: number,
  timeoutMs: number,
  requestId: string = randomUUID(),
): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
