/**
 * The AWS emulator the local stack runs on: the one named by AWS_ENDPOINT_URL (LocalStack, or a moto server
 * already running), or else a `moto_server` started here on a free loopback port and stopped on exit.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { freePort, waitForHttp } from "./net";

export interface Emulator {
  readonly endpoint: string;
  /** True when this process started the emulator (and so stops it). */
  readonly owned: boolean;
  stop(): Promise<void>;
}

export class EmulatorUnavailableError extends Error {
  override readonly name = "EmulatorUnavailableError";
  constructor(detail: string) {
    super(
      `No AWS emulator available (${detail}). Either install moto's server, ` +
        `pip install "moto[server]", so that moto_server is on PATH, or start one yourself ` +
        `(moto_server, or LocalStack) and set AWS_ENDPOINT_URL=http://127.0.0.1:<port>.`,
    );
  }
}

export async function startEmulator(env: NodeJS.ProcessEnv = process.env): Promise<Emulator> {
  const given = env.AWS_ENDPOINT_URL?.trim();
  if (given) {
    try {
      await waitForHttp(given, 5_000);
    } catch {
      throw new EmulatorUnavailableError(`AWS_ENDPOINT_URL=${given} does not answer`);
    }
    return { endpoint: given, owned: false, stop: async () => {} };
  }
  return startMoto();
}

async function startMoto(): Promise<Emulator> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  try {
    child = await spawnAndConfirm("moto_server", ["-H", "127.0.0.1", "-p", String(port)]);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new EmulatorUnavailableError(code === "ENOENT" ? "moto_server is not on PATH" : String(error));
  }
  // Whatever way this process ends (even a signal that arrives while moto is still starting), moto goes too.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  try {
    await waitForHttp(`${endpoint}/moto-api/`, 20_000, () => child.exitCode !== null);
  } catch {
    child.kill("SIGKILL");
    throw new EmulatorUnavailableError(`moto_server did not start: ${stderr.trim().split("\n").pop() ?? ""}`);
  }
  return {
    endpoint,
    owned: true,
    stop: () => stopChild(child),
  };
}

function spawnAndConfirm(command: string, args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    child.once("error", reject);
    child.once("spawn", () => resolve(child));
  });
}

/** SIGTERM, then SIGKILL if it lingers; resolves once the process has exited. */
export function stopChild(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
