/**
 * The receiver's SDK retry strategy: every request gets its attempts, whatever other requests did.
 *
 * The SDK's standard strategy keeps one retry quota per client (500 tokens, 14 per retry, refilled by one
 * per success), so after about 35 failed retries in a row it stops retrying for every later request until
 * some 500 successes have refilled it. For a client that serves many requests at once (the local stack) or
 * that lived through an SQS blip (a warm Lambda instance), that turns "3 attempts" into one, and each
 * delivery that could have been queued by a retry gets a 503 instead. The receiver needs no quota: an
 * instance serves one request at a time, attempts are capped per request, and the enqueue deadline caps
 * their time. Which errors are retryable is still the SDK's call (its errorType); only the quota is gone.
 */
import type { RetryErrorInfo, RetryStrategyV2, StandardRetryToken } from "@smithy/types";

/** The SDK's standard backoff: full jitter over 50 ms x 2^n before retry n (n from 0). */
export const RETRY_BACKOFF_BASE_MS = 50;

class AttemptToken implements StandardRetryToken {
  constructor(
    private readonly retries: number,
    private readonly delayMs: number,
  ) {}
  getRetryCount(): number {
    return this.retries;
  }
  getRetryDelay(): number {
    return this.delayMs;
  }
  getRetryCost(): number | undefined {
    return undefined;
  }
}

export class PerRequestRetryStrategy implements RetryStrategyV2 {
  readonly mode = "standard";

  constructor(
    private readonly maxAttempts: number,
    private readonly random: () => number = Math.random,
  ) {}

  async acquireInitialRetryToken(): Promise<StandardRetryToken> {
    return new AttemptToken(0, 0);
  }

  async refreshRetryTokenForRetry(
    token: StandardRetryToken,
    errorInfo: RetryErrorInfo,
  ): Promise<StandardRetryToken> {
    const retries = token.getRetryCount();
    const retryable = errorInfo.errorType === "TRANSIENT" || errorInfo.errorType === "THROTTLING";
    if (!retryable || retries + 1 >= this.maxAttempts) throw new Error("No retry token available");
    return new AttemptToken(retries + 1, Math.floor(this.random() * RETRY_BACKOFF_BASE_MS * 2 ** retries));
  }

  recordSuccess(): void {
    // No quota to refill.
  }
}
