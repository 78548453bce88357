import fc from "fast-check";
import { cursorFromKey, decodeCursor, encodeCursor, InvalidCursorError } from "../../../lib/client/cursor";

/** Key text as the table admits it: any non-empty UTF-8 within DynamoDB's key limits. */
const customerId = fc.string({ unit: "grapheme", minLength: 1, maxLength: 200 });
const orderId = fc.string({ unit: "grapheme", minLength: 1, maxLength: 200 });

describe("page cursors", () => {
  it("decode to the key they were made from, for any ids", () => {
    fc.assert(
      fc.property(customerId, orderId, (customer, order) => {
        const cursor = encodeCursor(customer, order);

        expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeCursor(cursor, customer)).toEqual({
          customer_id: { S: customer },
          order_id: { S: order },
        });
      }),
    );
  });

  it("refuse any other string with InvalidCursorError, never another error", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.base64String(), fc.string({ unit: "binary" })), (text) => {
        let thrown: unknown;
        try {
          decodeCursor(text, "acme");
        } catch (error) {
          thrown = error;
        }
        // A random string that happens to be a valid cursor of acme's is no failure; anything else must be.
        if (thrown !== undefined) expect(thrown).toBeInstanceOf(InvalidCursorError);
      }),
      { numRuns: 500 },
    );
  });

  it("refuse a cursor whose position is not a key", () => {
    const empty = Buffer.from(JSON.stringify({ v: 1, customer_id: "acme", order_id: "" })).toString(
      "base64url",
    );

    expect(() => decodeCursor(empty, "acme")).toThrow("its order_id (0 bytes) cannot be a key");
  });

  it("refuse a cursor of another version", () => {
    const later = Buffer.from(JSON.stringify({ v: 2, customer_id: "acme", order_id: "o-1" })).toString(
      "base64url",
    );

    expect(() => decodeCursor(later, "acme")).toThrow(InvalidCursorError);
  });

  it("are made from DynamoDB's LastEvaluatedKey, which must be the table's key", () => {
    expect(cursorFromKey({ customer_id: { S: "acme" }, order_id: { S: "o-1" } })).toBe(
      encodeCursor("acme", "o-1"),
    );
    expect(() => cursorFromKey({ transcript_id: { S: "t-1" } })).toThrow("is not the table's key");
  });
});
