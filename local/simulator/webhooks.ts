/**
 * Webhook delivery as AssemblyAI documents it: JSON POST, the custom auth header, a 2xx within the timeout is
 * delivered, any 4xx is final, anything else is retried at a fixed interval up to a total number of attempts.
 */
import http from "node:http";
import https from "node:https";
import { HttpError, optionalString, parseHttpUrl } from "./http";
import type { WebhookConfig } from "./state";
import type { TimerSet } from "./timers";

export type WebhookKind = "transcript" | "redacted_audio" | "streaming_session";

/**
 * The webhook a request asks for (`webhook_url`, `webhook_auth_header_name`, `webhook_auth_header_value`,
 * as AssemblyAI takes them on a transcript submit or a streaming connection), or null without a URL;
 * throws 400 naming the field that is wrong.
 */
export function parseWebhookConfig(body: Record<string, unknown>): WebhookConfig | null {
  const webhookUrl = body.webhook_url === undefined || body.webhook_url === null ? null : body.webhook_url;
  if (webhookUrl !== null) parseHttpUrl(webhookUrl, "webhook_url");
  const headerName = optionalString(body, "webhook_auth_header_name");
  const headerValue = optionalString(body, "webhook_auth_header_value");
  if ((headerName === null) !== (headerValue === null)) {
    throw new HttpError(400, "webhook_auth_header_name and webhook_auth_header_value must be given together");
  }
  if (headerName !== null && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(headerName)) {
    throw new HttpError(400, "webhook_auth_header_name is not a valid HTTP header name");
  }
  // Visible ASCII, spaces and tabs: what can travel in an HTTP header value.
  if (headerValue !== null && !/^[\t\x20-\x7e]{1,4096}$/.test(headerValue)) {
    throw new HttpError(400, "webhook_auth_header_value must be 1 to 4096 printable ASCII characters");
  }
  if (webhookUrl === null) {
    if (headerName !== null) throw new HttpError(400, "webhook_auth_header_name needs a webhook_url");
    return null;
  }
  return {
    url: webhookUrl as string,
    authHeader: headerName !== null && headerValue !== null ? { name: headerName, value: headerValue } : null,
  };
}

/** What happened to one POST. */
export type AttemptOutcome = "delivered" | "retrying" | "failed";

/** One delivery attempt, as logged, emitted and served at `GET /__simulator/deliveries`. */
export interface DeliveryAttempt {
  /** The transcript's id; for a streaming session, the session's id. */
  readonly transcriptId: string;
  readonly kind: WebhookKind;
  /** 1-based. */
  readonly attempt: number;
  readonly url: string;
  readonly body: string;
  /** The HTTP status the receiver answered; null on timeout or connection error. */
  readonly statusCode: number | null;
  /** Why no status arrived (timeout, connection refused ...); null when one did. */
  readonly error: string | null;
  readonly outcome: AttemptOutcome;
  readonly durationMs: number;
  /** ISO time the attempt started. */
  readonly at: string;
}

export interface WebhookPolicy {
  /** A 2xx must arrive within this time. @default 10000 */
  readonly timeoutMs: number;
  /** Wait between attempts. @default 10000 */
  readonly retryIntervalMs: number;
  /** Attempts in all, the first included. @default 10 */
  readonly maxAttempts: number;
}

export interface WebhookDelivery {
  readonly transcriptId: string;
  readonly kind: WebhookKind;
  readonly url: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly authHeader: { readonly name: string; readonly value: string } | null;
}

/** The final result of a delivery, with the last status code received (null if none ever came). */
export interface DeliveryResult {
  readonly delivered: boolean;
  readonly attempts: number;
  readonly lastStatusCode: number | null;
}

interface PostResult {
  readonly statusCode: number | null;
  readonly error: string | null;
}

/** Sends webhooks with retries; every timer and socket it opens is released by `close()`. */
export class WebhookSender {
  private readonly inFlight = new Set<http.ClientRequest>();

  constructor(
    private readonly policy: WebhookPolicy,
    private readonly timers: TimerSet,
    private readonly onAttempt: (attempt: DeliveryAttempt) => void,
  ) {}

  /**
   * Delivers until success, a 4xx, or the last attempt. `onStatus` sees each status as it arrives so the
   * transcript's `webhook_status_code` is current between retries. Resolves (never rejects) when settled or
   * when the sender is closed.
   */
  deliver(delivery: WebhookDelivery, onStatus: (statusCode: number) => void): Promise<DeliveryResult> {
    const body = JSON.stringify(delivery.payload);
    let lastStatusCode: number | null = null;
    return new Promise((resolve) => {
      const attempt = (number: number): void => {
        if (this.timers.isClosed) {
          resolve({ delivered: false, attempts: number - 1, lastStatusCode });
          return;
        }
        const startedAt = Date.now();
        void this.post(delivery, body).then((result) => {
          if (result.statusCode !== null) {
            lastStatusCode = result.statusCode;
            onStatus(result.statusCode);
          }
          const code = result.statusCode;
          const delivered = code !== null && code >= 200 && code < 300;
          const final =
            delivered || (code !== null && code >= 400 && code < 500) || number >= this.policy.maxAttempts;
          this.onAttempt({
            transcriptId: delivery.transcriptId,
            kind: delivery.kind,
            attempt: number,
            url: delivery.url,
            body,
            statusCode: code,
            error: result.error,
            outcome: delivered ? "delivered" : final ? "failed" : "retrying",
            durationMs: Date.now() - startedAt,
            at: new Date(startedAt).toISOString(),
          });
          if (final || this.timers.isClosed) {
            resolve({ delivered, attempts: number, lastStatusCode });
            return;
          }
          this.timers.set(() => attempt(number + 1), this.policy.retryIntervalMs);
        });
      };
      attempt(1);
    });
  }

  /** Aborts requests still waiting for an answer. */
  close(): void {
    for (const request of this.inFlight) request.destroy(new Error("simulator closed"));
    this.inFlight.clear();
  }

  private post(delivery: WebhookDelivery, body: string): Promise<PostResult> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: PostResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(request);
        resolve(result);
      };
      let target: URL;
      try {
        target = new URL(delivery.url);
      } catch {
        resolve({ statusCode: null, error: "invalid webhook URL" });
        return;
      }
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        "user-agent": "AssemblyAI-Simulator-Webhook",
      };
      if (delivery.authHeader !== null) headers[delivery.authHeader.name] = delivery.authHeader.value;
      const transport = target.protocol === "https:" ? https : http;
      // agent: false gives one connection per attempt (Connection: close), so nothing lingers after close().
      let request: http.ClientRequest;
      try {
        request = transport.request(target, { method: "POST", headers, agent: false }, (response) => {
          response.resume();
          finish({ statusCode: response.statusCode ?? null, error: null });
        });
      } catch (error) {
        // Node refuses some header values synchronously (ERR_INVALID_CHAR): a failed attempt, not a crash.
        resolve({ statusCode: null, error: (error as NodeJS.ErrnoException).code ?? String(error) });
        return;
      }
      const timer = setTimeout(() => {
        request.destroy();
        finish({ statusCode: null, error: `timeout after ${this.policy.timeoutMs} ms` });
      }, this.policy.timeoutMs);
      this.inFlight.add(request);
      request.on("error", (error: NodeJS.ErrnoException) => {
        finish({ statusCode: null, error: error.code ?? error.message });
      });
      request.end(body);
    });
  }
}
