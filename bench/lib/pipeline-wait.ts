/**
 * The pipeline run's wait for its deliveries to be stored: progress lines while it waits, and an end as soon
 * as no more can be stored (every webhook settled at the simulator and the queue empty) rather than at the
 * deadline, so a run whose webhooks ran out of attempts says so instead of idling for minutes.
 */
import type { DeliveryAttempt } from "../../local/simulator";

export interface PipelineProbe {
  /** The simulator's webhook attempts so far, oldest first (`Simulator.deliveries`). */
  readonly deliveries: readonly DeliveryAttempt[];
  /** Orders stored so far. */
  stored(): number;
  /** Messages on the delivery queue, visible or in flight. */
  queueDepth(): Promise<number>;
  /** Messages the worker has been handed so far. */
  polled(): number;
}

export interface PipelineWaitOptions {
  /** Transcripts submitted, each with one webhook. */
  readonly transcripts: number;
  readonly deadlineMs: number;
  readonly say: (line: string) => void;
  /** @default 5000 */
  readonly progressEveryMs?: number;
  /** How often the queue is looked at once every webhook has settled. @default 1000 */
  readonly queueCheckEveryMs?: number;
}

/** The webhook attempts, tallied. */
export interface WebhookTally {
  readonly attempts: number;
  /** Attempts that got no answer within the simulator's timeout. */
  readonly timedOut: number;
  /** Transcripts whose webhook was answered with a 2xx. */
  readonly delivered: number;
  /** Transcripts whose webhook ran out of attempts or got a 4xx: never to be queued by the pipeline. */
  readonly failed: number;
}

export type PipelineEnd =
  | { readonly reason: "stored"; readonly webhooks: WebhookTally }
  | { readonly reason: "exhausted"; readonly webhooks: WebhookTally }
  | { readonly reason: "deadline"; readonly webhooks: WebhookTally };

/** Tallies attempts as they are appended; `update` reads only the new ones. */
export class WebhookCounter {
  private seen = 0;
  private attempts = 0;
  private timedOut = 0;
  private readonly final = new Map<string, "delivered" | "failed">();

  update(deliveries: readonly DeliveryAttempt[]): WebhookTally {
    for (; this.seen < deliveries.length; this.seen++) {
      const attempt = deliveries[this.seen] as DeliveryAttempt;
      if (attempt.kind !== "transcript") continue;
      this.attempts++;
      if (attempt.error?.startsWith("timeout")) this.timedOut++;
      if (attempt.outcome !== "retrying") this.final.set(attempt.transcriptId, attempt.outcome);
    }
    let delivered = 0;
    for (const outcome of this.final.values()) if (outcome === "delivered") delivered++;
    return {
      attempts: this.attempts,
      timedOut: this.timedOut,
      delivered,
      failed: this.final.size - delivered,
    };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves when every transcript is stored, when nothing more can be (all webhooks settled and the queue
 * empty on two checks in a row), or at the deadline; says what it is waiting on every `progressEveryMs`.
 */
export async function waitForPipeline(
  probe: PipelineProbe,
  options: PipelineWaitOptions,
): Promise<PipelineEnd> {
  const counter = new WebhookCounter();
  const deadline = Date.now() + options.deadlineMs;
  const progressEveryMs = options.progressEveryMs ?? 5_000;
  const queueCheckEveryMs = options.queueCheckEveryMs ?? 1_000;
  let nextProgress = Date.now() + progressEveryMs;
  let nextQueueCheck = 0;
  let emptyChecks = 0;
  let warnedTimeouts = false;
  for (;;) {
    const webhooks = counter.update(probe.deliveries);
    if (probe.stored() >= options.transcripts) return { reason: "stored", webhooks };
    if (Date.now() >= deadline) return { reason: "deadline", webhooks };
    if (!warnedTimeouts && webhooks.timedOut > 0) {
      warnedTimeouts = true;
      options.say(
        "warning: webhook attempts are timing out: the receiver's backlog outlasts the simulator's webhook " +
          "timeout (the emulator serves fewer deliveries per second than offered); retries add load",
      );
    }
    if (Date.now() >= nextProgress) {
      nextProgress = Date.now() + progressEveryMs;
      options.say(
        `${webhooks.attempts} webhook attempts (${webhooks.timedOut} timed out), ` +
          `${webhooks.delivered} delivered, ${webhooks.failed} failed for good, ${probe.polled()} polled, ` +
          `${probe.stored()} of ${options.transcripts} stored`,
      );
    }
    const settled = webhooks.delivered + webhooks.failed >= options.transcripts;
    if (settled && Date.now() >= nextQueueCheck) {
      nextQueueCheck = Date.now() + queueCheckEveryMs;
      emptyChecks = (await probe.queueDepth()) === 0 ? emptyChecks + 1 : 0;
      if (emptyChecks >= 2 && probe.stored() < options.transcripts) return { reason: "exhausted", webhooks };
    }
    await sleep(50);
  }
}
