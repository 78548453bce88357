/**
 * JSON values to DynamoDB attribute values and back, keeping every map key as data.
 *
 * Hand-written rather than @aws-sdk/util-dynamodb's marshall/unmarshall (which the document client uses)
 * because those lose webhook URL parameters that are valid metadata: `marshall` throws on a map with an own
 * `constructor` key ("Unsupported type passed") and both drop a `__proto__` key, as they build maps by
 * assignment. The low-level client's wire format keeps both (checked against moto and in
 * test/unit/shared/attribute-values.test.ts). Only what records hold is supported: strings, finite numbers,
 * booleans, null, lists, maps and bytes; `undefined` is left out, as `removeUndefinedValues` does.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { wellFormed } from "./values";

export function toAttributeValue(value: unknown): AttributeValue | undefined {
  if (value === undefined) return undefined;
  if (value === null) return { NULL: true };
  // A lone surrogate (valid in JSON, as in a streaming session's turn text) cannot be UTF-8: DynamoDB would
  // refuse the item on every attempt, so it becomes U+FFFD.
  if (typeof value === "string") return { S: wellFormed(value) };
  if (typeof value === "boolean") return { BOOL: value };
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`${value} cannot be stored as a DynamoDB number`);
    return { N: String(value) };
  }
  if (value instanceof Uint8Array) return { B: value };
  if (Array.isArray(value)) {
    return { L: value.map((item) => toAttributeValue(item) ?? { NULL: true }) };
  }
  if (typeof value === "object") return { M: toAttributeMap(value as Record<string, unknown>) };
  throw new TypeError(`a ${typeof value} cannot be stored in DynamoDB`);
}

/** An object's own enumerable properties as an attribute map; fromEntries defines each key as data. */
export function toAttributeMap(values: Readonly<Record<string, unknown>>): Record<string, AttributeValue> {
  return Object.fromEntries(
    Object.entries(values).flatMap(([key, value]) => {
      const attribute = toAttributeValue(value);
      return attribute === undefined ? [] : [[wellFormed(key), attribute]];
    }),
  );
}

export function fromAttributeValue(attribute: AttributeValue): unknown {
  if (attribute.S !== undefined) return attribute.S;
  if (attribute.N !== undefined) return Number(attribute.N);
  if (attribute.BOOL !== undefined) return attribute.BOOL;
  if (attribute.NULL !== undefined) return null;
  if (attribute.B !== undefined) return attribute.B;
  if (attribute.L !== undefined) return attribute.L.map(fromAttributeValue);
  if (attribute.M !== undefined) return fromAttributeMap(attribute.M);
  if (attribute.SS !== undefined) return [...attribute.SS];
  if (attribute.NS !== undefined) return attribute.NS.map(Number);
  if (attribute.BS !== undefined) return [...attribute.BS];
  return undefined;
}

export function fromAttributeMap(
  attributes: Readonly<Record<string, AttributeValue>>,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(attributes).map(([key, value]) => [key, fromAttributeValue(value)]),
  );
}
