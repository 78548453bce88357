/**
 * The page cursor of `TranscriptStoreClient.listByCustomer`: DynamoDB's LastEvaluatedKey of a customer's
 * Query (the table's two keys) as an opaque base64url string, and back, refusing anything it did not issue.
 * Pure.
 *
 * Not signed: it can only position a listing within the records of the customer it is given with, which the
 * caller may list anyway; a cursor of another customer is refused rather than silently applied.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import * as v from "valibot";
import { METADATA_ID_MAX_BYTES } from "../../functions/shared/contract/delivery";
import { TABLE_PARTITION_KEY, TABLE_SORT_KEY } from "../../functions/shared/contract/resources";

/** Bump with a reader for both when the encoded key changes. */
const CURSOR_VERSION = 1;

/** Base64url of the largest key the table admits, with room for the JSON around it. */
const MAX_CURSOR_LENGTH =
  Math.ceil(((METADATA_ID_MAX_BYTES.customer_id + METADATA_ID_MAX_BYTES.order_id) * 6 + 64) / 3) * 4;

const CursorSchema = v.strictObject({
  v: v.literal(CURSOR_VERSION),
  customer_id: v.string(),
  order_id: v.string(),
});

/** A cursor that this client did not issue, or issued for another customer's listing. */
export class InvalidCursorError extends Error {
  override readonly name = "InvalidCursorError";
  readonly code = "invalid_cursor";
  constructor(reason: string) {
    super(`invalid cursor: ${reason} (pass back the nextCursor of the previous page, unchanged)`);
  }
}

/** The position after the record with these keys, as a cursor. */
export function encodeCursor(customerId: string, orderId: string): string {
  const position: v.InferOutput<typeof CursorSchema> = {
    v: CURSOR_VERSION,
    customer_id: customerId,
    order_id: orderId,
  };
  return Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
}

/** DynamoDB's LastEvaluatedKey of a base-table Query as a cursor; anything else is a bug, not a page. */
export function cursorFromKey(key: Readonly<Record<string, AttributeValue>>): string {
  const customerId = key[TABLE_PARTITION_KEY]?.S;
  const orderId = key[TABLE_SORT_KEY]?.S;
  if (customerId === undefined || orderId === undefined || Object.keys(key).length !== 2) {
    throw new TypeError(`LastEvaluatedKey is not the table's key: ${JSON.stringify(Object.keys(key))}`);
  }
  return encodeCursor(customerId, orderId);
}

/** The ExclusiveStartKey a cursor stands for, checked to belong to `customerId`'s listing. */
export function decodeCursor(cursor: unknown, customerId: string): Record<string, AttributeValue> {
  if (typeof cursor !== "string" || cursor.length === 0) {
    throw new InvalidCursorError("not a non-empty string");
  }
  if (cursor.length > MAX_CURSOR_LENGTH) {
    throw new InvalidCursorError(`longer than any cursor (${cursor.length} characters)`);
  }
  // Buffer's decoder skips what is not base64url; a cursor must be exactly what encodeCursor wrote.
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError("not base64url");
  const bytes = Buffer.from(cursor, "base64url");
  if (bytes.toString("base64url") !== cursor) throw new InvalidCursorError("not base64url");
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new InvalidCursorError("not the JSON this client writes");
  }
  const parsed = v.safeParse(CursorSchema, json);
  if (!parsed.success) {
    throw new InvalidCursorError(`not a position this client writes (${parsed.issues[0].message})`);
  }
  const position = parsed.output;
  if (position.customer_id !== customerId) {
    throw new InvalidCursorError(`it continues another customer's listing, not ${customerId}'s`);
  }
  const orderBytes = Buffer.byteLength(position.order_id, "utf8");
  if (orderBytes === 0 || orderBytes > METADATA_ID_MAX_BYTES.order_id) {
    throw new InvalidCursorError(`its order_id (${orderBytes} bytes) cannot be a key`);
  }
  return {
    [TABLE_PARTITION_KEY]: { S: position.customer_id },
    [TABLE_SORT_KEY]: { S: position.order_id },
  };
}
