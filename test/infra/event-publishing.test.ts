/**
 * The events path as synthesized: the record table's stream, the publisher's event source as EVENT_STREAM
 * says (the local stream poller reads the same constant), what the publisher may do, where it publishes with
 * an existing bus, and the alarms that watch it.
 */
import { Match } from "aws-cdk-lib/assertions";
import { ENV } from "../../functions/shared/contract/environment";
import { EVENT_STREAM, PUBLISHER_TIMEOUT_SECONDS } from "../../functions/shared/contract/resources";
import { EVENTS_BEHIND_ALARM_MINUTES } from "../../lib/monitoring";
import { templateFor } from "./synth";

type Resource = { Type: string; Properties: Record<string, unknown> };

function only(resources: Record<string, unknown>, what: string): [string, Resource] {
  const entries = Object.entries(resources) as Array<[string, Resource]>;
  if (entries.length !== 1) throw new Error(`expected one ${what}, found ${entries.length}`);
  return entries[0] as [string, Resource];
}

describe("the events path", () => {
  const template = templateFor();
  const [tableId] = only(
    template.findResources("AWS::DynamoDB::Table", {
      Properties: { KeySchema: Match.arrayWith([Match.objectLike({ AttributeName: "order_id" })]) },
    }),
    "record table",
  );
  const [publisherId, publisher] = only(
    template.findResources("AWS::Lambda::Function", {
      Properties: { Description: Match.stringLikeRegexp("EventBridge event") },
    }),
    "publisher",
  );

  it("streams both images of every write of the record table, and of no other table", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      StreamSpecification: { StreamViewType: EVENT_STREAM.viewType },
    });
    expect(
      Object.keys(
        template.findResources("AWS::DynamoDB::Table", {
          Properties: { StreamSpecification: Match.anyValue() },
        }),
      ),
    ).toEqual([tableId]);
  });

  it("feeds the publisher from the stream as EVENT_STREAM says, failed batches' pointers to its dead-letter queue", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: publisherId },
      EventSourceArn: { "Fn::GetAtt": [tableId, "StreamArn"] },
      StartingPosition: EVENT_STREAM.startingPosition,
      BatchSize: EVENT_STREAM.batchSize,
      MaximumRetryAttempts: EVENT_STREAM.retryAttempts,
      BisectBatchOnFunctionError: EVENT_STREAM.bisectBatchOnError,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(EVENT_STREAM.filterPattern) }] },
      DestinationConfig: {
        OnFailure: { Destination: Match.objectLike({ "Fn::GetAtt": Match.arrayWith(["Arn"]) }) },
      },
    });
    expect(publisher.Properties.Timeout).toBe(PUBLISHER_TIMEOUT_SECONDS);
  });

  it("keeps refused events 14 days in an encrypted, TLS-only queue that the publisher is told of", () => {
    const queues = template.findResources("AWS::SQS::Queue");
    const failedEvents = Object.entries(queues).find(([id]) => /^EventsFailedEvents/.test(id));
    expect(failedEvents?.[1]).toMatchObject({
      Properties: { MessageRetentionPeriod: 14 * 24 * 3600, SqsManagedSseEnabled: true },
    });
    const variables = (publisher.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables[ENV.eventsDeadLetterQueueUrl]).toEqual({ Ref: failedEvents?.[0] });
    expect(variables[ENV.eventSource]).toBe("assemblyai.webhooks");
  });

  it("lets the publisher put events on its bus only, and only with the stack's source", () => {
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: "events:PutEvents",
            Effect: "Allow",
            Resource: { "Fn::GetAtt": [Match.stringLikeRegexp("^EventsBus"), "Arn"] },
            Condition: {
              "ForAllValues:StringEquals": { "events:source": ["assemblyai.webhooks"] },
              Null: { "events:source": "false" },
            },
          },
        ]),
      },
    });
  });

  it.each([
    ["a name", "team-bus", "team-bus", ":event-bus/team-bus"],
    [
      "an ARN of another account's bus",
      "arn:aws:events:us-east-1:210987654321:event-bus/shared",
      "arn:aws:events:us-east-1:210987654321:event-bus/shared",
      "arn:aws:events:us-east-1:210987654321:event-bus/shared",
    ],
  ])(
    "with eventBusName given as %s, creates no bus and publishes to that one",
    (_what, given, variable, arn) => {
      const imported = templateFor({ eventBusName: given, eventSource: "acme.transcripts" });
      expect(Object.keys(imported.findResources("AWS::Events::EventBus"))).toEqual([]);
      const [, fn] = only(
        imported.findResources("AWS::Lambda::Function", {
          Properties: { Description: Match.stringLikeRegexp("EventBridge event") },
        }),
        "publisher",
      );
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables[ENV.eventBusName]).toBe(variable);
      expect(variables[ENV.eventSource]).toBe("acme.transcripts");
      const policies = JSON.stringify(imported.findResources("AWS::IAM::Policy"));
      expect(policies).toContain(arn);
      expect(policies).toContain('"events:source":["acme.transcripts"]');
    },
  );

  it("alarms on the events dead-letter queue, on publish failures and on a publisher behind its stream", () => {
    const alarm = (name: string): { json: string; threshold: unknown } => {
      const [, found] = only(
        template.findResources("AWS::CloudWatch::Alarm", { Properties: { AlarmName: `Webhooks-${name}` } }),
        name,
      );
      return { json: JSON.stringify(found.Properties), threshold: found.Properties.Threshold };
    };
    const failedEvents = Object.keys(template.findResources("AWS::SQS::Queue")).find((id) =>
      /^EventsFailedEvents/.test(id),
    );

    const deadLetters = alarm("events-dead-letters");
    expect(deadLetters.threshold).toBe(0);
    expect(deadLetters.json).toContain('"MetricName":"ApproximateNumberOfMessagesVisible"');
    expect(deadLetters.json).toContain(`"GetAtt":["${failedEvents}","QueueName"]`.slice(1));

    const publishFailed = alarm("events-publish-failed");
    expect(publishFailed.threshold).toBe(0);
    expect(publishFailed.json).toContain("FILL(refused, 0) + FILL(errors, 0)");
    expect(publishFailed.json).toContain('"MetricName":"EventsDeadLettered"');
    expect(publishFailed.json).toContain('"MetricName":"Errors"');

    const behind = alarm("events-behind");
    expect(behind.threshold).toBe(EVENTS_BEHIND_ALARM_MINUTES * 60_000);
    expect(behind.json).toContain('"MetricName":"IteratorAge"');
    expect(behind.json).toContain('"Stat":"Maximum"');
    expect(behind.json).toContain(`{"Ref":"${publisherId}"}`);
  });
});
