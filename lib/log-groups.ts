/**
 * Every log group the stack creates (function logs and the API's access logs), from one set of settings:
 * retention, what happens on stack deletion, and an optional customer-managed KMS key.
 */
import type { RemovalPolicy } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { acknowledgeControl } from "./compliance";

export interface LogGroupSettings {
  /** Days CloudWatch keeps the logs (a CloudWatch retention value). */
  readonly logRetentionDays: number;
  readonly logRemovalPolicy: RemovalPolicy;
  /**
   * A customer-managed key whose policy admits CloudWatch Logs (see `createLogsKey`).
   * @default - encrypted by CloudWatch Logs with its own keys
   */
  readonly logEncryptionKey?: kms.IKey;
}

/** One year: Control Tower's minimum retention (CT.CLOUDWATCH.PR.2). */
const CONTROL_TOWER_MIN_RETENTION_DAYS = 365;

export function createLogGroup(scope: Construct, id: string, settings: LogGroupSettings): logs.LogGroup {
  const logGroup = new logs.LogGroup(scope, id, {
    retention: settings.logRetentionDays as logs.RetentionDays,
    removalPolicy: settings.logRemovalPolicy,
    encryptionKey: settings.logEncryptionKey,
  });
  if (settings.logRetentionDays < CONTROL_TOWER_MIN_RETENTION_DAYS) {
    acknowledgeControl(logGroup, "CT.CLOUDWATCH.PR.2");
  }
  if (settings.logEncryptionKey === undefined) acknowledgeControl(logGroup, "CT.CLOUDWATCH.PR.3");
  return logGroup;
}
