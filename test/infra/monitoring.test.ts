import { App, Stack, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { WORKER_TIMEOUT_SECONDS } from "../../functions/shared/contract/resources";
import { METRICS_NAMESPACE } from "../../functions/shared/telemetry";
import {
  Monitoring,
  RECEIVER_5XX_ALARM_THRESHOLD,
  TRANSIENT_FAILURE_ALARM_PERIODS,
} from "../../lib/monitoring";
import { buildStack, templateFor } from "./synth";

type Resource = { Type: string; Properties: Record<string, unknown> };
type Dimension = { Name: string; Value: unknown };
/** A metric as CloudFormation writes it in an alarm, in one shape whichever form the alarm took. */
interface AlarmMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, unknown>;
  readonly statistic: string;
  readonly period: number;
}
/** A dashboard widget's properties, as the console reads them. */
interface Widget {
  readonly type: string;
  readonly properties: {
    readonly title: string;
    readonly metrics?: unknown[][];
    readonly alarms?: string[];
    readonly annotations?: { horizontal?: { value: number; label: string }[] };
  };
}

const template = templateFor();
const resources = template.toJSON().Resources as Record<string, Resource>;

function logicalId(type: string, pattern: RegExp, within = resources): string {
  const ids = Object.keys(within).filter((id) => within[id]?.Type === type && pattern.test(id));
  if (ids.length !== 1) throw new Error(`expected one ${type} matching ${pattern}, found ${ids.join(", ")}`);
  return ids[0] as string;
}

const topicId = logicalId("AWS::SNS::Topic", /AlarmTopic/);
const keyId = logicalId("AWS::KMS::Key", /AlarmTopicKey/);
const queueId = logicalId("AWS::SQS::Queue", /DeliveriesQueue/);
const dlqId = logicalId("AWS::SQS::Queue", /DeadLetterQueue/);
const receiverId = logicalId("AWS::Lambda::Function", /Receiver/);
const workerId = logicalId("AWS::Lambda::Function", /Worker/);
const stackReconcilerId = logicalId("AWS::Lambda::Function", /^Reconciler/);
const apiId = logicalId("AWS::ApiGatewayV2::Api", /HttpApi/);

function alarmsOf(within: Record<string, Resource>): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    Object.values(within)
      .filter((r) => r.Type === "AWS::CloudWatch::Alarm")
      .map((r) => [r.Properties.AlarmName as string, r.Properties]),
  );
}

function alarm(name: string, within = resources): Record<string, unknown> {
  const found = alarmsOf(within)[name];
  if (!found) throw new Error(`no alarm ${name}; have ${Object.keys(alarmsOf(within)).join(", ")}`);
  return found;
}

/** The alarm's metric, whether CDK wrote it flat (MetricName) or as a one-metric Metrics array. */
function metricOf(properties: Record<string, unknown>): AlarmMetric {
  const dimensions = (list: Dimension[] | undefined) =>
    Object.fromEntries((list ?? []).map((d) => [d.Name, d.Value]));
  if (typeof properties.MetricName === "string") {
    return {
      namespace: properties.Namespace as string,
      metricName: properties.MetricName,
      dimensions: dimensions(properties.Dimensions as Dimension[]),
      statistic: properties.Statistic as string,
      period: properties.Period as number,
    };
  }
  const metrics = properties.Metrics as { MetricStat?: Record<string, never>; ReturnData?: boolean }[];
  expect(metrics).toHaveLength(1);
  const stat = metrics[0]?.MetricStat as unknown as {
    Metric: { Namespace: string; MetricName: string; Dimensions?: Dimension[] };
    Stat: string;
    Period: number;
  };
  return {
    namespace: stat.Metric.Namespace,
    metricName: stat.Metric.MetricName,
    dimensions: dimensions(stat.Metric.Dimensions),
    statistic: stat.Stat,
    period: stat.Period,
  };
}

