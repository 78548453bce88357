/** A JSON object (not an array, not null): what untrusted JSON is narrowed to before its fields are read. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
