import { InvalidArgumentError } from "commander";
import {
  collectParam,
  collectTranscriptIds,
  parseAudioSource,
  parseCustomerId,
  parseOrderId,
  parsePositiveInteger,
  parseSince,
  parseTranscriptId,
} from "../../../cli/args";
import { EXIT } from "../../../cli/output";
import { runCli } from "./support";

describe("id arguments", () => {
  it.each(["acme_co.uk:team@1-2", "jane+doe@example.com", "has space", "a/b", "..", "x".repeat(2048)])(
    "accepts the customer id %j, as the receiver does",
    (value) => {
      expect(parseCustomerId(value)).toBe(value);
    },
  );

  it("accepts an order id of exactly 1024 UTF-8 bytes", () => {
    const value = "é".repeat(512);

    expect(parseOrderId(value)).toBe(value);
  });

  it.each([
    ["an empty customer id", () => parseCustomerId(""), "customer_id is empty"],
    ["a customer id over 2048 bytes", () => parseCustomerId("x".repeat(2049)), "2049 bytes"],
    ["an empty order id", () => parseOrderId(""), "order_id is empty"],
    ["an order id over 1024 bytes", () => parseOrderId(`${"é".repeat(512)}x`), "1025 bytes"],
  ])("refuses %s, naming the limit", (_name, parse, message) => {
    expect(parse).toThrow(InvalidArgumentError);
    expect(parse).toThrow(message);
  });

  it("accepts AssemblyAI's non-UUID transcript ids and refuses path characters", () => {
    expect(parseTranscriptId("5552493-16d8-42d8-8feb-c2a16b56f6e8")).toBe(
      "5552493-16d8-42d8-8feb-c2a16b56f6e8",
    );
    expect(() => parseTranscriptId("../etc")).toThrow(InvalidArgumentError);
  });

  it("collects several transcript ids, validating each", () => {
    expect(collectTranscriptIds("b", collectTranscriptIds("a", undefined))).toEqual(["a", "b"]);
    expect(() => collectTranscriptIds("a b", ["a"])).toThrow(InvalidArgumentError);
  });
});

describe("parsePositiveInteger", () => {
  it("accepts whole numbers from 1", () => {
    expect(parsePositiveInteger("25")).toBe(25);
  });

  it.each(["0", "-1", "1.5", "ten", ""])("refuses %j", (value) => {
    expect(() => parsePositiveInteger(value)).toThrow(InvalidArgumentError);
  });
});

describe("parseSince", () => {
  const now = new Date("2026-11-27T12:00:00.000Z");

  it("reads a duration back from now", () => {
    expect(parseSince("30m", now).toISOString()).toBe("2026-11-27T11:30:00.000Z");
    expect(parseSince("6h", now).toISOString()).toBe("2026-11-27T06:00:00.000Z");
    expect(parseSince("2d", now).toISOString()).toBe("2026-11-25T12:00:00.000Z");
    expect(parseSince("1w", now).toISOString()).toBe("2026-11-20T12:00:00.000Z");
  });

  it("reads ISO-8601 dates and instants", () => {
    expect(parseSince("2026-11-01", now).toISOString()).toBe("2026-11-01T00:00:00.000Z");
    expect(parseSince("2026-11-26T08:15:00Z", now).toISOString()).toBe("2026-11-26T08:15:00.000Z");
  });

  it("refuses the future and anything unreadable", () => {
    expect(() => parseSince("2027-01-01", now)).toThrow("is in the future");
    expect(() => parseSince("yesterday", now)).toThrow(InvalidArgumentError);
    expect(() => parseSince("5y", now)).toThrow(InvalidArgumentError);
  });

  it("refuses durations and dates before 2000-01-01, and ones no Date can hold", () => {
    expect(() => parseSince("300000w", now)).toThrow("is before 2000-01-01");
    expect(() => parseSince("99999999999999999999d", now)).toThrow("is before 2000-01-01");
    expect(() => parseSince("1999-12-31T23:59:59Z", now)).toThrow("is before 2000-01-01");
    expect(() => parseSince("0001-01-01", now)).toThrow("is before 2000-01-01");
    expect(parseSince("2000-01-01", now).toISOString()).toBe("2000-01-01T00:00:00.000Z");
    expect(parseSince("1400w", now).getUTCFullYear()).toBe(2000);
  });

  it("refuses calendar dates that do not exist instead of rolling them over", () => {
    expect(() => parseSince("2026-02-30", now)).toThrow(InvalidArgumentError);
    expect(() => parseSince("2026-13-01", now)).toThrow(InvalidArgumentError);
    expect(parseSince("2024-02-29", now).toISOString()).toBe("2024-02-29T00:00:00.000Z");
  });

  it("refuses an instant in the future, even a second ahead", () => {
    expect(() => parseSince("2026-11-27T12:00:01Z", now)).toThrow("is in the future");
    expect(parseSince("0m", now).toISOString()).toBe(now.toISOString());
  });

  it("is a usage error (exit 2) naming --since through the CLI, before any stack is resolved", async () => {
    for (const value of ["300000w", "1999-01-01", "2999-01-01"]) {
      const result = await runCli(["reconcile", "--since", value]);

      expect(result.code).toBe(EXIT.usage);
      expect(result.stderr).toContain(`option '--since <time>' argument '${value}' is invalid`);
    }
  });
});

describe("collectParam", () => {
  it("collects name=value pairs, keeping '=' inside values", () => {
    expect(collectParam("b=x=y", collectParam("team=blue", undefined))).toEqual({ team: "blue", b: "x=y" });
  });

  it("refuses pairs without a name and the two ids, which have their own options", () => {
    expect(() => collectParam("=x", undefined)).toThrow("expected name=value");
    expect(() => collectParam("customer_id=x", undefined)).toThrow("use --customer-id");
  });
});

describe("parseAudioSource", () => {
  it("treats http(s) URLs as URLs", () => {
    expect(parseAudioSource("https://example.com/a.mp3?x=1")).toEqual({
      kind: "url",
      url: "https://example.com/a.mp3?x=1",
    });
  });

  it("treats anything else as a file to upload", () => {
    expect(parseAudioSource("./call.mp3")).toEqual({ kind: "file", path: "./call.mp3" });
    expect(parseAudioSource("file:///tmp/call.mp3")).toEqual({ kind: "file", path: "/tmp/call.mp3" });
  });

  it("refuses other URL schemes", () => {
    expect(() => parseAudioSource("s3://bucket/key.mp3")).toThrow("only http(s) URLs or local files");
  });
});
