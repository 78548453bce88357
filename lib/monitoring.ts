/**
 * What an operator watches: one CloudWatch dashboard for the whole pipeline, and alarms on an encrypted,
 * TLS-only SNS topic (optionally e-mailed) for the conditions that lose or delay deliveries.
 *
 * Hand-written with `aws-cloudwatch` rather than `cdk-monitoring-constructs`: a handful of alarms on
 * metrics of our own (`Deliveries`, `Records`, `ReconciledDeliveries`) whose dimensions the library cannot
 * know, so its presets would save little and add a dependency that must track aws-cdk-lib releases.
 */
import { ArnFormat, Aws, Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import type * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import * as cw from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { DeliveryOutcome, ErrorCode } from "../functions/receiver/outcome";
import type { ReconcileOutcome } from "../functions/reconciler/types";
import { WORKER_TIMEOUT_SECONDS } from "../functions/shared/contract/resources";
import { METRICS_NAMESPACE, STACK_DIMENSION } from "../functions/shared/log-event";
import {
  API_KEY_NOT_SET_METRIC,
  ASSEMBLYAI_DELETE_FAILED_METRIC,
  type Outcome as RecordOutcome,
} from "../functions/worker/report";
import { THROTTLED_REQUESTS_METRIC } from "./access-log";
import { denyGrantsExceptForAwsServices } from "./encryption-keys";

/** The alarm thresholds operators tune (see `lib/config.ts` for their defaults and validation). */
export interface MonitoringThresholds {
  /**
   * Age in seconds of the oldest message on the delivery queue above which deliveries count as stuck.
   * @default 900 (from the stack configuration)
   */
  readonly oldestMessageAlarmSeconds: number;
  /**
   * Deliveries rejected as `unauthorized` in 5 minutes above which the auth-failure alarm fires.
   * @default 20 (from the stack configuration)
   */
  readonly authFailureAlarmThreshold: number;
}

export interface MonitoringProps extends MonitoringThresholds {
  readonly api: apigw.IHttpApi;
  readonly receiver: lambda.IFunction;
  readonly worker: lambda.IFunction;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * The scheduled reconciler function. Its `ReconciledDeliveries` metric is charted and alarmed on either way
   * (silent until a reconciler writes it); the function adds its errors to the dashboard and an alarm.
   * @default - no reconciler function charted
   */
  readonly reconciler?: lambda.IFunction;
  /**
   * The events publisher (lib/event-publishing.ts): its errors and stream lag are charted and alarmed on.
   * @default - no events charted
   */
  readonly publisher?: lambda.IFunction;
  /** The events dead-letter queue. @default - none charted */
  readonly eventsDeadLetterQueue?: sqs.IQueue;
  /**
   * Address subscribed to the alarm topic (its owner must confirm the subscription from the e-mail SNS sends).
   * @default - no subscription: subscribe to the `AlarmTopicArn` output yourself
   */
  readonly alarmEmail?: string;
  /**
   * The worker deletes stored transcripts at AssemblyAI: a delete it gave up on raises an alarm.
   * @default false
   */
  readonly deleteFromAssemblyAi?: boolean;
}

/** An alarm's metric and threshold; it fires above the threshold unless told otherwise. */
interface AlarmCondition {
  readonly metric: cw.IMetric;
  readonly threshold: number;
  /** @default GREATER_THAN_THRESHOLD */
  readonly above?: cw.ComparisonOperator;
  /** Consecutive 5-minute periods that must breach. @default 1 */
  readonly periods?: number;
}

/** Every outcome the reconciler counts; `satisfies` makes a new outcome a compile error here until charted. */
const RECONCILE_OUTCOMES = Object.keys({
  queued: true,
  already_stored: true,
  skipped: true,
  superseded: true,
} satisfies Record<ReconcileOutcome, true>) as ReconcileOutcome[];

/** Every metric is charted and alarmed on in 5-minute sums or extremes. */
const PERIOD = Duration.minutes(5);
/**
 * API 5xx answers in 5 minutes that raise the alarm. AssemblyAI retries a failed delivery every 10 s for
 * about 100 s, so this is one delivery failing for most of a minute, or several failing at once; a lone 5xx
 * that the next retry cures does not page anyone.
 */
export const RECEIVER_5XX_ALARM_THRESHOLD = 5;

/** 5-minute periods in a row with transient record failures that raise `records-failing` (15 minutes). */
export const TRANSIENT_FAILURE_ALARM_PERIODS = 3;

/** Normal lag is the schedule plus the 10-minute settling window; hours of it means runs cannot keep up. */
export const RECONCILER_LAG_ALARM_HOURS = 3;

/**
 * How far behind the table's stream the publisher may fall (its iterator age) before `events-behind` fires:
 * records stay on a stream for 24 hours, so this leaves the day to fix what holds it back.
 */
export const EVENTS_BEHIND_ALARM_MINUTES = 15;

export class Monitoring extends Construct {
  readonly dashboard: cw.Dashboard;
  readonly alarmTopic: sns.Topic;
  /** Every alarm, by a short name (`DeadLetters`, `Receiver5xx`, …). */
  readonly alarms: Readonly<Record<string, cw.Alarm>>;
  /** The console URL of the dashboard. */
  readonly dashboardUrl: string;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const prefix = Stack.of(this).stackName;

    this.alarmTopic = this.createAlarmTopic(prefix, props.alarmEmail);
    const metrics = this.metricsOf(props);
    const action = new SnsAction(this.alarmTopic);

    const alarm = (alarmId: string, name: string, description: string, condition: AlarmCondition) => {
      const created = new cw.Alarm(this, alarmId, {
        alarmName: `${prefix}-${name}`,
        alarmDescription: `${description} Runbook: README.md, section "Operating".`,
        metric: condition.metric,
        threshold: condition.threshold,
        comparisonOperator: condition.above ?? cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        // One 5-minute period unless said: most of these are worth a look as soon as they happen once.
        evaluationPeriods: condition.periods ?? 1,
        // No data means no traffic (EMF and API metrics are written per request, SQS skips idle queues).
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(action);
      return created;
    };

    const alarms: Record<string, cw.Alarm> = {
      DeadLetters: alarm(
        "DeadLettersAlarm",
        "dead-letters",
        "A delivery exhausted its retries and is in the dead-letter queue; it is not stored.",
        {
          metric: metrics.deadLetters,
          threshold: 0,
        },
      ),
      OldestMessage: alarm(
        "OldestMessageAlarm",
        "oldest-delivery-too-old",
        `A queued delivery has waited more than ${props.oldestMessageAlarmSeconds} s: the worker is failing ` +
          "(often the API key, or an AssemblyAI outage) or cannot keep up.",
        {
          metric: metrics.oldestMessageAge,
          threshold: props.oldestMessageAlarmSeconds,
        },
      ),
      // SQS stops counting a message's age after its third receive, which the worker's backoff reaches in
      // about two minutes: during an outage or with no API key, OldestMessage stays low for an hour.
      RecordsFailing: alarm(
        "RecordsFailingAlarm",
        "records-failing",
        "Records have failed transiently (AssemblyAI 429/5xx or unreachable, a missing API key, AWS errors) in " +
          `each of the last ${TRANSIENT_FAILURE_ALARM_PERIODS} 5-minute periods: deliveries are waiting in ` +
          "backoff and reach the dead-letter queue after about an hour.",
        {
          metric: metrics.transientFailures,
          threshold: 0,
          periods: TRANSIENT_FAILURE_ALARM_PERIODS,
        },
      ),
      ApiKeyNotSet: alarm(
        "ApiKeyNotSetAlarm",
        "api-key-not-set",
        "The AssemblyAI API key secret still holds the placeholder: no transcript can be fetched until it is " +
          "set (`aai-webhooks set-api-key`); deliveries wait in backoff meanwhile.",
        {
          metric: metrics.apiKeyNotSet,
          threshold: 0,
        },
      ),
      Receiver5xx: alarm(
        "Receiver5xxAlarm",
        "receiver-5xx",
        "The webhook answered 5xx: deliveries are not being queued (AssemblyAI retries for only about 100 s).",
        {
          metric: metrics.api5xx,
          threshold: RECEIVER_5XX_ALARM_THRESHOLD,
          above: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        },
      ),
      AuthFailures: alarm(
        "AuthFailuresAlarm",
        "auth-failures",
        `More than ${props.authFailureAlarmThreshold} deliveries in 5 minutes had a wrong or missing secret ` +
          "header: someone is probing the webhook, or jobs carry a secret the receiver no longer accepts.",
        {
          metric: metrics.unauthorized,
          threshold: props.authFailureAlarmThreshold,
        },
      ),
      Quarantined: alarm(
        "QuarantinedAlarm",
        "quarantined-deliveries",
        "An authenticated delivery could not be routed (malformed body, no customer_id/order_id, a bad " +
          "transcript_id) and was kept under quarantine/ instead: `aai-webhooks quarantine list` shows why.",
        {
          metric: metrics.deliveries("quarantined"),
          threshold: 0,
        },
      ),
      MissedDeliveries: alarm(
        "MissedDeliveriesAlarm",
        "missed-deliveries",
        "The reconciler found finished transcripts whose webhook never got stored, and queued them.",
        {
          metric: metrics.reconciled("queued"),
          threshold: 0,
        },
      ),
      WorkerErrors: alarm(
        "WorkerErrorsAlarm",
        "worker-errors",
        "The worker crashed, timed out or ran out of memory (it reports per-record failures itself), so a " +
          "whole batch went back to the queue.",
        {
          metric: metrics.worker.errors,
          threshold: 0,
        },
      ),
      Throttles: alarm(
        "ThrottlesAlarm",
        "function-throttles",
        "Lambda throttled the receiver (deliveries answered 5xx) or the worker (batches returned to the " +
          "queue, counting towards the dead-letter queue): the account's concurrency is exhausted.",
        {
          metric: new cw.MathExpression({
            // FILL: a period where one function has no data must not blank the sum (a throttled receiver
            // queues nothing, so the worker then has no data at all).
            expression: "FILL(receiver, 0) + FILL(worker, 0)",
            usingMetrics: { receiver: metrics.receiver.throttles, worker: metrics.worker.throttles },
            label: "Throttles (receiver + worker)",
            period: PERIOD,
          }),
          threshold: 0,
        },
      ),
      ApiThrottled: alarm(
        "ApiThrottledAlarm",
        "api-throttled",
        "The API stage throttled a request (429) in the last minute. AssemblyAI treats a 429 as final: a " +
          "throttled genuine delivery is not retried (the reconciler recovers it).",
        {
          // Per minute, not 5: one throttled delivery is already a lost webhook.
          metric: metrics.throttledRequests.with({ period: Duration.minutes(1) }),
          threshold: 0,
        },
      ),
    };
    if (metrics.reconcilerFunction) {
      alarms.ReconcilerErrors = alarm(
        "ReconcilerErrorsAlarm",
        "reconciler-errors",
        "The reconciler failed: missed deliveries are not being recovered until it runs cleanly again.",
        {
          metric: metrics.reconcilerFunction.errors,
          threshold: 0,
        },
      );
    }
    if (metrics.reconcilerFunction) {
      alarms.ReconcilerBehind = alarm(
        "ReconcilerBehindAlarm",
        "reconciler-behind",
        `The reconciler's checkpoint is more than ${RECONCILER_LAG_ALARM_HOURS} hours behind: its runs cannot ` +
          "cover the window within reconcileMaxApiCalls (a busy account, or a long outage). Raise " +
          "reconcileMaxApiCalls, or run `aai-webhooks reconcile --since` with a larger budget.",
        {
          metric: metrics.reconcilerLag.with({ statistic: "Minimum", period: Duration.hours(1) }),
          threshold: RECONCILER_LAG_ALARM_HOURS * 3_600_000,
        },
      );
    }
    if (metrics.reconcilerFunction) {
      alarms.ReconcilerGaveUp = alarm(
        "ReconcilerGaveUpAlarm",
        "reconciler-gave-up",
        "The reconciler gave up on a finished transcript it could not read in 5 runs (AssemblyAI kept " +
          "answering 429/5xx/401/403, or timed out): if it was ours, its delivery is lost until replayed.",
        {
          metric: metrics.reconcilerAbandoned,
          threshold: 0,
        },
      );
    }
    if (props.deleteFromAssemblyAi) {
      alarms.AssemblyAiDeleteFailed = alarm(
        "AssemblyAiDeleteFailedAlarm",
        "assemblyai-delete-failed",
        "The worker gave up deleting a stored transcript at AssemblyAI after its retries: the record is " +
          "stored and says why (assemblyai_deleted false, assemblyai_delete_error); the transcript is " +
          "still at AssemblyAI.",
        {
          metric: metrics.assemblyAiDeleteFailed,
          threshold: 0,
        },
      );
    }
    if (metrics.events) {
      const { events } = metrics;
      alarms.EventsDeadLetters = alarm(
        "EventsDeadLettersAlarm",
        "events-dead-letters",
        "Events are in the events dead-letter queue: EventBridge refused them after the publisher's " +
          "retries, or the publisher failed a stream batch after its retries. Subscribers have not heard of " +
          "those changes: `aai-webhooks events redrive` puts them on the bus again.",
        { metric: events.deadLetters, threshold: 0 },
      );
      alarms.EventsPublishFailed = alarm(
        "EventsPublishFailedAlarm",
        "events-publish-failed",
        "The events publisher failed: EventBridge refused events after its retries (dead-lettered), or the " +
          "function itself failed (the stream retries it; after 10 tries a pointer goes to the events " +
          "dead-letter queue).",
        {
          metric: new cw.MathExpression({
            expression: "FILL(refused, 0) + FILL(errors, 0)",
            usingMetrics: { refused: events.refused, errors: events.publisher.errors },
            label: "events refused + publisher errors",
            period: PERIOD,
          }),
          threshold: 0,
        },
      );
      alarms.EventsBehind = alarm(
        "EventsBehindAlarm",
        "events-behind",
        `The events publisher is more than ${EVENTS_BEHIND_ALARM_MINUTES} minutes behind the table's ` +
          "stream: stored transcripts are not being announced (records leave the stream after 24 hours).",
        {
          metric: events.iteratorAge,
          threshold: EVENTS_BEHIND_ALARM_MINUTES * 60_000,
        },
      );
    }
    this.alarms = alarms;

    this.dashboard = new cw.Dashboard(this, "Dashboard", {
      // Dashboard names are global to the account (alarms are per region): the region keeps the same stack
      // name in two regions from colliding.
      dashboardName: `${prefix}-operations-${Stack.of(this).region}`,
      defaultInterval: Duration.days(1),
    });
    this.addWidgets(props, metrics, Object.values(alarms));
    this.dashboardUrl =
      `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}` +
      `#dashboards/dashboard/${this.dashboard.dashboardName}`;
  }

  /** The topic alarms publish to: KMS-encrypted, TLS-only, writable by this stack's alarms. */
  private createAlarmTopic(prefix: string, alarmEmail: string | undefined): sns.Topic {
    const key = new kms.Key(this, "AlarmTopicKey", {
      description: `Encrypts ${prefix} alarm notifications`,
      enableKeyRotation: true,
      // Nothing lasting is encrypted with it (notifications are delivered, not kept), so it goes with the
      // topic rather than costing a dollar a month as an orphan.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // CloudWatch must encrypt what it publishes (AWS-managed SNS keys do not admit it), and only for this
    // account's alarms; the topic policy below is what limits publishing to this stack's alarms.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "AllowCloudWatchAlarmsToEncryptNotifications",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        conditions: { StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID } },
      }),
    );
    denyGrantsExceptForAwsServices(key);
    const topic = new sns.Topic(this, "AlarmTopic", {
      displayName: `${prefix} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    // A topic policy replaces SNS's default one, which is what let same-account alarms publish.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "AllowThisStacksAlarmsToPublish",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["sns:Publish"],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID },
          ArnLike: {
            "aws:SourceArn": Stack.of(this).formatArn({
              service: "cloudwatch",
              resource: "alarm",
              resourceName: `${prefix}-*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    if (alarmEmail !== undefined) {
      const subscription = topic.addSubscription(new subscriptions.EmailSubscription(alarmEmail));
      Validations.of(subscription).acknowledge({
        id: "Serverless-SNSRedrivePolicy",
        reason:
          "An e-mail that cannot be delivered would sit in a dead-letter queue nobody reads; the alarm's state " +
          "and history in CloudWatch (and the dashboard) are the durable record of what fired.",
      });
    }
    return topic;
  }

  private metricsOf(props: MonitoringProps) {
    // Every metric our functions emit carries the stack's name (functions/shared/telemetry.ts): select it,
    // so another stack in the same account and region never moves these graphs or alarms.
    const stack = Stack.of(this).stackName;
    const custom = (metricName: string, dimensionsMap: Record<string, string>, statistic = "Sum") =>
      new cw.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { [STACK_DIMENSION]: stack, ...dimensionsMap },
        statistic,
        period: PERIOD,
      });
    const search = (schema: string, filter: string) =>
      new cw.MathExpression({
        expression:
          `SEARCH('{${METRICS_NAMESPACE},${STACK_DIMENSION},${schema}} ${filter} ` +
          `${STACK_DIMENSION}="${stack}"', 'Sum', ${PERIOD.toSeconds()})`,
        usingMetrics: {},
        label: "",
        period: PERIOD,
      });
    const functionMetrics = (fn: lambda.IFunction) => ({
      invocations: fn.metricInvocations({ period: PERIOD }),
      errors: fn.metricErrors({ period: PERIOD }),
      throttles: fn.metricThrottles({ period: PERIOD }),
      duration: (statistic: string) => fn.metricDuration({ period: PERIOD, statistic, label: statistic }),
    });
    return {
      deliveries: (outcome: DeliveryOutcome) =>
        custom("Deliveries", { Outcome: outcome }).with({ label: outcome }),
      unauthorized: custom("Deliveries", {
        Outcome: "rejected" satisfies DeliveryOutcome,
        Reason: "unauthorized" satisfies ErrorCode,
      }).with({ label: "unauthorized" }),
      /** Every `Reason` of one outcome, whichever codes the receiver grows. */
      searchDeliveries: (outcome: DeliveryOutcome) =>
        search("Outcome,Reason", `MetricName="Deliveries" Outcome="${outcome}"`),
      searchRecords: search("Outcome", 'MetricName="Records"'),
      transientFailures: custom("Records", { Outcome: "transient_failure" satisfies RecordOutcome }).with({
        label: "transient failures",
      }),
      apiKeyNotSet: custom(API_KEY_NOT_SET_METRIC, {
        Outcome: "transient_failure" satisfies RecordOutcome,
      }).with({
        label: "API key not set",
      }),
      // Written on a line of its own, with no dimension but the stack's.
      assemblyAiDeleteFailed: custom(ASSEMBLYAI_DELETE_FAILED_METRIC, {}).with({
        label: "AssemblyAI deletes given up",
      }),
      // Written on the same line as `Records`, so it carries that line's only dimension set: Outcome=stored.
      latency: (statistic: string) =>
        custom("DeliveryToStoredLatency", { Outcome: "stored" satisfies RecordOutcome }, statistic).with({
          label: statistic,
        }),
      reconciled: (outcome: ReconcileOutcome) =>
        custom("ReconciledDeliveries", { Outcome: outcome }).with({ label: outcome }),
      // Written once per run on the run's summary line, which has no dimensions.
      reconcilerApiCalls: custom("ReconcilerApiCalls", {}).with({ label: "AssemblyAI API calls" }),
      reconcilerLag: custom("ReconcilerCheckpointLag", {}, "Maximum"),
      // Transcripts AssemblyAI would not let the reconciler read in 5 runs, given up (each one a delivery
      // only `aai-webhooks replay` can still recover).
      reconcilerAbandoned: custom("ReconcilerUnreadAbandoned", {}).with({ label: "unreadable, given up" }),
      reconcilerLagMinutes: new cw.MathExpression({
        expression: "lag / 60000",
        usingMetrics: { lag: custom("ReconcilerCheckpointLag", {}, "Maximum") },
        label: "checkpoint lag (minutes)",
        period: PERIOD,
      }),
      // Counted from the API's access log by a metric filter (lib/receiver-api.ts), not by a function.
      throttledRequests: custom(THROTTLED_REQUESTS_METRIC, {}).with({ label: "throttled (429)" }),
      api5xx: props.api.metricServerError({ period: PERIOD, label: "API 5xx" }),
      api4xx: props.api.metricClientError({ period: PERIOD, label: "API 4xx" }),
      apiCount: props.api.metricCount({ period: PERIOD, statistic: "Sum", label: "API requests" }),
      queueVisible: props.queue.metricApproximateNumberOfMessagesVisible({
        period: PERIOD,
        label: "waiting",
      }),
      queueInFlight: props.queue.metricApproximateNumberOfMessagesNotVisible({
        period: PERIOD,
        label: "in flight or backing off",
      }),
      oldestMessageAge: props.queue.metricApproximateAgeOfOldestMessage({
        period: PERIOD,
        label: "oldest delivery (s)",
      }),
      deadLetters: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: PERIOD,
        label: "dead letters",
      }),
      receiver: functionMetrics(props.receiver),
      worker: functionMetrics(props.worker),
      events:
        props.publisher && props.eventsDeadLetterQueue
          ? {
              publisher: functionMetrics(props.publisher),
              iteratorAge: props.publisher.metric("IteratorAge", {
                period: PERIOD,
                statistic: "Maximum",
                label: "stream iterator age (ms)",
              }),
              // Both written with no dimension but the stack's (functions/publisher/publisher.ts).
              published: custom("EventsPublished", {}).with({ label: "published" }),
              refused: custom("EventsDeadLettered", {}).with({ label: "dead-lettered" }),
              publishedByType: search("DetailType", 'MetricName="EventsPublished"'),
              latency: (statistic: string) =>
                custom("EventLatency", {}, statistic).with({ label: statistic }),
              deadLetters: props.eventsDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
                period: PERIOD,
                label: "events dead letters",
              }),
            }
          : undefined,
      reconcilerFunction: props.reconciler ? functionMetrics(props.reconciler) : undefined,
    };
  }

  private addWidgets(
    props: MonitoringProps,
    metrics: ReturnType<Monitoring["metricsOf"]>,
    alarms: cw.Alarm[],
  ) {
    const graph = (title: string, left: cw.IMetric[], extra: Partial<cw.GraphWidgetProps> = {}) =>
      new cw.GraphWidget({ title, left, width: 8, height: 6, ...extra });
    const line = (value: number, label: string): cw.HorizontalAnnotation => ({ value, label });
    const reconcilerHealth: cw.IMetric[] = [metrics.reconcilerLagMinutes];
    if (metrics.reconcilerFunction) {
      reconcilerHealth.push(metrics.reconcilerFunction.errors.with({ label: "errors" }));
    }

    this.dashboard.addWidgets(new cw.AlarmStatusWidget({ title: "Alarms", alarms, width: 24, height: 3 }));
    this.dashboard.addWidgets(
      // API 4xx above the receiver's rejections are the stage's own answers: throttling (429), charted too.
      graph(
        "Deliveries by outcome",
        [
          metrics.deliveries("accepted"),
          metrics.deliveries("quarantined"),
          metrics.deliveries("rejected"),
          metrics.deliveries("failed"),
        ],
        { right: [metrics.apiCount, metrics.api4xx, metrics.throttledRequests] },
      ),
      graph("Rejected deliveries by reason", [metrics.searchDeliveries("rejected")], {
        leftAnnotations: [line(props.authFailureAlarmThreshold, "unauthorized alarm")],
      }),
      graph("Receiver faults (5xx)", [metrics.api5xx, metrics.searchDeliveries("failed")], {
        right: [
          metrics.receiver.errors.with({ label: "receiver errors" }),
          metrics.receiver.throttles.with({ label: "receiver throttles" }),
        ],
        leftAnnotations: [line(RECEIVER_5XX_ALARM_THRESHOLD, "5xx alarm")],
      }),
    );
    this.dashboard.addWidgets(
      graph("Delivery queue depth", [metrics.queueVisible, metrics.queueInFlight]),
      graph("Oldest queued delivery (seconds)", [metrics.oldestMessageAge], {
        leftAnnotations: [line(props.oldestMessageAlarmSeconds, "alarm")],
      }),
      graph("Dead-letter queue depth", [metrics.deadLetters]),
    );
    this.dashboard.addWidgets(
      // Kept, not lost: each is under quarantine/ in the bucket (`aai-webhooks quarantine list`).
      graph("Quarantined deliveries by reason", [metrics.searchDeliveries("quarantined")], { width: 24 }),
    );
    this.dashboard.addWidgets(
      graph(
        "Worker invocations, errors and throttles",
        [metrics.worker.invocations.with({ label: "invocations" })],
        {
          right: [
            metrics.worker.errors.with({ label: "errors" }),
            metrics.worker.throttles.with({ label: "throttles" }),
          ],
        },
      ),
      graph(
        "Worker duration (ms)",
        [metrics.worker.duration("p50"), metrics.worker.duration("p99"), metrics.worker.duration("Maximum")],
        { leftAnnotations: [line(WORKER_TIMEOUT_SECONDS * 1000, "timeout")] },
      ),
      graph("Records by outcome", [metrics.searchRecords]),
    );
    this.dashboard.addWidgets(
      graph("Delivery to stored latency (ms)", [
        metrics.latency("p50"),
        metrics.latency("p90"),
        metrics.latency("p99"),
        metrics.latency("Maximum"),
      ]),
      graph(
        "Reconciler: recovered deliveries",
        RECONCILE_OUTCOMES.map((outcome) => metrics.reconciled(outcome)),
        { right: [metrics.reconcilerApiCalls, metrics.reconcilerAbandoned] },
      ),
      graph("Reconciler: how far behind, errors", reconcilerHealth),
    );
    const { events } = metrics;
    if (events) {
      this.dashboard.addWidgets(
        graph("Events published by detail type", [events.publishedByType], {
          right: [events.published],
        }),
        graph(
          "Commit to event latency (ms)",
          [events.latency("p50"), events.latency("p99"), events.latency("Maximum")],
          { right: [events.iteratorAge] },
        ),
        graph("Events failed", [events.refused, events.deadLetters], {
          right: [events.publisher.errors.with({ label: "publisher errors" })],
        }),
      );
    }
  }
}
