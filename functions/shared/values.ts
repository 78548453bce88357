/** A JSON object (not an array, not null): what untrusted JSON is narrowed to before its fields are read. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The text as UTF-8 can carry it: a lone surrogate (valid in a JSON string, but not encodable) becomes
 * U+FFFD. (`String.prototype.toWellFormed` does this from ES2024, beyond this project's ES2023 library.)
 */
export function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}
