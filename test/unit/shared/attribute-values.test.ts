import fc from "fast-check";
import {
  fromAttributeMap,
  fromAttributeValue,
  toAttributeMap,
  toAttributeValue,
} from "../../../functions/shared/attribute-values";

/** Keys that util-dynamodb's marshaller throws on or drops, written as JSON so they are own properties. */
const HOSTILE_KEYS = ["__proto__", "constructor", "toString", "hasOwnProperty", "prototype", "valueOf"];

const hostileObject = fc
  .array(fc.tuple(fc.constantFrom(...HOSTILE_KEYS), fc.jsonValue({ maxDepth: 2 })), { minLength: 1 })
  .map((entries) => Object.fromEntries(entries) as Record<string, unknown>);

describe("attribute values", () => {
  it("round-trips any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const attribute = toAttributeValue(value);
        if (attribute === undefined) throw new Error("a JSON value was dropped");

        // Compared as JSON has it: -0 is stored as 0, as in JSON and in DynamoDB.
        expect(fromAttributeValue(attribute)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips any object with keys named like Object.prototype members, nested anywhere", () => {
    fc.assert(
      fc.property(hostileObject, fc.dictionary(fc.string(), hostileObject), (top, nested) => {
        const value = { ...top, nested, list: [top] };

        const back = fromAttributeMap(toAttributeMap(value));

        expect(back).toEqual(JSON.parse(JSON.stringify(value)));
        expect(JSON.stringify(back)).toBe(JSON.stringify(value));
      }),
    );
  });

  it.each(HOSTILE_KEYS)("keeps a key named %s as an own data property, both ways", (key) => {
    const metadata = JSON.parse(`{${JSON.stringify(key)}:"kept","tag":["a","b"]}`) as Record<string, unknown>;

    const attributes = toAttributeMap(metadata);
    const back = fromAttributeMap(attributes);

    expect(Object.hasOwn(attributes, key)).toBe(true);
    expect(Object.getOwnPropertyDescriptor(attributes, key)?.value).toEqual({ S: "kept" });
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
    expect(Object.hasOwn(back, key)).toBe(true);
    expect(Object.getOwnPropertyDescriptor(back, key)?.value).toBe("kept");
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).kept).toBeUndefined();
  });

  it("stores -0 as 0, as JSON does", () => {
    expect(toAttributeValue(-0)).toEqual({ N: "0" });
  });

  it("writes the wire format DynamoDB expects", () => {
    expect(
      toAttributeMap({
        s: "x",
        n: 1.5,
        t: true,
        z: null,
        l: [1, "a"],
        m: { k: "v" },
        b: new Uint8Array([1]),
      }),
    ).toEqual({
      s: { S: "x" },
      n: { N: "1.5" },
      t: { BOOL: true },
      z: { NULL: true },
      l: { L: [{ N: "1" }, { S: "a" }] },
      m: { M: { k: { S: "v" } } },
      b: { B: new Uint8Array([1]) },
    });
  });

  it("leaves undefined out of a map, and stores it as null in a list (as JSON does)", () => {
    expect(toAttributeMap({ kept: "x", dropped: undefined, list: [undefined, 1] })).toEqual({
      kept: { S: "x" },
      list: { L: [{ NULL: true }, { N: "1" }] },
    });
    expect(toAttributeValue(undefined)).toBeUndefined();
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    "refuses the number %p",
    (value) => {
      expect(() => toAttributeValue(value)).toThrow(TypeError);
      expect(() => toAttributeMap({ nested: { value } })).toThrow("cannot be stored as a DynamoDB number");
    },
  );

  it.each([
    ["a bigint", BigInt(1)],
    ["a function", () => 1],
    ["a symbol", Symbol("s")],
  ])("refuses %s", (_name, value) => {
    expect(() => toAttributeValue(value)).toThrow(TypeError);
  });

  it("writes a lone surrogate, which JSON allows and UTF-8 cannot carry, as U+FFFD (DynamoDB refuses it)", () => {
    // A streaming session's turn text "a \ud800 b", as JSON.parse gives it.
    const text = JSON.parse('"a \\ud800 b"') as string;

    expect(toAttributeValue(text)).toEqual({ S: "a \uFFFD b" });
    expect(toAttributeMap({ [text]: { inner: `x${"\uDC00"}` } })).toEqual({
      "a \uFFFD b": { M: { inner: { S: "x\uFFFD" } } },
    });
    // Pairs stay as they are.
    expect(toAttributeValue("😀")).toEqual({ S: "😀" });
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (value) => {
        const written = toAttributeValue(value)?.S ?? "";
        expect(Buffer.from(written, "utf8").toString("utf8")).toBe(written);
      }),
    );
  });

  it("reads the set types a record written elsewhere may hold", () => {
    expect(fromAttributeValue({ SS: ["a", "b"] })).toEqual(["a", "b"]);
    expect(fromAttributeValue({ NS: ["1", "2.5"] })).toEqual([1, 2.5]);
    expect(fromAttributeValue({ BS: [new Uint8Array([7])] })).toEqual([new Uint8Array([7])]);
    expect(fromAttributeValue({ NULL: true })).toBeNull();
  });
});
