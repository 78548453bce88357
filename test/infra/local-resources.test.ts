/**
 * The local stack's queue and table against the synthesized ones: both are built from
 * functions/shared/contract/resources.ts, and this proves the two builders read it alike.
 */

import { TRANSCRIPT_TABLE, USAGE_TABLE } from "../../functions/shared/contract/resources";
import { createTableInput, deadLetterQueueAttributes, deliveryQueueAttributes } from "../../local/resources";
import { templateFor } from "./synth";

type Properties = Record<string, unknown>;

const resources = templateFor().toJSON().Resources as Record<
  string,
  { Type: string; Properties: Properties }
>;

function propertiesOf(type: string, idPattern: RegExp): Properties {
  const found = Object.entries(resources).filter(([id, r]) => r.Type === type && idPattern.test(id));
  if (found.length !== 1)
    throw new Error(`expected one ${type} matching ${idPattern}, found ${found.length}`);
  return (found[0] as [string, { Properties: Properties }])[1].Properties;
}

const byName = (a: { AttributeName?: string }, b: { AttributeName?: string }) =>
  String(a.AttributeName).localeCompare(String(b.AttributeName));

describe("the local stack's resources, against the template", () => {
  const table = propertiesOf("AWS::DynamoDB::Table", /^StoreTable/);
  const local = createTableInput("local-table", TRANSCRIPT_TABLE);

  it("give the table the same billing mode and key schema", () => {
    expect(local.BillingMode).toBe(table.BillingMode);
    expect(local.KeySchema).toEqual(table.KeySchema);
  });

  it("define the same key attributes with the same types", () => {
    const deployed = [...(table.AttributeDefinitions as { AttributeName: string }[])].sort(byName);

    expect([...(local.AttributeDefinitions ?? [])].sort(byName)).toEqual(deployed);
  });

  it("give the table the same indexes: names, keys and projections", () => {
    expect(local.GlobalSecondaryIndexes).toEqual(table.GlobalSecondaryIndexes);
  });

  it("give the usage table the same billing mode, key schema and key attributes, and no index", () => {
    const usage = propertiesOf("AWS::DynamoDB::Table", /^StoreUsageTable/);
    const localUsage = createTableInput("local-usage", USAGE_TABLE);

    expect(localUsage.BillingMode).toBe(usage.BillingMode);
    expect(localUsage.KeySchema).toEqual(usage.KeySchema);
    expect([...(localUsage.AttributeDefinitions ?? [])].sort(byName)).toEqual(
      [...(usage.AttributeDefinitions as { AttributeName: string }[])].sort(byName),
    );
    expect(localUsage.GlobalSecondaryIndexes).toBeUndefined();
    expect(usage.GlobalSecondaryIndexes).toBeUndefined();
  });

  it("give the delivery queue the same visibility timeout, retention and redrive", () => {
    const queue = propertiesOf("AWS::SQS::Queue", /^DeliveriesQueue/);
    const attributes = deliveryQueueAttributes("arn:aws:sqs:us-east-1:123456789012:local-dlq");

    expect(Number(attributes.VisibilityTimeout)).toBe(queue.VisibilityTimeout);
    expect(Number(attributes.MessageRetentionPeriod)).toBe(queue.MessageRetentionPeriod);
    expect(JSON.parse(String(attributes.RedrivePolicy))).toEqual({
      ...(queue.RedrivePolicy as Properties),
      deadLetterTargetArn: "arn:aws:sqs:us-east-1:123456789012:local-dlq",
    });
  });

  it("keep dead letters as long", () => {
    const deadLetterQueue = propertiesOf("AWS::SQS::Queue", /DeadLetterQueue/);

    expect(Number(deadLetterQueueAttributes().MessageRetentionPeriod)).toBe(
      deadLetterQueue.MessageRetentionPeriod,
    );
  });
});