/**
 * The dashboard body, parsed: it is an Fn::Join of JSON text around references, so each reference becomes
 * a readable placeholder (`<Logical.Attr>`, `<AWS::Region>`) inside the string it sits in.
 */
function dashboardOf(within: Record<string, Resource>): { widgets: Widget[] } {
  const dashboard = Object.values(within).find((r) => r.Type === "AWS::CloudWatch::Dashboard");
  if (!dashboard) throw new Error("no dashboard");
  const body = dashboard.Properties.DashboardBody as { "Fn::Join": [string, unknown[]] } | string;
  if (typeof body === "string") return JSON.parse(body);
  const text = body["Fn::Join"][1]
    .map((part) => {
      if (typeof part === "string") return part;
      const ref = part as { Ref?: string; "Fn::GetAtt"?: [string, string] };
      if (ref.Ref) return `<${ref.Ref}>`;
      if (ref["Fn::GetAtt"]) return `<${ref["Fn::GetAtt"].join(".")}>`;
      throw new Error(`unexpected part ${JSON.stringify(part)}`);
    })
    .join("");
  return JSON.parse(text);
}

const widgets = dashboardOf(resources).widgets;

function widget(title: string, within = widgets): Widget {
  const found = within.find((w) => w.properties.title === title);
  if (!found)
    throw new Error(`no widget "${title}"; have ${within.map((w) => w.properties.title).join(", ")}`);
  return found;
}

/** Each metric line of a widget as "namespace metric dim value …", or the expression of a math line. */
function linesOf(title: string, within = widgets): string[] {
  return (widget(title, within).properties.metrics ?? []).map((line) =>
    line
      .filter((item) => typeof item === "string" || (item as { expression?: string }).expression)
      .map((item) => (typeof item === "string" ? item : (item as { expression: string }).expression))
      .join(" "),
  );
}

