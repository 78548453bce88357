/**
 * Runs the `aai-webhooks` CLI as a child process against a local stack (`--local`, its state directory in
 * LOCAL_STATE_DIR), as an operator would, and collects its output and exit code.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { LOCAL_CREDENTIALS, type LocalStack, PROJECT_ROOT } from "./support";

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const CLI_TIMEOUT_MS = 60_000;

/**
 * `entry: "tsx"` runs `tsx bin/aai-webhooks.ts` (as `npm run cli` does); `"bin"` runs the command's `bin`
 * shim, `node bin/aai-webhooks.js`, as an installed `aai-webhooks` would.
 */
export function runCli(
  stack: LocalStack,
  args: readonly string[],
  options: { stdin?: string; entry?: "tsx" | "bin" } = {},
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOCAL_STATE_DIR: stack.stateDir, NODE_NO_WARNINGS: "1" };
  // Only the contract file may point the CLI anywhere.
  for (const name of [
    "AWS_ENDPOINT_URL",
    "ASSEMBLYAI_API_KEY",
    "ASSEMBLYAI_BASE_URL",
    "AWS_PROFILE",
    "AAI_WEBHOOKS_STACK",
  ]) {
    delete env[name];
  }
  const [command, entry] =
    options.entry === "bin"
      ? [process.execPath, path.join(PROJECT_ROOT, "bin", "aai-webhooks.js")]
      : [
          path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx"),
          path.join(PROJECT_ROOT, "bin", "aai-webhooks.ts"),
        ];
  const child = spawn(command, [entry, "--local", ...args], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  child.stdin.end(options.stdin ?? "");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`aai-webhooks ${args.join(" ")} did not finish in ${CLI_TIMEOUT_MS} ms\n${stderr}`));
    }, CLI_TIMEOUT_MS);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs with `--json`, expects success, and parses stdout. */
export async function runCliJson<T>(stack: LocalStack, args: readonly string[]): Promise<T> {
  const result = await runCli(stack, ["--json", ...args]);
  if (result.code !== 0) {
    throw new Error(`aai-webhooks ${args.join(" ")} exited ${result.code}\n${result.stderr}${result.stdout}`);
  }
  return JSON.parse(result.stdout) as T;
}

export function secretsClient(stack: LocalStack): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint: stack.contract.awsEndpoint,
    region: stack.contract.region,
    credentials: LOCAL_CREDENTIALS,
  });
}
