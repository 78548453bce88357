/**
 * Runs the AssemblyAI simulator for the local stack: `npx tsx local/simulator/main.ts`.
 *
 * Environment: PORT (default 4010), SIMULATOR_API_KEY (only this key is accepted; default any),
 * SIMULATOR_DELAY_MS (processing time, default 1500), SIMULATOR_WEBHOOK_RETRY_MS (default 10000),
 * SIMULATOR_WEBHOOK_TIMEOUT_MS (default 10000), SIMULATOR_PUBLIC_URL (base URL handed out in responses).
 */
import { startSimulator } from "./server";

function integerFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  }
  return value;
}

async function main(): Promise<void> {
  const simulator = await startSimulator({
    port: integerFromEnv("PORT", 4010),
    apiKey: process.env.SIMULATOR_API_KEY || undefined,
    publicUrl: process.env.SIMULATOR_PUBLIC_URL || undefined,
    processingDelayMs: integerFromEnv("SIMULATOR_DELAY_MS", 1500),
    webhookRetryIntervalMs: integerFromEnv("SIMULATOR_WEBHOOK_RETRY_MS", 10_000),
    webhookTimeoutMs: integerFromEnv("SIMULATOR_WEBHOOK_TIMEOUT_MS", 10_000),
    logger: (line) => console.log(`[assemblyai-sim] ${line}`),
  });
  console.log(simulator.describe());

  const stop = (signal: NodeJS.Signals): void => {
    console.log(`[assemblyai-sim] ${signal}: closing`);
    void simulator.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
