/**
 * The AWS Control Tower proactive controls this stack does not meet, each with its reason in one place. The
 * infrastructure tests run every control through CDK's policy validation (`@cdklabs/cdk-validator-cfnguard`,
 * test/infra/compliance.test.ts); a construct that does not meet one acknowledges it here, by control id,
 * so the finding is reported as acknowledged with this reason and any other finding fails the tests. The
 * README's "Compliance checks" section lists the same controls.
 */
import { Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/** The name the validator reports under; CDK prefixes acknowledged rule ids with it. */
export const CONTROL_TOWER_PLUGIN = "cdk-validator-cfnguard";

interface UnmetControl {
  /** The cfn-guard rule that checks the control, as the validator names its findings. */
  readonly rule: string;
  readonly reason: string;
}

export const UNMET_CONTROLS = {
  "CT.APIGATEWAY.PR.5": {
    rule: "api_gw_v2_authorization_type_configured_check",
    reason:
      "AssemblyAI can only send a static header, so the receiver authenticates every delivery itself (the " +
      "secret header, compared in constant time); IAM and JWT are not something AssemblyAI can do, and a " +
      "Lambda authorizer would be a second invocation per delivery for the same check.",
  },
  "CT.LAMBDA.PR.2": {
    rule: "lambda_function_public_access_prohibited_check",
    reason:
      "Only API Gateway may invoke the receiver, and only from this API: SourceArn is this API's execute-api " +
      "ARN. The rule reads SourceArn only as a literal or a Ref/GetAtt, not the Fn::Join CloudFormation needs " +
      "to build that ARN.",
  },
  "CT.LAMBDA.PR.3": {
    rule: "lambda_inside_vpc_check",
    reason:
      "The functions reach only AWS APIs (over TLS, with IAM) and AssemblyAI's public API, and nothing reaches " +
      "them but their triggers; a VPC would need NAT gateways (about $32 a month each) or interface endpoints " +
      "and would protect nothing this stack holds.",
  },
  "CT.S3.PR.2": {
    rule: "s3_bucket_logging_enabled_check",
    reason:
      "Only this stack's roles write to the bucket and every read goes through IAM; CloudTrail S3 data events " +
      "audit each principal's access without a second bucket of server access logs (cdk-nag's AwsSolutions-S1 " +
      "is acknowledged for the same reason).",
  },
  "CT.S3.PR.9": {
    rule: "s3_bucket_object_lock_enabled_check",
    reason:
      "Transcripts must stay deletable: expiry rules and erasure requests delete them, and the reconciler " +
      "overwrites its checkpoint every run. Versioning, point-in-time recovery on the table and the retained " +
      "bucket already guard against accidental loss.",
  },
  "CT.S3.PR.11": {
    rule: "s3_bucket_versioning_enabled_check",
    reason:
      "Only with removalPolicy=destroy, which is for stacks you throw away: the bucket is emptied and deleted " +
      "with the stack, and unversioned it empties at once. The default (retain) versions the bucket.",
  },
  "CT.S3.PR.10": {
    rule: "s3_bucket_default_encryption_kms_check",
    reason:
      "Only while bucketKmsKey is false (the default): objects are encrypted with S3-managed keys at no cost. " +
      "bucketKmsKey=true encrypts them with a customer-managed KMS key instead ($1 a month plus requests).",
  },
  "CT.CLOUDWATCH.PR.2": {
    rule: "cloudwatch_log_group_retention_period_check",
    reason:
      "Only while logRetentionDays is below 365 (the default is 30): the logs are operational, and the " +
      "records and transcripts live in DynamoDB and S3. logRetentionDays=365 or more meets the control.",
  },
  "CT.CLOUDWATCH.PR.3": {
    rule: "cloudwatch_log_group_encrypted_check",
    reason:
      "Only while logsKmsKey is false (the default): CloudWatch Logs encrypts the logs with its own keys at no " +
      "cost. logsKmsKey=true encrypts them with a customer-managed KMS key instead ($1 a month plus requests).",
  },
} as const satisfies Record<string, UnmetControl>;

export type UnmetControlId = keyof typeof UNMET_CONTROLS;

/** Records that `scope` (and everything below it) does not meet `control`, with the control's reason. */
export function acknowledgeControl(scope: IConstruct, control: UnmetControlId): void {
  const { rule, reason } = UNMET_CONTROLS[control];
  Validations.of(scope).acknowledge({
    id: `${CONTROL_TOWER_PLUGIN}::${rule}`,
    reason: `${control}: ${reason}`,
  });
}
