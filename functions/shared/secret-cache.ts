/**
 * A value loaded on first use and kept for a TTL, shared by concurrent callers. When a refresh fails and an
 * older value exists, the older value keeps serving (and the refresh is retried shortly) so that a brief
 * Secrets Manager outage does not turn into rejected deliveries.
 */
/** How soon a failed refresh is tried again, by default: the TTL, or 10 s when that is shorter. */
export function defaultRetryAfterFailureMs(ttlMs: number): number {
  return Math.min(ttlMs, 10_000);
}

export class CachedValue<T> {
  private value: T | undefined;
  private expiresAt = 0;
  private inFlight: Promise<T> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly retryAfterFailureMs: number = defaultRetryAfterFailureMs(ttlMs),
  ) {}

  async get(): Promise<T> {
    if (this.value !== undefined && this.now() < this.expiresAt) return this.value;
    this.inFlight ??= this.reload().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Forget the value, so the next `get` loads again (after a rotation, say). */
  invalidate(): void {
    this.expiresAt = 0;
  }

  private async reload(): Promise<T> {
    try {
      const value = await this.load();
      this.value = value;
      this.expiresAt = this.now() + this.ttlMs;
      return value;
    } catch (error) {
      if (this.value === undefined) throw error;
      this.expiresAt = this.now() + this.retryAfterFailureMs;
      return this.value;
    }
  }
}
