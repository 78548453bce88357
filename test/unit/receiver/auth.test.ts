import fc from "fast-check";
import { authenticate, findHeader } from "../../../functions/receiver/auth";

const CURRENT = "current-secret-0123456789";
const PREVIOUS = "previous-secret-9876543210";

describe("findHeader", () => {
  it("matches the name case-insensitively", () => {
    expect(findHeader({ "X-Webhook-Secret": "v" }, "x-webhook-secret")).toBe("v");
    expect(findHeader({ "x-webhook-secret": "v" }, "X-WEBHOOK-SECRET")).toBe("v");
  });

  it("returns undefined when the header or the headers are missing", () => {
    expect(findHeader({ other: "v" }, "x-webhook-secret")).toBeUndefined();
    expect(findHeader(undefined, "x-webhook-secret")).toBeUndefined();
  });
});

describe("authenticate", () => {
  it("accepts the current and the previous secret", () => {
    expect(authenticate(CURRENT, [CURRENT, PREVIOUS])).toBe(true);
    expect(authenticate(PREVIOUS, [CURRENT, PREVIOUS])).toBe(true);
  });

  it("refuses a missing or empty value, even against an empty secret", () => {
    expect(authenticate(undefined, [CURRENT])).toBe(false);
    expect(authenticate("", [CURRENT, ""])).toBe(false);
  });

  it("refuses everything when no secret is accepted", () => {
    expect(authenticate(CURRENT, [])).toBe(false);
  });

  it("refuses every value that differs from both secrets", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary" }),
          fc.nat({ max: CURRENT.length - 1 }).map((n) => CURRENT.slice(0, n)),
          fc.string({ minLength: 1 }).map((suffix) => CURRENT + suffix),
        ),
        (presented) => {
          fc.pre(presented !== CURRENT && presented !== PREVIOUS);
          expect(authenticate(presented, [CURRENT, PREVIOUS])).toBe(false);
        },
      ),
    );
  });
});
