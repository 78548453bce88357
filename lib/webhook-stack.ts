/**
 * The standalone app's stack: the receiver construct (lib/webhook-receiver.ts) and the outputs the README and
 * the `aai-webhooks` command line read.
 */
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { apiKeySecretOutputKey } from "../functions/shared/contract/resources";
import type { WebhookStackConfig } from "./config";
import { AssemblyAiWebhookReceiver } from "./webhook-receiver";

export interface WebhookStackProps extends StackProps {
  readonly config: WebhookStackConfig;
}

export class WebhookStack extends Stack {
  readonly receiver: AssemblyAiWebhookReceiver;

  constructor(scope: Construct, id: string, props: WebhookStackProps) {
    super(scope, id, props);
    const { config } = props;
    // Id "Default": CDK leaves a construct of that id out of logical ids (and of construct addresses), so
    // every resource keeps the id it had when this stack held the parts itself; another id would rename,
    // hence replace, the deployed table, bucket and secrets.
    this.receiver = new AssemblyAiWebhookReceiver(this, "Default", config);
    const { receiver } = this;
    const { secrets, queue, receiverApi, monitoring } = receiver;

    const outputs: Record<string, [string, string]> = {
      WebhookUrl: [receiver.webhookUrl, "webhook_url for AssemblyAI; add ?customer_id=…&order_id=…"],
      AuthHeaderName: [config.authHeaderName, "webhook_auth_header_name for AssemblyAI"],
      AssemblyAiRegion: [
        config.assemblyAiRegion.join(","),
        config.assemblyAiRegion.length === 1
          ? "AssemblyAI region the worker fetches from (us or eu)"
          : "AssemblyAI regions the worker fetches from, the default first",
      ],
      WebhookSecretArn: [secrets.webhookSecret.secretArn, "Secret holding webhook_auth_header_value"],
      WebhookSecretCacheTtlSeconds: [
        String(receiverApi.secretCacheTtlSeconds),
        "How long a receiver keeps the webhook secret's values (rotate-secret waits for it)",
      ],
      ApiKeySecretArn: [secrets.apiKeySecret.secretArn, "Secret holding the AssemblyAI API key"],
      // Each further region's key (the first region's is ApiKeySecretArn, as on a single-region stack).
      ...Object.fromEntries(
        secrets.apiKeySecrets
          .slice(1)
          .map(({ region, secret }) => [
            apiKeySecretOutputKey(region),
            [secret.secretArn, `Secret holding the AssemblyAI API key of the ${region.toUpperCase()} region`],
          ]),
      ),
      TableName: [receiver.table.tableName, "DynamoDB table of transcript records"],
      BucketName: [receiver.bucket.bucketName, "S3 bucket of full transcripts and redacted audio"],
      UsageTableName: [receiver.store.usageTable.tableName, "DynamoDB table of usage per customer per day"],
      QueueUrl: [queue.queue.queueUrl, "Delivery queue URL"],
      QueueName: [queue.queue.queueName, "Delivery queue name"],
      DeadLetterQueueUrl: [receiver.deadLetterQueue.queueUrl, "Dead-letter queue URL"],
      DeadLetterQueueName: [receiver.deadLetterQueue.queueName, "Dead-letter queue name"],
      DashboardName: [monitoring.dashboard.dashboardName, "CloudWatch dashboard of the pipeline"],
      DashboardUrl: [monitoring.dashboardUrl, "CloudWatch dashboard in the AWS console"],
      EventBusName: [receiver.eventBus.eventBusName, "EventBridge bus the stack publishes its events to"],
      EventBusArn: [receiver.eventBus.eventBusArn, "ARN of the EventBridge bus of the stack's events"],
      EventSource: [config.eventSource, "source of the stack's events (what a rule matches)"],
      EventsDeadLetterQueueUrl: [
        receiver.eventsDeadLetterQueue.queueUrl,
        "Events EventBridge refused after the publisher's retries (aai-webhooks events redrive)",
      ],
      AlarmTopicArn: [receiver.alarmTopic.topicArn, "SNS topic every alarm notifies; subscribe to it"],
    };
    if (receiver.bucketKey) {
      outputs.BucketKeyArn = [receiver.bucketKey.keyArn, "KMS key of the bucket; readers need kms:Decrypt"];
    }
    for (const [name, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, name, { value, description });
    }
  }
}
