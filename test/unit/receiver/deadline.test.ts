import { DeadlineExceededError, withDeadline } from "../../../functions/receiver/deadline";

afterEach(() => {
  jest.useRealTimers();
});

describe("withDeadline", () => {
  it("settles with the work when it finishes first", async () => {
    await expect(withDeadline(Promise.resolve("done"), 1_000, "work")).resolves.toBe("done");
    await expect(withDeadline(Promise.reject(new Error("boom")), 1_000, "work")).rejects.toThrow("boom");
  });

  it("rejects with DeadlineExceededError and calls onDeadline when the work hangs", async () => {
    jest.useFakeTimers();
    const onDeadline = jest.fn();

    const pending = withDeadline(new Promise(() => {}), 500, "SQS SendMessage", onDeadline);
    const assertion = expect(pending).rejects.toThrow(DeadlineExceededError);
    await jest.advanceTimersByTimeAsync(500);

    await assertion;
    expect(onDeadline).toHaveBeenCalledTimes(1);
  });

  it("clears its timer once the work has settled", async () => {
    jest.useFakeTimers();

    await withDeadline(Promise.resolve(1), 500, "work");

    expect(jest.getTimerCount()).toBe(0);
  });
});
