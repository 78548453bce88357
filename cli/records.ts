/**
 * Reading stored records for `get`, `list` and `get --full`: the package's TranscriptStoreClient on the
 * target's clients, its answers turned into the CLI's errors.
 */
import {
  type StoredRecord,
  TranscriptNotStoredError,
  TranscriptStoreClient,
} from "../lib/client/transcript-store-client";
import { CliError } from "./output";
import type { StackTarget } from "./stack";

export type { StoredRecord } from "../lib/client/transcript-store-client";

export function transcriptStore(target: StackTarget): TranscriptStoreClient {
  return new TranscriptStoreClient({
    dynamodb: target.dynamodb,
    s3: target.s3,
    tableName: target.tableName,
    bucketName: target.bucketName,
  });
}

export async function getRecord(
  target: StackTarget,
  customerId: string,
  orderId: string,
): Promise<StoredRecord> {
  const record = await transcriptStore(target).get(customerId, orderId);
  if (record === undefined) throw new CliError(`no record for customer ${customerId} order ${orderId}`);
  return record;
}

/** A customer's records, page after page, up to `limit`. */
export async function listRecords(
  target: StackTarget,
  customerId: string,
  limit = Number.POSITIVE_INFINITY,
  onPage?: (count: number) => void,
): Promise<StoredRecord[]> {
  const store = transcriptStore(target);
  const records: StoredRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listByCustomer(customerId, {
      limit: Math.min(1000, limit - records.length),
      ...(cursor === undefined ? {} : { cursor }),
    });
    records.push(...page.records);
    onPage?.(records.length);
    cursor = page.nextCursor;
  } while (cursor !== undefined && records.length < limit);
  return records;
}

/** The whole JSON the worker archived for a record: the transcript, or a streaming session's body. */
export async function fullTranscript(
  target: StackTarget,
  customerId: string,
  orderId: string,
): Promise<unknown> {
  try {
    const full = await transcriptStore(target).getFullTranscript(customerId, orderId);
    return full.kind === "transcript" ? full.transcript : full.session;
  } catch (error) {
    if (error instanceof TranscriptNotStoredError) throw new CliError(error.message);
    throw error;
  }
}
