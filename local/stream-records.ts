/**
 * Stream records as Lambda hands them to a function, for local/stream-poller.ts: the SDK's GetRecords
 * records in the event's JSON wire shape, moto's no-op MODIFY records recognised, and Lambda filter
 * patterns, limited to lists of exact values on top-level and nested keys (all the stack uses).
 */
import type { _Record, AttributeValue as StreamsAttributeValue } from "@aws-sdk/client-dynamodb-streams";
import type { AttributeValue, DynamoDBRecord, StreamRecord } from "aws-lambda";

/** A Lambda filter-criteria pattern, limited to lists of exact values. */
export interface FilterPattern {
  readonly [key: string]: readonly FilterValue[] | FilterPattern;
}
export type FilterValue = string | number | boolean | null;

export function toLambdaRecord(record: _Record, streamArn: string, region: string): DynamoDBRecord {
  const change = record.dynamodb ?? {};
  const dynamodb: StreamRecord = definedOnly({
    ApproximateCreationDateTime: change.ApproximateCreationDateTime
      ? Math.floor(change.ApproximateCreationDateTime.getTime() / 1000)
      : undefined,
    Keys: change.Keys && toWireMap(change.Keys),
    NewImage: change.NewImage && toWireMap(change.NewImage),
    OldImage: change.OldImage && toWireMap(change.OldImage),
    SequenceNumber: change.SequenceNumber,
    SizeBytes: change.SizeBytes,
    StreamViewType: change.StreamViewType,
  });
  return definedOnly({
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: "aws:dynamodb",
    awsRegion: region,
    dynamodb,
    eventSourceARN: streamArn,
    // Present for deletions by time to live.
    userIdentity: record.userIdentity
      ? { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId }
      : undefined,
  });
}

/** The JSON wire form Lambda delivers: binary as base64, maps keyed as data (fromEntries). */
function toWireMap(map: Record<string, StreamsAttributeValue>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(map).map(([name, value]) => [name, toWire(value)]));
}

function toWire(value: StreamsAttributeValue): AttributeValue {
  const base64 = (bytes: Uint8Array) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.SS !== undefined) return { SS: [...value.SS] };
  if (value.NS !== undefined) return { NS: [...value.NS] };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.L !== undefined) return { L: value.L.map(toWire) };
  if (value.M !== undefined) return { M: toWireMap(value.M) };
  throw new TypeError(`unsupported attribute value type: ${Object.keys(value).join(", ")}`);
}

/** A MODIFY whose images are equal: moto writes one for a write that changed nothing; DynamoDB does not. */
export function unchangedModify(record: DynamoDBRecord): boolean {
  const { OldImage, NewImage } = record.dynamodb ?? {};
  return (
    record.eventName === "MODIFY" &&
    OldImage !== undefined &&
    NewImage !== undefined &&
    canonical(OldImage) === canonical(NewImage)
  );
}

/** JSON with map keys sorted, and set members sorted (sets are unordered). */
function canonical(value: unknown, setMembers = false): string {
  if (Array.isArray(value)) {
    const members = value.map((member) => canonical(member));
    return `[${(setMembers ? members.sort() : members).join(",")}]`;
  }
  if (isObject(value)) {
    const names = Object.keys(value).sort();
    const isSet = (name: string) => name === "SS" || name === "NS" || name === "BS";
    return `{${names.map((name) => `${JSON.stringify(name)}:${canonical(value[name], isSet(name))}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------------------
// Filter patterns (exact-value lists only)

export function assertSupportedPattern(pattern: FilterPattern, path: string): void {
  for (const [key, expected] of Object.entries(pattern)) {
    if (Array.isArray(expected)) {
      const operator = expected.find((value) => value !== null && typeof value === "object");
      if (operator !== undefined) {
        throw new TypeError(
          `filter ${path}${key}: only lists of exact values are supported locally, not ${JSON.stringify(operator)}`,
        );
      }
    } else if (isObject(expected)) {
      assertSupportedPattern(expected as FilterPattern, `${path}${key}.`);
    } else {
      throw new TypeError(`filter ${path}${key}: a pattern holds lists of values or nested patterns`);
    }
  }
}

/** Every key of the pattern matches: a list by one of its values (any element of a list), an object by recursion. */
export function matchesPattern(pattern: FilterPattern, value: unknown): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
    if (!Array.isArray(expected)) return matchesPattern(expected as FilterPattern, actual);
    const candidates: unknown[] = Array.isArray(actual) ? actual : [actual];
    return candidates.some(
      (candidate) => candidate !== undefined && expected.includes(candidate as FilterValue),
    );
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}
