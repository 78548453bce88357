#!/usr/bin/env node
/** CDK app entry: configuration from context, the stack, and cdk-nag's AwsSolutions and Serverless packs. */
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { ConfigError, configFromContext } from "../lib/config";
import { WebhookStack } from "../lib/webhook-stack";

const app = new App();
let config: ReturnType<typeof configFromContext>;
try {
  config = configFromContext((key) => app.node.tryGetContext(key));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`Configuration error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
const stackName = (app.node.tryGetContext("stackName") as string | undefined) ?? "AssemblyAiWebhooks";

new WebhookStack(app, stackName, {
  config,
  description: "AssemblyAI transcript webhook receiver: HTTP API, SQS, Lambda, DynamoDB, S3",
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
