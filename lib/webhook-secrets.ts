/**
 * The two secrets: the webhook auth header value (shared with AssemblyAI at submit time) and the AssemblyAI
 * API key (used by the worker). Each is created by the stack or taken from an existing secret; values
 * never pass through the template, an environment variable or an output.
 */
import { SecretValue, Validations } from "aws-cdk-lib";
import type * as iam from "aws-cdk-lib/aws-iam";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { API_KEY_PLACEHOLDER_PREFIX } from "../functions/shared/env";

export interface WebhookSecretsProps {
  /** ARN of an existing webhook secret. @default - generated */
  readonly webhookSecretArn?: string;
  /** Name or ARN of an existing AssemblyAI API key secret. @default - a placeholder to fill in */
  readonly apiKeySecret?: string;
}

export class WebhookSecrets extends Construct {
  readonly webhookSecret: secretsmanager.ISecret;
  readonly apiKeySecret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: WebhookSecretsProps) {
    super(scope, id);

    if (props.webhookSecretArn) {
      this.webhookSecret = secretsmanager.Secret.fromSecretCompleteArn(
        this,
        "WebhookSecret",
        props.webhookSecretArn,
      );
    } else {
      const secret = new secretsmanager.Secret(this, "WebhookSecret", {
        description: "AssemblyAI webhook auth header value (webhook_auth_header_value)",
        // Letters and digits only: it travels in an HTTP header and is pasted into shells.
        generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
      });
      Validations.of(secret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "The value is handed to AssemblyAI with each job at submit time, so an automatic rotation would " +
          "break jobs in flight. Rotate by hand (README, Operating): the receiver accepts the current and " +
          "the previous version, so nothing in flight is lost.",
      });
      this.webhookSecret = secret;
    }

    if (props.apiKeySecret) {
      this.apiKeySecret = props.apiKeySecret.startsWith("arn:")
        ? secretsmanager.Secret.fromSecretCompleteArn(this, "ApiKeySecret", props.apiKeySecret)
        : secretsmanager.Secret.fromSecretNameV2(this, "ApiKeySecret", props.apiKeySecret);
    } else {
      const secret = new secretsmanager.Secret(this, "ApiKeySecret", {
        description: "AssemblyAI API key used by the transcript worker; set it after deploying",
        // Not a secret: a marker the worker recognises, so it retries instead of failing jobs until set.
        secretStringValue: SecretValue.unsafePlainText(
          `${API_KEY_PLACEHOLDER_PREFIX}: set the AssemblyAI API key (README, Deploy)`,
        ),
      });
      Validations.of(secret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "AssemblyAI API keys are issued in AssemblyAI's dashboard; Secrets Manager cannot rotate them. " +
          "Replace the value with put-secret-value when the key changes.",
      });
      this.apiKeySecret = secret;
    }
  }

  grantReadWebhookSecret(grantee: iam.IGrantable): void {
    this.webhookSecret.grantRead(grantee);
  }

  grantReadApiKey(grantee: iam.IGrantable): void {
    this.apiKeySecret.grantRead(grantee);
  }
}
