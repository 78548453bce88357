/** `GET /v2/transcript` as AssemblyAI documents it: newest first, its filters, before_id/after_id paging. */
import type { PageDetails, TranscriptStatus } from "assemblyai";
import { HttpError } from "./http";
import { renderListItem, wireTimestamp } from "./render";
import type { TranscriptRecord, TranscriptStore } from "./state";

const STATUSES: readonly TranscriptStatus[] = ["queued", "processing", "completed", "error"];

/** The list page for `query`, as JSON; throws HttpError 400 for a malformed filter or an unknown cursor. */
export function listTranscripts(store: TranscriptStore, query: URLSearchParams, baseUrl: string): string {
  const limitParam = query.get("limit");
  let limit = 10;
  if (limitParam !== null && limitParam !== "") {
    if (!/^\d+$/.test(limitParam) || Number(limitParam) < 1)
      throw new HttpError(400, "limit must be a positive integer");
    limit = Math.min(Number(limitParam), 200);
  }
  const status = query.get("status") || null;
  if (status !== null && !STATUSES.includes(status as TranscriptStatus)) {
    throw new HttpError(400, `status must be one of ${STATUSES.join(", ")}`);
  }
  const createdOn = query.get("created_on") || null;
  if (createdOn !== null && !/^\d{4}-\d{2}-\d{2}$/.test(createdOn)) {
    throw new HttpError(400, "created_on must be a date in the form YYYY-MM-DD");
  }
  const throttledOnly = query.get("throttled_only") === "true";
  const anchor = (name: "before_id" | "after_id"): TranscriptRecord | null => {
    const id = query.get(name) || null;
    if (id === null) return null;
    const record = store.get(id);
    if (record === undefined) throw new HttpError(400, `${name} is not a known transcript id`);
    return record;
  };
  const before = anchor("before_id");
  const after = anchor("after_id");

  // Newest first: by submit order, which `created` follows.
  const matching = store.newestFirst().filter(
    (record) =>
      // throttled_only overrides the status filter; nothing here is ever throttled.
      !throttledOnly &&
      (status === null || record.status === status) &&
      (createdOn === null || wireTimestamp(record.created).startsWith(createdOn)),
  );
  const window = matching.filter(
    (record) => (before === null || record.seq < before.seq) && (after === null || record.seq > after.seq),
  );
  // Paging forward from after_id takes the transcripts nearest to it, so no page is skipped.
  const page = after !== null && before === null ? window.slice(-limit) : window.slice(0, limit);

  const pageUrl = (cursor: Record<string, string>): string => {
    const params = new URLSearchParams({ limit: String(limit) });
    if (status !== null) params.set("status", status);
    if (createdOn !== null) params.set("created_on", createdOn);
    if (throttledOnly) params.set("throttled_only", "true");
    for (const [key, value] of Object.entries(cursor)) params.set(key, value);
    return `${baseUrl}/v2/transcript?${params}`;
  };
  const current: Record<string, string> = {};
  if (before !== null) current.before_id = before.id;
  if (after !== null) current.after_id = after.id;
  const newest = page[0];
  const oldest = page[page.length - 1];
  const details: PageDetails = {
    limit,
    result_count: page.length,
    current_url: pageUrl(current),
    prev_url:
      oldest !== undefined && matching.some((record) => record.seq < oldest.seq)
        ? pageUrl({ before_id: oldest.id })
        : null,
    next_url:
      newest !== undefined && matching.some((record) => record.seq > newest.seq)
        ? pageUrl({ after_id: newest.id })
        : null,
  };
  return JSON.stringify({
    page_details: details,
    transcripts: page.map((record) => renderListItem(record, baseUrl)),
  });
}
