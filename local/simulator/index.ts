/** The AssemblyAI API simulator: start it, point the SDK's `baseUrl` at `sim.url`, and drive it from tests. */
export type {
  FaultRule,
  FaultRuleInput,
  FaultStatus,
  RouteKey,
  SimulatorStats,
} from "./faults";
export { FaultInputError, FaultSwitches, ROUTES } from "./faults";
export type {
  EndedSession,
  SessionEndRequest,
  Simulator,
  SimulatorOptions,
  TranscriptStatusEvent,
} from "./server";
export { describeSimulator, startSimulator } from "./server";
export { buildSessionBody } from "./sessions";
export { generateContent, generateWav, hashSeed } from "./synthetic";
export type { AttemptOutcome, DeliveryAttempt, WebhookKind } from "./webhooks";
