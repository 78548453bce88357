import { CachedValue } from "../../functions/shared/secret-cache";

describe("CachedValue", () => {
  it("loads once within the TTL and shares one load between concurrent callers", async () => {
    let clock = 0;
    let loads = 0;
    const cache = new CachedValue(
      async () => `v${++loads}`,
      1000,
      () => clock,
    );

    const [a, b] = await Promise.all([cache.get(), cache.get()]);
    clock = 999;
    const c = await cache.get();

    expect([a, b, c]).toEqual(["v1", "v1", "v1"]);
    expect(loads).toBe(1);
  });

  it("loads again once the TTL has passed", async () => {
    let clock = 0;
    let loads = 0;
    const cache = new CachedValue(
      async () => `v${++loads}`,
      1000,
      () => clock,
    );

    await cache.get();
    clock = 1000;

    expect(await cache.get()).toBe("v2");
  });

  it("keeps serving the previous value when a refresh fails, and retries shortly after", async () => {
    let clock = 0;
    let fail = false;
    let loads = 0;
    const cache = new CachedValue(
      async () => {
        loads++;
        if (fail) throw new Error("Secrets Manager unavailable");
        return `v${loads}`;
      },
      1000,
      () => clock,
      100,
    );
    await cache.get();
    fail = true;
    clock = 1000;

    expect(await cache.get()).toBe("v1");
    clock = 1050;
    expect(await cache.get()).toBe("v1");
    expect(loads).toBe(2);
    fail = false;
    clock = 1100;
    expect(await cache.get()).toBe("v3");
  });

  it("fails when the first load fails, and loads again on the next call", async () => {
    let fail = true;
    const cache = new CachedValue(async () => {
      if (fail) throw new Error("denied");
      return "value";
    }, 1000);

    await expect(cache.get()).rejects.toThrow("denied");
    fail = false;
    expect(await cache.get()).toBe("value");
  });

  it("loads again after invalidate", async () => {
    let loads = 0;
    const cache = new CachedValue(async () => ++loads, 60_000);
    await cache.get();

    cache.invalidate();

    expect(await cache.get()).toBe(2);
  });
});
