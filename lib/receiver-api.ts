/**
 * The public edge: an HTTP API with `POST /webhook` in front of the receiver function, throttled at the
 * stage and access-logged as JSON. The receiver authenticates, validates and queues each delivery.
 */
import { Duration, Stack, Validations } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as cw from "aws-cdk-lib/aws-cloudwatch";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import {
  DEFAULT_SECRET_CACHE_TTL_SECONDS,
  receiverEnvironment,
} from "../functions/shared/contract/environment";
import { RECEIVER_TIMEOUT_SECONDS, WEBHOOK_PATH } from "../functions/shared/contract/resources";
import { METRICS_NAMESPACE, STACK_DIMENSION } from "../functions/shared/log-event";
import {
  ACCESS_LOG_STACK_FIELD,
  accessLogFormat,
  THROTTLED_REQUESTS_METRIC,
  THROTTLED_STATUS,
} from "./access-log";
import { acknowledgeControl } from "./compliance";
import type { DeliveryQueue } from "./delivery-queue";
import { createLogGroup, type LogGroupSettings } from "./log-groups";
import type { TranscriptStore } from "./transcript-store";
import { WebhookFunction } from "./webhook-function";
import type { WebhookSecrets } from "./webhook-secrets";

/** The log settings apply to the receiver's logs and the API's access logs alike. */
export interface ReceiverApiProps extends LogGroupSettings {
  readonly queue: DeliveryQueue;
  /** The receiver writes claim checks (messages too large for SQS) to its inbox prefix. */
  readonly store: TranscriptStore;
  readonly secrets: WebhookSecrets;
  readonly authHeaderName: string;
  readonly allowedSourceIps: readonly string[];
  readonly redactedAudioHosts: readonly string[];
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  readonly memorySize: number;
}

export class ReceiverApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly receiver: WebhookFunction;
  readonly accessLogs: logs.LogGroup;
  /** The URL to give AssemblyAI as `webhook_url` (add `?customer_id=…&order_id=…`). */
  readonly webhookUrl: string;
  /** How long the receiver caches the webhook secret: set explicitly so the stack can output it. */
  readonly secretCacheTtlSeconds = DEFAULT_SECRET_CACHE_TTL_SECONDS;

  constructor(scope: Construct, id: string, props: ReceiverApiProps) {
    super(scope, id);

    this.receiver = new WebhookFunction(this, "Receiver", {
      entry: "receiver",
      description: "Authenticates, validates and queues AssemblyAI webhook deliveries",
      memorySize: props.memorySize,
      timeout: Duration.seconds(RECEIVER_TIMEOUT_SECONDS),
      // Nothing to trace: two AWS calls whose latency its log line holds, behind an HTTP API (no X-Ray).
      activeTracing: false,
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
      logEncryptionKey: props.logEncryptionKey,
    });
    // Each reference comes from the grant that lets the receiver use it; the receiver gets nothing else.
    this.receiver.setEnvironment(
      receiverEnvironment(
        {
          stackName: Stack.of(this).stackName,
          queueUrl: props.queue.grantSend(this.receiver.role),
          webhookSecretArn: props.secrets.grantReadWebhookSecret(this.receiver.role),
          ...props.store.bindReceiver(this.receiver),
        },
        {
          authHeaderName: props.authHeaderName,
          allowedSourceIps: props.allowedSourceIps,
          redactedAudioHosts: props.redactedAudioHosts,
          secretCacheTtlSeconds: this.secretCacheTtlSeconds,
        },
      ),
    );
    Validations.of(this.receiver.function).acknowledge({
      id: "Serverless-LambdaTracing",
      reason:
        "The receiver makes two AWS calls per delivery (a cached Secrets Manager read and an SQS send) and " +
        "logs its latency on the delivery's log line; HTTP APIs pass no X-Ray trace to continue, and active " +
        "tracing would need an xray:* wildcard on the role of the function the internet reaches.",
    });
    Validations.of(this.receiver.function).acknowledge({
      id: "Serverless-LambdaDLQ",
      reason:
        "Invoked synchronously by API Gateway: a failure answers 5xx and AssemblyAI retries; a function " +
        "dead-letter queue only catches asynchronous invocations.",
    });

    const integration = new HttpLambdaIntegration("ReceiverIntegration", this.receiver.function, {
      payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
    });
    this.api = new apigw.HttpApi(this, "HttpApi", {
      description: "AssemblyAI webhook receiver",
      createDefaultStage: false,
      // Every other path and method reaches the receiver too, so that it answers them with the same JSON
      // errors (404, 405) as everything else instead of API Gateway's bare {"message":"Not Found"}.
      defaultIntegration: integration,
    });
    this.api.addRoutes({ path: WEBHOOK_PATH, methods: [apigw.HttpMethod.POST], integration });
    Validations.of(this.api).acknowledge({
      id: "AwsSolutions-APIG4",
      reason:
        "AssemblyAI can only send a static custom header; the receiver checks it against Secrets Manager in " +
        "constant time (an authorizer would add a second invocation per delivery for the same check).",
    });
    // The same choice in Control Tower's terms, for the routes and their invoke permissions below the API.
    acknowledgeControl(this.api, "CT.APIGATEWAY.PR.5");
    acknowledgeControl(this.api, "CT.LAMBDA.PR.2");

    this.accessLogs = createLogGroup(this, "AccessLogs", props);
    const stage = new apigw.HttpStage(this, "Stage", {
      httpApi: this.api,
      stageName: "$default",
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit, burstLimit: props.throttleBurstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(accessLogFormat(Stack.of(this).stackName)),
      },
    });
    // HTTP APIs publish no throttle metric: count the access-log lines of throttled requests instead.
    this.accessLogs.addMetricFilter("ThrottledRequests", {
      // The format writes every variable inside quotes, so the status is a string.
      filterPattern: logs.FilterPattern.stringValue("$.status", "=", String(THROTTLED_STATUS)),
      metricNamespace: METRICS_NAMESPACE,
      metricName: THROTTLED_REQUESTS_METRIC,
      metricValue: "1",
      unit: cw.Unit.COUNT,
      // From the line's literal stack field, like every custom metric's Stack dimension. No default value:
      // CloudWatch refuses one on a filter with dimensions (and no line means nothing was throttled).
      dimensions: { [STACK_DIMENSION]: `$.${ACCESS_LOG_STACK_FIELD}` },
    });
    this.webhookUrl = `${stage.url.replace(/\/$/, "")}${WEBHOOK_PATH}`;
  }
}
