/**
 * The two secrets: the webhook auth header value (shared with AssemblyAI at submit time) and the AssemblyAI
 * API key (used by the worker). Each is created by the stack or taken from an existing secret; values
 * never pass through the template, an environment variable or an output.
 */
import { type RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";

export interface WebhookSecretsProps {
  /** Complete ARN of an existing webhook secret. @default - generated */
  readonly webhookSecretArn?: string;
  /**
   * Name or complete ARN of an existing AssemblyAI API key secret.
   * @default - a secret without a value, to be set after deploying
   */
  readonly apiKeySecret?: string;
  /**
   * Customer-managed KMS key the imported secrets are encrypted with; readers get `kms:Decrypt` on it
   * through Secrets Manager only. @default - the AWS managed key, which needs no grant
   */
  readonly importedSecretsKeyArn?: string;
  /** What happens to the secrets this construct creates when the stack is deleted (imported ones stay). */
  readonly removalPolicy: RemovalPolicy;
}

export class WebhookSecrets extends Construct {
  readonly webhookSecret: secretsmanager.ISecret;
  readonly apiKeySecret: secretsmanager.ISecret;
  private readonly importedSecretsKeyArn?: string;
  private readonly webhookSecretImported: boolean;
  private readonly apiKeySecretImported: boolean;

  constructor(scope: Construct, id: string, props: WebhookSecretsProps) {
    super(scope, id);
    this.importedSecretsKeyArn = props.importedSecretsKeyArn;
    this.webhookSecretImported = props.webhookSecretArn !== undefined;
    this.apiKeySecretImported = props.apiKeySecret !== undefined;

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
        removalPolicy: props.removalPolicy,
      });
      Validations.of(secret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "The value is handed to AssemblyAI with each job at submit time, so an automatic rotation would " +
          "break jobs in flight. Rotate with aai-webhooks rotate-secret (README, Operating): it stages the " +
          "new value until every receiver accepts it, and the receiver keeps accepting the previous one.",
      });
      this.webhookSecret = secret;
    }

    if (props.apiKeySecret) {
      // A name is granted as `name-??????`, the suffix Secrets Manager appends to it in the ARN.
      this.apiKeySecret = props.apiKeySecret.startsWith("arn:")
        ? secretsmanager.Secret.fromSecretCompleteArn(this, "ApiKeySecret", props.apiKeySecret)
        : secretsmanager.Secret.fromSecretNameV2(this, "ApiKeySecret", props.apiKeySecret);
    } else {
      const secret = new secretsmanager.Secret(this, "ApiKeySecret", {
        description: "AssemblyAI API key used by the transcript worker; set it after deploying",
        removalPolicy: props.removalPolicy,
      });
      // No SecretString or GenerateSecretString at all: CloudFormation writes a new version whenever either
      // changes, so only a secret created without a value can never have a key set later overwritten by a
      // deploy. The worker treats "no value yet" as the placeholder (functions/shared/secrets.ts).
      (secret.node.defaultChild as secretsmanager.CfnSecret).addPropertyDeletionOverride(
        "GenerateSecretString",
      );
      Validations.of(secret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "AssemblyAI API keys are issued in AssemblyAI's dashboard; Secrets Manager cannot rotate them. " +
          "Replace the value with aai-webhooks set-api-key when the key changes.",
      });
      this.apiKeySecret = secret;
    }
  }

  /** Read access to the webhook secret; returns its ARN, the grantee's reference to it. */
  grantReadWebhookSecret(grantee: iam.IGrantable): string {
    this.webhookSecret.grantRead(grantee);
    if (this.webhookSecretImported) this.grantDecryptImported(grantee);
    return this.webhookSecret.secretArn;
  }

  /** Read access to the API key secret; returns its ARN, the grantee's reference to it. */
  grantReadApiKey(grantee: iam.IGrantable): string {
    this.apiKeySecret.grantRead(grantee);
    if (this.apiKeySecretImported) this.grantDecryptImported(grantee);
    return this.apiKeySecret.secretArn;
  }

  /**
   * kms:Decrypt on the imported secrets' key, and only as Secrets Manager in this region uses it on the
   * grantee's behalf (kms:ViaService): the role cannot decrypt anything else with the key. Stated here
   * rather than through CDK's key grant, which adds nothing for a key imported into an env-agnostic stack.
   */
  private grantDecryptImported(grantee: iam.IGrantable): void {
    if (this.importedSecretsKeyArn === undefined) return;
    iam.Grant.addToPrincipal({
      grantee,
      actions: ["kms:Decrypt"],
      resourceArns: [this.importedSecretsKeyArn],
      conditions: {
        StringEquals: { "kms:ViaService": `secretsmanager.${Stack.of(this).region}.amazonaws.com` },
      },
    });
  }
}