describe("dashboard", () => {
  it("is named after the stack and its region, since dashboard names are global to the account", () => {
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    template.hasResourceProperties("AWS::CloudWatch::Dashboard", {
      DashboardName: { "Fn::Join": ["", ["Webhooks-operations-", { Ref: "AWS::Region" }]] },
    });
  });

  it.each([
    [
      "Deliveries by outcome",
      [
        `${METRICS_NAMESPACE} Deliveries Outcome accepted Stack Webhooks`,
        `${METRICS_NAMESPACE} Deliveries Outcome quarantined Stack Webhooks`,
        `${METRICS_NAMESPACE} Deliveries Outcome rejected Stack Webhooks`,
        `${METRICS_NAMESPACE} Deliveries Outcome failed Stack Webhooks`,
        `AWS/ApiGateway Count ApiId <${apiId}>`,
        `AWS/ApiGateway 4xx ApiId <${apiId}>`,
        `${METRICS_NAMESPACE} ThrottledRequests Stack Webhooks`,
      ],
    ],
    [
      "Rejected deliveries by reason",
      [
        `SEARCH('{${METRICS_NAMESPACE},Stack,Outcome,Reason} MetricName="Deliveries" Outcome="rejected" Stack="Webhooks"', 'Sum', 300)`,
      ],
    ],
    [
      "Quarantined deliveries by reason",
      [
        `SEARCH('{${METRICS_NAMESPACE},Stack,Outcome,Reason} MetricName="Deliveries" Outcome="quarantined" Stack="Webhooks"', 'Sum', 300)`,
      ],
    ],
    [
      "Receiver faults (5xx)",
      [
        `AWS/ApiGateway 5xx ApiId <${apiId}>`,
        `SEARCH('{${METRICS_NAMESPACE},Stack,Outcome,Reason} MetricName="Deliveries" Outcome="failed" Stack="Webhooks"', 'Sum', 300)`,
        `AWS/Lambda Errors FunctionName <${receiverId}>`,
        `AWS/Lambda Throttles FunctionName <${receiverId}>`,
      ],
    ],
    [
      "Delivery queue depth",
      [
        `AWS/SQS ApproximateNumberOfMessagesVisible QueueName <${queueId}.QueueName>`,
        `AWS/SQS ApproximateNumberOfMessagesNotVisible QueueName <${queueId}.QueueName>`,
      ],
    ],
    [
      "Oldest queued delivery (seconds)",
      [`AWS/SQS ApproximateAgeOfOldestMessage QueueName <${queueId}.QueueName>`],
    ],
    [
      "Dead-letter queue depth",
      [`AWS/SQS ApproximateNumberOfMessagesVisible QueueName <${dlqId}.QueueName>`],
    ],
    [
      "Worker invocations, errors and throttles",
      [
        `AWS/Lambda Invocations FunctionName <${workerId}>`,
        `AWS/Lambda Errors FunctionName <${workerId}>`,
        `AWS/Lambda Throttles FunctionName <${workerId}>`,
      ],
    ],
    ["Worker duration (ms)", Array(3).fill(`AWS/Lambda Duration FunctionName <${workerId}>`)],
    [
      "Records by outcome",
      [`SEARCH('{${METRICS_NAMESPACE},Stack,Outcome} MetricName="Records" Stack="Webhooks"', 'Sum', 300)`],
    ],
    // The worker writes the latency on the `Records` line, whose one dimension set is Outcome.
    [
      "Delivery to stored latency (ms)",
      Array(4).fill(`${METRICS_NAMESPACE} DeliveryToStoredLatency Outcome stored Stack Webhooks`),
    ],
    [
      "Reconciler: recovered deliveries",
      [
        `${METRICS_NAMESPACE} ReconciledDeliveries Outcome queued Stack Webhooks`,
        `${METRICS_NAMESPACE} ReconciledDeliveries Outcome already_stored Stack Webhooks`,
        `${METRICS_NAMESPACE} ReconciledDeliveries Outcome skipped Stack Webhooks`,
        `${METRICS_NAMESPACE} ReconciledDeliveries Outcome superseded Stack Webhooks`,
        `${METRICS_NAMESPACE} ReconcilerApiCalls Stack Webhooks`,
        `${METRICS_NAMESPACE} ReconcilerUnreadAbandoned Stack Webhooks`,
      ],
    ],
    [
      "Reconciler: how far behind, errors",
      [
        "lag / 60000",
        `${METRICS_NAMESPACE} ReconcilerCheckpointLag Stack Webhooks`,
        `AWS/Lambda Errors FunctionName <${stackReconcilerId}>`,
      ],
    ],
  ])("charts %s", (title, expected) => {
    expect(linesOf(title)).toEqual(expected);
  });

  it("charts the statistics that matter: sums of counts, percentiles of latency and duration", () => {
    const statsOf = (title: string) =>
      (widget(title).properties.metrics ?? []).map(
        (line) => (line.find((item) => typeof item === "object") as { stat?: string } | undefined)?.stat,
      );
    expect(statsOf("Deliveries by outcome")).toEqual(["Sum", "Sum", "Sum", "Sum", "Sum", "Sum", "Sum"]);
    expect(statsOf("Delivery to stored latency (ms)")).toEqual(["p50", "p90", "p99", "Maximum"]);
    expect(statsOf("Worker duration (ms)")).toEqual(["p50", "p99", "Maximum"]);
    expect(statsOf("Oldest queued delivery (seconds)")).toEqual(["Maximum"]);
  });

  it("marks alarm thresholds and the worker timeout on the graphs", () => {
    const lines = (title: string) => widget(title).properties.annotations?.horizontal?.map((a) => a.value);
    expect(lines("Oldest queued delivery (seconds)")).toEqual([900]);
    expect(lines("Rejected deliveries by reason")).toEqual([20]);
    expect(lines("Receiver faults (5xx)")).toEqual([RECEIVER_5XX_ALARM_THRESHOLD]);
    expect(lines("Worker duration (ms)")).toEqual([WORKER_TIMEOUT_SECONDS * 1000]);
  });

  it("shows the state of every alarm", () => {
    const alarmIds = Object.keys(resources).filter((id) => resources[id]?.Type === "AWS::CloudWatch::Alarm");
    expect(widget("Alarms").properties.alarms?.sort()).toEqual(alarmIds.map((id) => `<${id}.Arn>`).sort());
  });
});

