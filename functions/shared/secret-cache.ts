/**
 * A value loaded on first use and kept for a TTL, shared by concurrent callers. When a refresh fails and an
 * older value exists, the older value keeps serving (and the refresh is retried shortly) so that a brief
 * Secrets Manager outage does not turn into rejected deliveries.
 */
export class CachedValue<T> {
  private value: T | undefined;
  private expiresAt = 0;
  /** When the last load started, successful or not: bounds on-demand reloads. */
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<T> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly retryAfterFailureMs: number = Math.min(ttlMs, 10_000),
  ) {}

  async get(): Promise<T> {
    if (this.value !== undefined && this.now() < this.expiresAt) return this.value;
    this.inFlight ??= this.reload().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Loads again now, unless a load started less than `minIntervalMs` ago: for a caller that has reason to
   * think the value changed (a presented secret matched nothing) without letting it force a load per call.
   */
  async refresh(minIntervalMs: number): Promise<T> {
    if (this.value !== undefined && this.now() - this.attemptedAt < minIntervalMs) return this.value;
    this.expiresAt = 0;
    return this.get();
  }

  /** Forget the value, so the next `get` loads again (after a rotation, say). */
  invalidate(): void {
    this.expiresAt = 0;
  }

  private async reload(): Promise<T> {
    this.attemptedAt = this.now();
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
