/**
 * Where the stack tells the rest of a team's system what it stored: an EventBridge bus (its own, or one
 * given by name or ARN) that gets one event per committed change of a record (functions/shared/contract/events.ts).
 */
import * as events from "aws-cdk-lib/aws-events";
import { Construct } from "constructs";

export interface EventPublishingProps {
  /** Name or ARN of an existing bus. @default - a bus of the stack's own */
  readonly eventBusName?: string | undefined;
}

export class EventPublishing extends Construct {
  readonly eventBus: events.IEventBus;

  constructor(scope: Construct, id: string, props: EventPublishingProps) {
    super(scope, id);
    const given = props.eventBusName;
    this.eventBus =
      given === undefined
        ? new events.EventBus(this, "Bus", {
            description: "Transcript Stored, Transcript Failed and Redacted Audio Stored events",
          })
        : given.startsWith("arn:")
          ? events.EventBus.fromEventBusArn(this, "Bus", given)
          : events.EventBus.fromEventBusName(this, "Bus", given);
  }
}
