/**
 * The local stack's moving parts for a benchmark child: an AWS emulator (a fresh moto unless AWS_ENDPOINT_URL
 * names one), the stack's resources on it, the AssemblyAI simulator, and the environment the deployed
 * bundles read at import, built by the same definitions as the stack's and local/start.ts's (minus the
 * outage proxy and the AWS call recorder).
 */
import { request as httpRequest } from "node:http";
import {
  DEFAULT_SECRET_CACHE_TTL_SECONDS,
  receiverEnvironment,
  workerEnvironment,
} from "../../functions/shared/contract/environment";
import { DEFAULT_CONFIG } from "../../lib/config";
import { type Emulator, startEmulator } from "../../local/emulator";
import { createResources, LOCAL_STACK_NAME, type LocalResources } from "../../local/resources";
import { type Simulator, startSimulator } from "../../local/simulator";

export const SIMULATOR_API_KEY = "bench-simulator-key";
export const REGION = "us-east-1";
export const AUTH_HEADER_NAME = DEFAULT_CONFIG.authHeaderName;

/** The stack's default settings, but a first retry after 1 s: a benchmark waits for no 30-second backoff. */
const BENCH_SETTINGS = {
  authHeaderName: AUTH_HEADER_NAME,
  allowedSourceIps: [],
  redactedAudioHosts: DEFAULT_CONFIG.redactedAudioHosts,
  secretCacheTtlSeconds: DEFAULT_SECRET_CACHE_TTL_SECONDS,
  inlineTextMaxBytes: DEFAULT_CONFIG.inlineTextMaxBytes,
  retryBaseSeconds: 1,
};

export interface BenchStack {
  readonly emulator: Emulator;
  readonly simulator: Simulator;
  readonly resources: LocalResources;
  close(): Promise<void>;
}

export async function startBenchStack(options: {
  readonly webhookRetryIntervalMs?: number;
  readonly simulatorDelayMs?: number;
}): Promise<BenchStack> {
  const emulator = await startEmulator();
  try {
    const simulator = await startSimulator({
      apiKey: SIMULATOR_API_KEY,
      processingDelayMs: options.simulatorDelayMs ?? 0,
      webhookRetryIntervalMs: options.webhookRetryIntervalMs ?? 10_000,
    });
    const resources = await createResources({ endpoint: emulator.endpoint, region: REGION }, [
      { region: "us", apiKey: SIMULATOR_API_KEY },
    ]);
    return {
      emulator,
      simulator,
      resources,
      async close() {
        await simulator.close();
        await emulator.stop();
      },
    };
  } catch (error) {
    await emulator.stop();
    throw error;
  }
}

/** Where the bench's functions find their resources: the local stack's, or the no-op AWS endpoint's. */
export interface BenchResources {
  readonly queueUrl: string;
  readonly webhookSecretArn: string;
  readonly tableName: string;
  readonly bucketName: string;
  readonly apiKeySecretArn: string;
}

/**
 * The receiver's and the worker's variables, from their one definition (contract/environment.ts): one
 * process runs both, so it holds both, which must agree on every variable they share.
 */
export function functionVariables(
  resources: BenchResources,
  assemblyAiBaseUrl: string,
): Record<string, string> {
  const receiver = receiverVariables(resources);
  const worker = workerEnvironment(
    {
      stackName: LOCAL_STACK_NAME,
      queueUrl: resources.queueUrl,
      tableName: resources.tableName,
      bucketName: resources.bucketName,
      assemblyAiRegions: [
        { region: "us", baseUrl: assemblyAiBaseUrl, apiKeySecretArn: resources.apiKeySecretArn },
      ],
    },
    BENCH_SETTINGS,
  );
  for (const [name, value] of Object.entries(worker)) {
    if (name in receiver && receiver[name] !== value) {
      throw new Error(`the receiver and the worker need different values of ${name}`);
    }
  }
  return { ...receiver, ...worker };
}

/** The receiver's variables alone, for the sections that run only it. */
export function receiverVariables(
  resources: Pick<BenchResources, "queueUrl" | "webhookSecretArn" | "bucketName">,
): Record<string, string> {
  return receiverEnvironment(
    {
      stackName: LOCAL_STACK_NAME,
      queueUrl: resources.queueUrl,
      webhookSecretArn: resources.webhookSecretArn,
      bucketName: resources.bucketName,
    },
    BENCH_SETTINGS,
  );
}

/** The functions' variables on the local stack, with the emulator's endpoint and credentials. */
export function functionEnvironment(stack: BenchStack, assemblyAiBaseUrl: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: stack.emulator.endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    ...functionVariables(stack.resources, assemblyAiBaseUrl),
  };
}

/** Creates a transcript job on the simulator; resolves with its id. */
export async function submitJob(
  simulatorUrl: string,
  job: { audioUrl: string; webhookUrl?: string; authHeaderValue?: string },
): Promise<string> {
  const body: Record<string, unknown> = { audio_url: job.audioUrl, speaker_labels: true };
  if (job.webhookUrl !== undefined) {
    body.webhook_url = job.webhookUrl;
    body.webhook_auth_header_name = AUTH_HEADER_NAME;
    body.webhook_auth_header_value = job.authHeaderValue;
  }
  const response = await fetch(`${simulatorUrl}/v2/transcript`, {
    method: "POST",
    headers: { authorization: SIMULATOR_API_KEY, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`simulator refused a job: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** Resolves once every id has reached `completed` or `error` on the simulator. */
export function waitForCompleted(
  simulator: Simulator,
  ids: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const pending = new Set(ids);
  return new Promise((resolve, reject) => {
    const check = async () => {
      for (const id of [...pending]) {
        const response = await fetch(`${simulator.url}/v2/transcript/${id}`, {
          headers: { authorization: SIMULATOR_API_KEY },
        });
        const body = (await response.json()) as { status: string };
        if (body.status === "completed" || body.status === "error") pending.delete(id);
        else break;
      }
    };
    const deadline = Date.now() + timeoutMs;
    const loop = () => {
      check()
        .then(() => {
          if (pending.size === 0) resolve();
          else if (Date.now() > deadline) reject(new Error(`${pending.size} jobs did not complete`));
          else setTimeout(loop, 50);
        })
        .catch(reject);
    };
    loop();
  });
}

/** A webhook POST as AssemblyAI sends it (a new connection each time); resolves with status and time. */
export function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = httpRequest(
      url,
      {
        method: "POST",
        agent: false,
        headers: {
          ...headers,
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
        },
      },
      (response) => {
        response.resume();
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, ms: performance.now() - started }),
        );
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}
