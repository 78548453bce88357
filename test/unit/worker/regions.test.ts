import { chooseRegions, triesNextRegion } from "../../../functions/worker/regions";

const US_SOURCE = "44.238.19.20";
const EU_SOURCE = "54.220.25.36";

describe("the region a delivery's transcript is fetched from first", () => {
  it("is the webhook URL's aai_region when it names a configured region", () => {
    expect(chooseRegions(["us", "eu"], { params: { aai_region: "eu" }, sourceIp: US_SOURCE })).toEqual({
      order: ["eu", "us"],
      signal: "aai_region",
    });
  });

  it("reads aai_region in any case, and a repeated one only when its values agree", () => {
    expect(chooseRegions(["us", "eu"], { params: { aai_region: " EU " } }).order[0]).toBe("eu");
    expect(chooseRegions(["us", "eu"], { params: { aai_region: ["eu", "eu"] } }).signal).toBe("aai_region");
    expect(chooseRegions(["us", "eu"], { params: { aai_region: ["eu", "us"] } })).toEqual({
      order: ["us", "eu"],
      signal: "default",
    });
  });

  it("is the region of AssemblyAI's source address when the URL names none", () => {
    expect(chooseRegions(["us", "eu"], { params: {}, sourceIp: EU_SOURCE })).toEqual({
      order: ["eu", "us"],
      signal: "source_ip",
    });
    expect(chooseRegions(["eu", "us"], { params: {}, sourceIp: US_SOURCE })).toEqual({
      order: ["us", "eu"],
      signal: "source_ip",
    });
  });

  it("falls back to the source address when aai_region names no configured region", () => {
    expect(chooseRegions(["us", "eu"], { params: { aai_region: "ap" }, sourceIp: EU_SOURCE })).toEqual({
      order: ["eu", "us"],
      signal: "source_ip",
    });
    expect(chooseRegions(["us"], { params: { aai_region: "eu" }, sourceIp: EU_SOURCE })).toEqual({
      order: ["us"],
      signal: "default",
    });
  });

  it("is the first configured region otherwise (the reconciler's and replay's messages, local deliveries)", () => {
    expect(chooseRegions(["eu", "us"], { params: {}, sourceIp: "" })).toEqual({
      order: ["eu", "us"],
      signal: "default",
    });
    expect(chooseRegions(["us", "eu"], { params: {}, sourceIp: "127.0.0.1" }).signal).toBe("default");
    expect(chooseRegions(["us", "eu"], { params: {} }).order).toEqual(["us", "eu"]);
  });
});

describe("moving on to the next region", () => {
  it("happens on a 404 only", () => {
    expect(triesNextRegion({ type: "http_error", status: 404 })).toBe(true);
    for (const status of [400, 401, 403, 410, 429, 500]) {
      expect(triesNextRegion({ type: "http_error", status })).toBe(false);
    }
    expect(triesNextRegion({ type: "network_error" })).toBe(false);
    expect(triesNextRegion({ type: "transcript", status: 200 })).toBe(false);
  });
});
