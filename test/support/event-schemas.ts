/**
 * Checks events against the schemas subscribers are given (docs/events/*.schema.json): a detail by its
 * detail type, or a whole EventBridge event as an SQS target receives it. Unit tests check what
 * functions/shared/contract/events.ts builds; integration tests check what arrives on a queue.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import { CUSTOMER_ERASED } from "../../cli/erasure-plan";
import { DETAIL_SCHEMA_FILES } from "../../functions/shared/contract/events";

export const EVENT_SCHEMA_DIRECTORY = path.join(__dirname, "../../docs/events");

/** Every detail type the stack or its CLI publishes, and its schema file under docs/events. */
export const EVENT_SCHEMA_FILES: Readonly<Record<string, string>> = {
  ...DETAIL_SCHEMA_FILES,
  [CUSTOMER_ERASED]: "customer-erased.v1.schema.json",
};

const RFC3339_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * JSON Schema's `date-time` (RFC 3339). ajv-formats is not installed (ajv alone is a devDependency), so this
 * custom format stands in for it: the RFC's shape, a real calendar day and hour (Date.parse alone takes
 * 2025-02-30 and 24:00), and a time Date.parse reads.
 */
export function isDateTime(value: string): boolean {
  const match = RFC3339_DATE_TIME.exec(value);
  if (match === null) return false;
  const [year, month, day, hour] = match.slice(1, 5).map(Number) as [number, number, number, number];
  const calendarDay = new Date(Date.UTC(year, month - 1, day));
  return (
    calendarDay.getUTCMonth() === month - 1 &&
    calendarDay.getUTCDate() === day &&
    hour <= 23 &&
    !Number.isNaN(Date.parse(value))
  );
}

/** Strict mode: a schema with an unknown keyword or a `required` naming no property fails to compile. */
export function eventSchemaAjv(): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: true });
  ajv.addFormat("date-time", { type: "string", validate: isDateTime });
  return ajv;
}

export function readEventSchema(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(EVENT_SCHEMA_DIRECTORY, file), "utf8")) as Record<string, unknown>;
}

const ajv = eventSchemaAjv();
const detailValidators = new Map<string, ValidateFunction>();

function detailValidator(detailType: string): ValidateFunction {
  const known = detailValidators.get(detailType);
  if (known !== undefined) return known;
  const file = EVENT_SCHEMA_FILES[detailType];
  if (file === undefined) throw new Error(`no schema for detail type ${JSON.stringify(detailType)}`);
  const validate = ajv.compile(readEventSchema(file));
  detailValidators.set(detailType, validate);
  return validate;
}

const listErrors = (errors: ErrorObject[] | null | undefined): string =>
  (errors ?? [])
    .map(
      (error) =>
        `${error.instancePath || "/"} ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`,
    )
    .join("; ");

/** Throws, naming the detail type and ajv's errors, unless `detail` validates against its type's schema. */
export function validateEventDetail(detailType: string, detail: unknown): void {
  const validate = detailValidator(detailType);
  if (!validate(detail)) {
    throw new Error(`${detailType} detail does not match its schema: ${listErrors(validate.errors)}`);
  }
}

/**
 * An EventBridge event as delivered to an SQS target (the message body, parsed). `replay-name` is what
 * EventBridge adds to an archive's replayed event.
 */
const envelopeValidator = ajv.compile({
  type: "object",
  additionalProperties: false,
  required: ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"],
  properties: {
    version: { const: "0" },
    id: { type: "string", minLength: 1 },
    "detail-type": { enum: Object.keys(EVENT_SCHEMA_FILES) },
    source: { type: "string", minLength: 1 },
    account: { type: "string", pattern: "^[0-9]{12}$" },
    time: { type: "string", format: "date-time" },
    region: { type: "string", minLength: 1 },
    resources: { type: "array", items: { type: "string" } },
    detail: { type: "object" },
    "replay-name": { type: "string" },
  },
});

/** Throws unless `body` is a whole event of a known detail type whose detail matches that type's schema. */
export function validateEnvelope(body: unknown): void {
  if (!envelopeValidator(body)) {
    throw new Error(
      `not an EventBridge event of a known detail type: ${listErrors(envelopeValidator.errors)}`,
    );
  }
  const event = body as { readonly "detail-type": string; readonly detail: unknown };
  validateEventDetail(event["detail-type"], event.detail);
}
