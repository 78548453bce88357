/** What the worker makes of AssemblyAI's answers: store, retry later, give up. Pure. */
import type { Transcript } from "assemblyai";
import { DELETED_TRANSCRIPT_TEXT } from "../shared/assemblyai";
import type { FetchResult } from "../shared/assemblyai-client";
import { parseRetryAfter } from "./backoff";

export type FetchDecision =
  | { readonly action: "store"; readonly transcript: Transcript; readonly status: "completed" | "error" }
  | { readonly action: "deleted" }
  | { readonly action: "transient"; readonly reason: string; readonly retryAfterSeconds?: number }
  | { readonly action: "final"; readonly reason: string; readonly status?: number };

/** Whether an HTTP status is worth retrying: throttling, timeouts and server errors. Any other 4xx is final. */
export function isRetryableStatus(status: number): boolean {
  // 408 (the server timed out waiting for us) is a transient condition, even though it is a 4xx.
  return status === 408 || status === 429 || status >= 500 || status < 400;
}

export function classifyFetch(result: FetchResult, transcriptId: string, nowMs: number): FetchDecision {
  switch (result.type) {
    case "network_error":
      return {
        action: "transient",
        reason: result.timedOut ? "AssemblyAI request timed out" : `AssemblyAI unreachable: ${result.reason}`,
      };
    case "invalid_body":
      return {
        action: "transient",
        reason: `AssemblyAI answered HTTP ${result.status} with ${result.reason}`,
      };
    case "http_error": {
      const reason = `AssemblyAI answered HTTP ${result.status}${result.message ? `: ${result.message}` : ""}`;
      if (!isRetryableStatus(result.status)) return { action: "final", reason, status: result.status };
      const retryAfterSeconds = parseRetryAfter(result.retryAfter, nowMs);
      return retryAfterSeconds === undefined
        ? { action: "transient", reason }
        : { action: "transient", reason, retryAfterSeconds };
    }
    case "transcript": {
      const { transcript } = result;
      if (transcript.id !== transcriptId) {
        return {
          action: "transient",
          reason: `AssemblyAI answered a different transcript id (${transcript.id})`,
        };
      }
      if (transcript.status === "queued" || transcript.status === "processing") {
        return { action: "transient", reason: `transcript is still ${transcript.status} at AssemblyAI` };
      }
      if (transcript.status !== "completed" && transcript.status !== "error") {
        return {
          action: "transient",
          reason: `transcript has unexpected status ${JSON.stringify(transcript.status)?.slice(0, 40)}`,
        };
      }
      if (transcript.text === DELETED_TRANSCRIPT_TEXT) return { action: "deleted" };
      return { action: "store", transcript, status: transcript.status };
    }
  }
}

/** 2xx: store it. 408/429/5xx: try again. Any other 4xx (403/404/410: the presigned URL expired): final. */
export function classifyDownloadStatus(status: number): "ok" | "transient" | "final" {
  if (status >= 200 && status < 300) return "ok";
  return isRetryableStatus(status) ? "transient" : "final";
}