describe("alarms", () => {
  it.each<[string, AlarmMetric, number, string]>([
    [
      "Webhooks-dead-letters",
      {
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: { "Fn::GetAtt": [dlqId, "QueueName"] } },
        statistic: "Maximum",
        period: 300,
      },
      0,
      "GreaterThanThreshold",
    ],
    [
      "Webhooks-oldest-delivery-too-old",
      {
        namespace: "AWS/SQS",
        metricName: "ApproximateAgeOfOldestMessage",
        dimensions: { QueueName: { "Fn::GetAtt": [queueId, "QueueName"] } },
        statistic: "Maximum",
        period: 300,
      },
      900,
      "GreaterThanThreshold",
    ],
    [
      "Webhooks-receiver-5xx",
      {
        namespace: "AWS/ApiGateway",
        metricName: "5xx",
        dimensions: { ApiId: { Ref: apiId } },
        statistic: "Sum",
        period: 300,
      },
      RECEIVER_5XX_ALARM_THRESHOLD,
      "GreaterThanOrEqualToThreshold",
    ],
    [
      "Webhooks-auth-failures",
      {
        namespace: METRICS_NAMESPACE,
        metricName: "Deliveries",
        dimensions: { Stack: "Webhooks", Outcome: "rejected", Reason: "unauthorized" },
        statistic: "Sum",
        period: 300,
      },
      20,
      "GreaterThanThreshold",
    ],
    [
      "Webhooks-missed-deliveries",
      {
        namespace: METRICS_NAMESPACE,
        metricName: "ReconciledDeliveries",
        dimensions: { Stack: "Webhooks", Outcome: "queued" },
        statistic: "Sum",
        period: 300,
      },
      0,
      "GreaterThanThreshold",
    ],
    ["Webhooks-worker-errors", lambdaMetric("Errors", workerId), 0, "GreaterThanThreshold"],
    [
      "Webhooks-api-key-not-set",
      {
        namespace: METRICS_NAMESPACE,
        metricName: "ApiKeyNotSet",
        dimensions: { Stack: "Webhooks", Outcome: "transient_failure" },
        statistic: "Sum",
        period: 300,
      },
      0,
      "GreaterThanThreshold",
    ],
  ])("%s watches its metric with its threshold", (name, metric, threshold, comparison) => {
    const properties = alarm(name);

    expect(metricOf(properties)).toEqual(metric);
    expect(properties).toMatchObject({
      Threshold: threshold,
      ComparisonOperator: comparison,
      EvaluationPeriods: 1,
      TreatMissingData: "notBreaching",
    });
  });

  it("Webhooks-records-failing fires after 15 minutes of transient record failures, whatever the queue's age says", () => {
    const properties = alarm("Webhooks-records-failing");

    expect(metricOf(properties)).toEqual({
      namespace: METRICS_NAMESPACE,
      metricName: "Records",
      dimensions: { Stack: "Webhooks", Outcome: "transient_failure" },
      statistic: "Sum",
      period: 300,
    });
    expect(properties).toMatchObject({
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: TRANSIENT_FAILURE_ALARM_PERIODS,
      TreatMissingData: "notBreaching",
    });
    expect(TRANSIENT_FAILURE_ALARM_PERIODS * 5).toBeLessThanOrEqual(15);
  });

  it("Webhooks-api-throttled fires on any request the stage throttled within a minute", () => {
    const properties = alarm("Webhooks-api-throttled");

    expect(metricOf(properties)).toEqual({
      namespace: METRICS_NAMESPACE,
      metricName: "ThrottledRequests",
      dimensions: { Stack: "Webhooks" },
      statistic: "Sum",
      period: 60,
    });
    expect(properties).toMatchObject({
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: 1,
      TreatMissingData: "notBreaching",
    });
  });

  it("Webhooks-api-throttled's metric is written by a metric filter on the API's access log, by stack", () => {
    const accessLogs = logicalId("AWS::Logs::LogGroup", /AccessLogs/);

    template.hasResourceProperties("AWS::Logs::MetricFilter", {
      LogGroupName: { Ref: accessLogs },
      FilterPattern: '{ $.status = "429" }',
      MetricTransformations: [
        {
          MetricNamespace: METRICS_NAMESPACE,
          MetricName: "ThrottledRequests",
          MetricValue: "1",
          Unit: "Count",
          Dimensions: [{ Key: "Stack", Value: "$.stack" }],
        },
      ],
    });
    const stage = resources[logicalId("AWS::ApiGatewayV2::Stage", /Stage/)] as Resource;
    const format = JSON.parse((stage.Properties.AccessLogSettings as { Format: string }).Format);
    expect(format).toMatchObject({ status: "$context.status", stack: "Webhooks" });
  });

  it("Webhooks-function-throttles adds the receiver's and the worker's throttles", () => {
    const properties = alarm("Webhooks-function-throttles");
    const metrics = properties.Metrics as { Id: string; Expression?: string; MetricStat?: unknown }[];

    // FILL: a throttled receiver queues nothing, so the worker has no data; the sum must still be a number.
    expect(metrics.find((m) => m.Expression)?.Expression).toBe("FILL(receiver, 0) + FILL(worker, 0)");
    const byId = Object.fromEntries(metrics.filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat]));
    expect(byId).toEqual({
      receiver: {
        Metric: {
          Namespace: "AWS/Lambda",
          MetricName: "Throttles",
          Dimensions: [{ Name: "FunctionName", Value: { Ref: receiverId } }],
        },
        Period: 300,
        Stat: "Sum",
      },
      worker: {
        Metric: {
          Namespace: "AWS/Lambda",
          MetricName: "Throttles",
          Dimensions: [{ Name: "FunctionName", Value: { Ref: workerId } }],
        },
        Period: 300,
        Stat: "Sum",
      },
    });
    expect(properties).toMatchObject({ Threshold: 0, ComparisonOperator: "GreaterThanThreshold" });
  });

  it("all notify the alarm topic and describe a first response", () => {
    const all = alarmsOf(resources);
    expect(Object.keys(all)).toHaveLength(17);
    for (const properties of Object.values(all)) {
      expect(properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(properties.AlarmDescription).toMatch(/Runbook: README.md/);
    }
  });

  it("take their thresholds from configuration", () => {
    const configured = templateFor({ oldestMessageAlarmSeconds: 1800, authFailureAlarmThreshold: 100 });
    configured.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "Webhooks-oldest-delivery-too-old",
      Threshold: 1800,
    });
    configured.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "Webhooks-auth-failures",
      Threshold: 100,
    });
  });
});

