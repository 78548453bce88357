/**
 * The secrets: the webhook auth header value (shared with AssemblyAI at submit time) and the AssemblyAI API
 * key of each configured region (used by the worker and the reconciler). Each is created by the stack or
 * taken from an existing secret; values never pass through the template, an environment variable or an
 * output. The first region's key keeps the construct id it always had (`ApiKeySecret`), so a stack that
 * adds a region keeps its key; each further region's is `ApiKeySecret<Region>`.
 */
import { type RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { ASSEMBLYAI_BASE_URLS, type AssemblyAiRegion } from "../functions/shared/assemblyai";
import type { AssemblyAiRegionRef } from "../functions/shared/contract/environment";

export interface WebhookSecretsProps {
  /** Complete ARN of an existing webhook secret. @default - generated */
  readonly webhookSecretArn?: string;
  /**
   * The AssemblyAI regions, the first being the default; one API key secret each.
   * @default ["us"]
   */
  readonly regions?: readonly [AssemblyAiRegion, ...AssemblyAiRegion[]];
  /**
   * Name or complete ARN of an existing AssemblyAI API key secret, per region (a region left out gets a
   * secret without a value, to be set after deploying).
   * @default - a secret without a value for every region
   */
  readonly apiKeySecrets?: Readonly<Partial<Record<AssemblyAiRegion, string>>>;
  /**
   * Customer-managed KMS key the imported secrets are encrypted with; readers get `kms:Decrypt` on it
   * through Secrets Manager only. @default - the AWS managed key, which needs no grant
   */
  readonly importedSecretsKeyArn?: string;
  /** What happens to the secrets this construct creates when the stack is deleted (imported ones stay). */
  readonly removalPolicy: RemovalPolicy;
}

/** One region's API key secret, and whether it was imported (its readers may need the imported key's grant). */
export interface ApiKeySecret {
  readonly region: AssemblyAiRegion;
  readonly secret: secretsmanager.ISecret;
  readonly imported: boolean;
}

export class WebhookSecrets extends Construct {
  readonly webhookSecret: secretsmanager.ISecret;
  /** The first (or only) region's API key secret. */
  readonly apiKeySecret: secretsmanager.ISecret;
  /** Every region's, the first region's first. */
  readonly apiKeySecrets: readonly [ApiKeySecret, ...ApiKeySecret[]];
  private readonly importedSecretsKeyArn?: string;
  private readonly webhookSecretImported: boolean;

  constructor(scope: Construct, id: string, props: WebhookSecretsProps) {
    super(scope, id);
    this.importedSecretsKeyArn = props.importedSecretsKeyArn;
    this.webhookSecretImported = props.webhookSecretArn !== undefined;

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

    const regions = props.regions ?? ["us"];
    this.apiKeySecrets = regions.map((region, index) => {
      const existing = props.apiKeySecrets?.[region];
      return {
        region,
        secret: this.apiKeySecretFor(region, index === 0, existing, props.removalPolicy),
        imported: existing !== undefined,
      };
    }) as [ApiKeySecret, ...ApiKeySecret[]];
    this.apiKeySecret = this.apiKeySecrets[0].secret;
  }

  private apiKeySecretFor(
    region: AssemblyAiRegion,
    first: boolean,
    existing: string | undefined,
    removalPolicy: RemovalPolicy,
  ): secretsmanager.ISecret {
    const id = first ? "ApiKeySecret" : `ApiKeySecret${region.charAt(0).toUpperCase()}${region.slice(1)}`;
    if (existing) {
      // A name is granted as `name-??????`, the suffix Secrets Manager appends to it in the ARN.
      return existing.startsWith("arn:")
        ? secretsmanager.Secret.fromSecretCompleteArn(this, id, existing)
        : secretsmanager.Secret.fromSecretNameV2(this, id, existing);
    }
    const secret = new secretsmanager.Secret(this, id, {
      // The first region's description is the one it always had: a changed one would update the secret.
      description: first
        ? "AssemblyAI API key used by the transcript worker; set it after deploying"
        : `AssemblyAI API key for the ${region.toUpperCase()} region, used by the transcript worker; ` +
          `set it after deploying (aai-webhooks set-api-key --assemblyai-region ${region})`,
      removalPolicy,
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
    return secret;
  }

  /** Read access to the webhook secret; returns its ARN, the grantee's reference to it. */
  grantReadWebhookSecret(grantee: iam.IGrantable): string {
    this.webhookSecret.grantRead(grantee);
    if (this.webhookSecretImported) this.grantDecryptImported(grantee);
    return this.webhookSecret.secretArn;
  }

  /**
   * Read access to every region's API key secret; returns each region's ARN, the grantee's reference to it,
   * the first region's first.
   */
  grantReadApiKeys(
    grantee: iam.IGrantable,
  ): readonly [
    { readonly region: AssemblyAiRegion; readonly secretArn: string },
    ...{ readonly region: AssemblyAiRegion; readonly secretArn: string }[],
  ] {
    const arns = this.apiKeySecrets.map(({ region, secret }) => {
      secret.grantRead(grantee);
      return { region, secretArn: secret.secretArn };
    }) as [
      { region: AssemblyAiRegion; secretArn: string },
      ...{ region: AssemblyAiRegion; secretArn: string }[],
    ];
    if (this.apiKeySecrets.some((entry) => entry.imported)) this.grantDecryptImported(grantee);
    return arns;
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

/** The functions' references to each region: its public API and the ARN its key's grant returned. */
export function assemblyAiRegionRefs(
  grants: readonly [
    { readonly region: AssemblyAiRegion; readonly secretArn: string },
    ...{ readonly region: AssemblyAiRegion; readonly secretArn: string }[],
  ],
): [AssemblyAiRegionRef, ...AssemblyAiRegionRef[]] {
  return grants.map(({ region, secretArn }) => ({
    region,
    baseUrl: ASSEMBLYAI_BASE_URLS[region],
    apiKeySecretArn: secretArn,
  })) as [AssemblyAiRegionRef, ...AssemblyAiRegionRef[]];
}
