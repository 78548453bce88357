/**
 * Both emitters (Powertools' in functions/shared/telemetry.ts, the receiver's own in
 * functions/receiver/telemetry.ts) take the log level from the environment and write metrics whatever it is.
 */
import type { LogEvent } from "../../functions/shared/log-event";
import { captureTelemetry } from "../support/telemetry";

type Emit = (event: LogEvent) => void;
type SharedTelemetry = typeof import("../../functions/shared/telemetry");
type ReceiverTelemetry = typeof import("../../functions/receiver/telemetry");

const EMITTERS: ReadonlyArray<readonly [string, () => Emit]> = [
  [
    "Powertools (worker, reconciler)",
    () => {
      const telemetry = require("../../functions/shared/telemetry") as SharedTelemetry;
      // The handler's wrapper builds the function's Logger and Metrics, at cold start.
      telemetry.withTelemetry("worker", async () => undefined);
      return telemetry.emit;
    },
  ],
  ["the receiver's", () => (require("../../functions/receiver/telemetry") as ReceiverTelemetry).emit],
];

const ACCEPTED: LogEvent = {
  message: "delivery accepted",
  metrics: { Deliveries: { value: 1, unit: "Count" } },
  dimensions: { Outcome: "accepted" },
};

/** Loads the emitter afresh with the given environment, as a cold start does. */
function coldStart(load: () => Emit, env: Record<string, string>): Emit {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    let emit: Emit | undefined;
    jest.isolateModules(() => {
      emit = load();
    });
    return emit as Emit;
  } finally {
    process.env = saved;
  }
}

describe.each(EMITTERS)("%s emitter", (_name, load) => {
  let captured: ReturnType<typeof captureTelemetry>;
  beforeEach(() => {
    captured = captureTelemetry();
  });
  afterEach(() => captured.restore());

  it("writes INFO lines by default", () => {
    const emit = coldStart(load, {});

    emit(ACCEPTED);

    expect(captured.logs()).toEqual([
      expect.objectContaining({ level: "INFO", message: "delivery accepted" }),
    ]);
  });

  it("leaves out lines below POWERTOOLS_LOG_LEVEL, but never their metrics", () => {
    const emit = coldStart(load, { POWERTOOLS_LOG_LEVEL: "WARN" });

    emit(ACCEPTED);
    emit({ level: "warn", message: "delivery rejected" });

    expect(captured.logs()).toEqual([
      expect.objectContaining({ level: "WARN", message: "delivery rejected" }),
    ]);
    expect(captured.metrics()).toEqual([
      expect.objectContaining({ Stack: "test-stack", Outcome: "accepted", Deliveries: 1 }),
    ]);
  });

  it("reads LOG_LEVEL too", () => {
    const emit = coldStart(load, { LOG_LEVEL: "ERROR" });

    emit({ level: "warn", message: "delivery rejected" });
    emit({ level: "error", message: "delivery failed" });

    expect(captured.logs().map((line) => line.message)).toEqual(["delivery failed"]);
  });
});