describe("alarm topic", () => {
  it("is encrypted with its own rotating key that CloudWatch may use for this account's alarms", () => {
    template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: { "Fn::GetAtt": [keyId, "Arn"] } });
    template.hasResourceProperties("AWS::KMS::Key", {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
          }),
        ]),
      },
    });
  });

  it("denies publishing without TLS and admits only this stack's alarms from this account", () => {
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Action: "sns:Publish",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Condition: {
              StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
              ArnLike: { "aws:SourceArn": { "Fn::Join": ["", Match.arrayWith([":alarm:Webhooks-*"])] } },
            },
          }),
        ]),
      },
    });
  });

  it("has no subscription unless alarmEmail is set", () => {
    template.resourceCountIs("AWS::SNS::Subscription", 0);
  });

  it("e-mails alarmEmail when it is set", () => {
    const withEmail = templateFor({ alarmEmail: "oncall@example.com" });
    withEmail.resourceCountIs("AWS::SNS::Subscription", 1);
    withEmail.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "oncall@example.com",
      TopicArn: { Ref: topicId },
    });
  });

  it("is named in the outputs with the dashboard", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.AlarmTopicArn?.Value).toEqual({ Ref: topicId });
    expect(outputs.DashboardName?.Value).toEqual({
      Ref: logicalId("AWS::CloudWatch::Dashboard", /Dashboard/),
    });
    expect(JSON.stringify(outputs.DashboardUrl?.Value)).toMatch(/cloudwatch\/home\?region=.*#dashboards/);
  });
});

