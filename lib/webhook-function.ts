/**
 * A Lambda function as this project deploys every function: Node.js 24 on arm64, bundled by
 * `lib/bundling.ts` (at synth, or beforehand into the package: `lib/function-code.ts`), X-Ray active unless
 * turned off, its own log group with a retention, and a role that may write to that log group and nothing
 * else until a construct grants it more (no AWSLambdaBasicExecutionRole wildcard).
 */
import { type Duration, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { type FunctionName, HANDLER } from "./bundling";
import { acknowledgeControl } from "./compliance";
import { functionCode } from "./function-code";
import { createLogGroup, type LogGroupSettings } from "./log-groups";

export interface WebhookFunctionProps extends LogGroupSettings {
  /** Which entry of `FUNCTION_ENTRIES` to bundle. */
  readonly entry: FunctionName;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  /**
   * X-Ray active tracing. It grants the role xray:PutTraceSegments and xray:PutTelemetryRecords, which
   * take no resource (a wildcard), so a function with nothing to trace turns it off.
   * @default true
   */
  readonly activeTracing?: boolean;
}

export class WebhookFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  private environmentSet = false;

  constructor(scope: Construct, id: string, props: WebhookFunctionProps) {
    super(scope, id);
    const activeTracing = props.activeTracing ?? true;

    this.logGroup = createLogGroup(this, "Logs", props);
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `${props.description} (execution role)`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new lambda.Function(this, "Function", {
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: HANDLER,
      code: functionCode(props.entry),
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: activeTracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
    });
    if (activeTracing) {
      Validations.of(this.role).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which support no " +
          "resource-level permissions; every other statement on this role names its resource.",
      });
    }
    acknowledgeControl(this.function, "CT.LAMBDA.PR.3");
  }

  /**
   * Sets the function's whole environment, once: built by the function's definition in
   * functions/shared/contract/environment.ts from the references its grants returned, so that no variable
   * is set apart from that definition (the local stack builds its environments with the same one).
   */
  setEnvironment(environment: Readonly<Record<string, string>>): void {
    if (this.environmentSet) throw new Error(`${this.node.path}: the environment is set once`);
    this.environmentSet = true;
    for (const [name, value] of Object.entries(environment)) this.function.addEnvironment(name, value);
  }
}
