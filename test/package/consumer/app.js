/**
 * A package consumer's CDK app, plain CommonJS as test/package/package.test.ts installs it beside only
 * aws-cdk-lib, constructs and cdk-nag: the receiver from the packed tarball, and the consumer's own function,
 * run for every transcript stored for customer "acme" and allowed to read it. `node app.js` synthesizes it
 * (into CDK_OUTDIR) with cdk-nag's AwsSolutions pack registered.
 */
const { App, Stack, Validations } = require("aws-cdk-lib");
const events = require("aws-cdk-lib/aws-events");
const targets = require("aws-cdk-lib/aws-events-targets");
const iam = require("aws-cdk-lib/aws-iam");
const lambda = require("aws-cdk-lib/aws-lambda");
const logs = require("aws-cdk-lib/aws-logs");
const { AwsSolutionsChecks } = require("cdk-nag");
const { AssemblyAiWebhookReceiver } = require("assemblyai-webhook-receiver");

function consumerApp() {
  const app = new App();
  const stack = new Stack(app, "Consumer");
  const receiver = new AssemblyAiWebhookReceiver(stack, "Webhooks");

  // Its own log group and role, the role allowed to write that log group and (below) to read the records:
  // no managed policy (AwsSolutions-IAM4), no wildcard of its own (AwsSolutions-IAM5).
  const logGroup = new logs.LogGroup(stack, "IndexerLogs", { retention: logs.RetentionDays.ONE_MONTH });
  const role = new iam.Role(stack, "IndexerRole", {
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
      resources: [logGroup.logGroupArn],
    }),
  );
  const indexer = new lambda.Function(stack, "Indexer", {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: "index.handler",
    code: lambda.Code.fromInline(
      "exports.handler = async (event) => console.log(event.detail.customer_id, event.detail.order_id);",
    ),
    role,
    logGroup,
  });

  new events.Rule(stack, "TranscriptStored", {
    eventBus: receiver.eventBus,
    eventPattern: { detailType: ["Transcript Stored"], detail: { customer_id: ["acme"] } },
    targets: [new targets.LambdaFunction(indexer)],
  });
  receiver.grantReadTranscripts(indexer);

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

module.exports = { consumerApp };

if (require.main === module) consumerApp().app.synth();
