/**
 * The durable hand-off between receiver and worker: an encrypted, TLS-only SQS queue whose exhausted
 * records move to an encrypted, TLS-only dead-letter queue kept for 14 days.
 */
import { Duration, Validations } from "aws-cdk-lib";
import type * as iam from "aws-cdk-lib/aws-iam";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { DEAD_LETTER_QUEUE, DELIVERY_QUEUE } from "../functions/shared/contract/resources";

export class DeliveryQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(DEAD_LETTER_QUEUE.retentionSeconds),
      // Declares it a dead-letter queue (Control Tower's CT.SQS.PR.1). allowAll is SQS's default: byQueue
      // would have to name the delivery queue, whose redrive policy names this one, a circular reference.
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: "Serverless-SQSRedrivePolicy",
      reason: "This queue is the dead-letter queue itself; operators inspect its records and redrive them.",
    });

    this.queue = new sqs.Queue(this, "Queue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(DELIVERY_QUEUE.retentionSeconds),
      visibilityTimeout: Duration.seconds(DELIVERY_QUEUE.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: DELIVERY_QUEUE.maxReceiveCount },
    });
  }

  /**
   * SendMessage (and the attribute reads the SDK may make) on the main queue only; returns the queue URL,
   * the grantee's reference to it.
   */
  grantSend(grantee: iam.IGrantable): string {
    this.queue.grantSendMessages(grantee);
    return this.queue.queueUrl;
  }
}
