/**
 * Runs a scheduled Lambda handler the way an EventBridge rate rule does: every `everyMs`, one invocation with
 * a "Scheduled Event", never two at once (a run still going when the next is due skips that tick).
 */
import { randomUUID } from "node:crypto";
import type { Context, ScheduledEvent } from "aws-lambda";
import { lambdaContext } from "./lambda-context";

export type ScheduledHandler = (event: ScheduledEvent, context: Context) => Promise<unknown>;

export interface Schedule {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

export function startSchedule(
  handler: ScheduledHandler,
  options: {
    everyMs: number;
    region: string;
    functionName: string;
    timeoutMs: number;
    onError: (e: unknown) => void;
  },
): Schedule {
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running) return;
    const event: ScheduledEvent = {
      version: "0",
      id: randomUUID(),
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: "000000000000",
      time: new Date().toISOString(),
      region: options.region,
      resources: [`arn:aws:events:${options.region}:000000000000:rule/local-${options.functionName}`],
      detail: {},
    };
    running = handler(event, lambdaContext(options.functionName, 512, options.timeoutMs))
      .then(() => undefined, options.onError)
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, options.everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