describe("cdk-nag with an alarm e-mail subscription", () => {
  const { app, stack } = buildStack({ alarmEmail: "oncall@example.com" });
  const packs = [new AwsSolutionsChecks(app), new ServerlessChecks(app)];
  Validations.of(app).addPlugins(...packs);

  it.each(packs.map((pack) => [pack.readPackName, pack] as const))(
    "%s reports no unacknowledged finding",
    (_pack, pack) => {
      const report = pack.validateScope(stack);

      expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
    },
  );
});

describe("with a reconciler function", () => {
  // A bare stack: the reconciler construct is built elsewhere, and Monitoring takes any function.
  const stack = new Stack(new App(), "Bare");
  const fn = (id: string) =>
    new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: "index.handler",
      code: lambda.Code.fromInline("export const handler = async () => {};"),
    });
  const deadLetterQueue = new sqs.Queue(stack, "DeadLetterQueue");
  new Monitoring(stack, "Monitoring", {
    api: new apigw.HttpApi(stack, "Api"),
    receiver: fn("Receiver"),
    worker: fn("Worker"),
    reconciler: fn("Reconciler"),
    queue: new sqs.Queue(stack, "Queue", { deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 8 } }),
    deadLetterQueue,
    oldestMessageAlarmSeconds: 900,
    authFailureAlarmThreshold: 20,
  });
  const bare = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
  const reconcilerId = logicalId("AWS::Lambda::Function", /Reconciler/, bare);

  it("alarms when the reconciler itself fails", () => {
    const properties = alarm("Bare-reconciler-errors", bare);

    expect(metricOf(properties)).toEqual(lambdaMetric("Errors", reconcilerId));
    expect(properties.AlarmActions).toEqual([{ Ref: logicalId("AWS::SNS::Topic", /AlarmTopic/, bare) }]);
  });

  it("alarms when every run for an hour starts more than 3 hours behind", () => {
    const properties = alarm("Bare-reconciler-behind", bare);

    expect(properties).toMatchObject({
      Namespace: "AssemblyAIWebhooks",
      MetricName: "ReconcilerCheckpointLag",
      Statistic: "Minimum",
      Period: 3600,
      Threshold: 3 * 3_600_000,
      ComparisonOperator: "GreaterThanThreshold",
    });
  });

  it("alarms when a run gives up on a transcript it could not read", () => {
    const properties = alarm("Bare-reconciler-gave-up", bare);

    expect(metricOf(properties)).toMatchObject({
      namespace: "AssemblyAIWebhooks",
      metricName: "ReconcilerUnreadAbandoned",
      statistic: "Sum",
      period: 300,
    });
    expect(properties).toMatchObject({
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
    });
    expect(properties.AlarmActions).toEqual([{ Ref: logicalId("AWS::SNS::Topic", /AlarmTopic/, bare) }]);
  });

  it("charts its errors next to how far behind it is", () => {
    expect(linesOf("Reconciler: how far behind, errors", dashboardOf(bare).widgets)).toContain(
      `AWS/Lambda Errors FunctionName <${reconcilerId}>`,
    );
  });
});

function lambdaMetric(metricName: string, functionId: string): AlarmMetric {
  return {
    namespace: "AWS/Lambda",
    metricName,
    dimensions: { FunctionName: { Ref: functionId } },
    statistic: "Sum",
    period: 300,
  };
}
