/**
 * Resolves the stack the CLI works on into one `StackTarget`: a deployed stack found by name through
 * CloudFormation's outputs (standard credential chain, `--profile`, `--region`), or the local stack through
 * the `stack.json` that `npm start` writes. Commands only ever see the target.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
  type Output as StackOutput,
} from "@aws-sdk/client-cloudformation";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ASSEMBLYAI_BASE_URLS, type AssemblyAiRegion } from "../functions/shared/assemblyai";
import { API_KEY_PLACEHOLDER_PREFIX } from "../functions/shared/contract/environment";
import { apiKeySecretOutputKey } from "../functions/shared/contract/resources";
import { readApiKey, readSecretString } from "../functions/shared/secrets";
import { clientConfig, LOCAL_NAMES, localApiKeySecretName } from "../local/resources";
import type { LocalStackContract } from "../local/start";
import { CliError } from "./output";

export const DEFAULT_STACK_NAME = "AssemblyAiWebhooks";
export const PROJECT_ROOT = path.resolve(__dirname, "..");

/** Where and with which key the CLI talks to AssemblyAI. */
export interface AssemblyAiAccess {
  readonly apiKey: string;
  readonly baseUrl: string;
}

export interface StackTarget {
  readonly mode: "aws" | "local";
  /** For messages: `stack AssemblyAiWebhooks (eu-west-1)` or `the local stack (.local/stack.json)`. */
  readonly description: string;
  readonly webhookUrl: string;
  readonly authHeaderName: string;
  readonly tableName: string;
  readonly bucketName: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  /** The usage counters' table (`usage`); absent for a stack deployed before it existed. */
  readonly usageTableName?: string;
  /** The bus the stack's events go to (`erase` puts `Customer Erased` there); absent when it has none. */
  readonly eventBusName?: string;
  /** The `source` of the stack's events. @default DEFAULT_EVENT_SOURCE */
  readonly eventSource?: string;
  /** Events EventBridge refused after the publisher's retries (`events dlq`); absent on older stacks. */
  readonly eventsDlqUrl?: string;
  /** Secret id (ARN or name) of the AssemblyAI API key: what `set-api-key` writes. */
  readonly apiKeySecretId: string;
  /** Secret id (ARN or name) of the webhook secret: what `rotate-secret` rotates. */
  readonly webhookSecretId: string;
  /**
   * How long the stack's receiver caches the webhook secret (its `WebhookSecretCacheTtlSeconds` output,
   * or the local stack's stack.json); absent for a stack deployed before the receiver read AWSPENDING.
   */
  readonly webhookSecretCacheTtlSeconds?: number;
  /** The local stack's state directory (its stack.json); absent for a deployed stack. */
  readonly localStateDir?: string;
  /** Where the CLI talks to AssemblyAI (no key needed to know it: `set-api-key` checks a new key there). */
  readonly assemblyAiBaseUrl: string;
  /** The low-level client: records are read through it with the worker's codec (TranscriptStoreClient). */
  readonly dynamodb: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly secrets: SecretsManagerClient;
  readonly events: EventBridgeClient;
  /** The webhook auth header value; never printed. */
  webhookSecret(): Promise<string>;
  assemblyAi(): Promise<AssemblyAiAccess>;
  close(): void;
}

export interface TargetOptions {
  readonly local?: boolean;
  readonly stackName?: string;
  readonly region?: string;
  readonly profile?: string;
  /**
   * Where AssemblyAI is for a deployed stack. @default the stack's `AssemblyAiRegion` output, else "us"
   * (stacks deployed before that output existed)
   */
  readonly assemblyaiRegion?: AssemblyAiRegion;
}

/** The stack outputs the CLI needs (lib/webhook-stack.ts). */
export interface DeployedStackOutputs {
  readonly webhookUrl: string;
  readonly authHeaderName: string;
  readonly webhookSecretArn: string;
  readonly apiKeySecretArn: string;
  readonly tableName: string;
  readonly bucketName: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  /**
   * The stack's `AssemblyAiRegion` output (its first region, when it lists several); absent on stacks
   * deployed before it existed.
   */
  readonly assemblyAiRegion?: AssemblyAiRegion;
  /** The API key secret of each further region (`ApiKeySecretArnEu`, …) of a stack with several. */
  readonly otherRegions?: readonly { readonly region: AssemblyAiRegion; readonly apiKeySecretArn: string }[];
  /** The stack's `WebhookSecretCacheTtlSeconds` output; absent on stacks deployed before it existed. */
  readonly webhookSecretCacheTtlSeconds?: number;
  /** `UsageTableName`, `EventBusName`, `EventSource`: absent on stacks deployed before they existed. */
  readonly usageTableName?: string;
  readonly eventBusName?: string;
  readonly eventSource?: string;
  readonly eventsDlqUrl?: string;
}

const OUTPUT_KEYS: Readonly<
  Record<
    Exclude<
      keyof DeployedStackOutputs,
      | "assemblyAiRegion"
      | "otherRegions"
      | "webhookSecretCacheTtlSeconds"
      | "usageTableName"
      | "eventBusName"
      | "eventSource"
      | "eventsDlqUrl"
    >,
    string
  >
> = {
  webhookUrl: "WebhookUrl",
  authHeaderName: "AuthHeaderName",
  webhookSecretArn: "WebhookSecretArn",
  apiKeySecretArn: "ApiKeySecretArn",
  tableName: "TableName",
  bucketName: "BucketName",
  queueUrl: "QueueUrl",
  dlqUrl: "DeadLetterQueueUrl",
};

/** Outputs of later versions: a stack deployed before them works without. */
const OPTIONAL_OUTPUT_KEYS = {
  usageTableName: "UsageTableName",
  eventBusName: "EventBusName",
  eventSource: "EventSource",
  eventsDlqUrl: "EventsDeadLetterQueueUrl",
} as const;

const REGION_OUTPUT_KEY = "AssemblyAiRegion";
export const SECRET_CACHE_TTL_OUTPUT_KEY = "WebhookSecretCacheTtlSeconds";

function isAssemblyAiRegion(value: string): value is AssemblyAiRegion {
  return Object.hasOwn(ASSEMBLYAI_BASE_URLS, value);
}

/**
 * Reads the named outputs; a missing one means this is not (or no longer) a stack of this project. The
 * optional `AssemblyAiRegion` is only taken when it names a region this CLI knows.
 */
export function outputsFromStack(
  stackName: string,
  outputs: readonly StackOutput[] | undefined,
): DeployedStackOutputs {
  const byKey = new Map((outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
  const missing = Object.values(OUTPUT_KEYS).filter((key) => !byKey.get(key));
  if (missing.length > 0) {
    throw new CliError(
      `stack ${stackName} lacks the output${missing.length > 1 ? "s" : ""} ${missing.join(", ")}: ` +
        "is it an AssemblyAI webhooks stack, deployed with this version?",
    );
  }
  // One region, or several (`us,eu`), the first being the default.
  const listed = byKey.get(REGION_OUTPUT_KEY)?.trim().toLowerCase() || undefined;
  const regions = listed?.split(",").map((entry) => entry.trim());
  const unknown = regions?.find((entry) => !isAssemblyAiRegion(entry));
  if (unknown !== undefined) {
    throw new CliError(
      `stack ${stackName}'s output ${REGION_OUTPUT_KEY} is "${listed}", which this CLI does not know: ` +
        `pass --assemblyai-region (${Object.keys(ASSEMBLYAI_BASE_URLS).join(" or ")}) or ASSEMBLYAI_BASE_URL`,
    );
  }
  const [region, ...others] = (regions ?? []) as AssemblyAiRegion[];
  const otherRegions = others.map((other) => {
    const key = apiKeySecretOutputKey(other);
    const apiKeySecretArn = byKey.get(key);
    if (!apiKeySecretArn) {
      throw new CliError(
        `stack ${stackName} lists the AssemblyAI region ${other} but lacks the output ${key}`,
      );
    }
    return { region: other, apiKeySecretArn };
  });
  const required = Object.fromEntries(
    Object.entries(OUTPUT_KEYS).map(([field, key]) => [field, byKey.get(key) as string]),
  ) as unknown as DeployedStackOutputs;
  const ttl = byKey.get(SECRET_CACHE_TTL_OUTPUT_KEY)?.trim();
  if (ttl !== undefined && !/^[1-9]\d*$/.test(ttl)) {
    throw new CliError(
      `stack ${stackName}'s output ${SECRET_CACHE_TTL_OUTPUT_KEY} is "${ttl}", not a number of seconds`,
    );
  }
  const optional = Object.fromEntries(
    Object.entries(OPTIONAL_OUTPUT_KEYS)
      .map(([field, key]) => [field, byKey.get(key)?.trim()])
      .filter(([, value]) => value),
  ) as Pick<DeployedStackOutputs, keyof typeof OPTIONAL_OUTPUT_KEYS>;
  return {
    ...required,
    ...optional,
    ...(region !== undefined ? { assemblyAiRegion: region } : {}),
    ...(otherRegions.length > 0 ? { otherRegions } : {}),
    ...(ttl !== undefined ? { webhookSecretCacheTtlSeconds: Number(ttl) } : {}),
  };
}

/** DescribeStacks by name; "does not exist" becomes a one-line error naming the stack and region. */
export async function describeDeployedStack(
  cloudFormation: CloudFormationClient,
  stackName: string,
): Promise<DeployedStackOutputs> {
  let stacks: DescribeStacksCommandOutput;
  try {
    stacks = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (error) {
    if (error instanceof Error && error.name === "ValidationError" && /does not exist/.test(error.message)) {
      const region = await cloudFormation.config.region().catch(() => "the default region");
      throw new CliError(
        `no stack named ${stackName} in ${region}: deploy it (npm run deploy), or pass --stack-name / --region / --profile`,
      );
    }
    throw error;
  }
  const stack = stacks.Stacks?.[0];
  if (stack === undefined) throw new CliError(`no stack named ${stackName}`);
  if (stack.StackStatus?.endsWith("_FAILED") || stack.StackStatus === "DELETE_COMPLETE") {
    throw new CliError(`stack ${stackName} is in state ${stack.StackStatus}`);
  }
  return outputsFromStack(stackName, stack.Outputs);
}

/** `LOCAL_STATE_DIR` as `npm start` reads it: relative to the project root, `.local` by default. */
export function localStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(PROJECT_ROOT, env.LOCAL_STATE_DIR || ".local");
}

/**
 * Rewrites stack.json with `authHeaderValue` replaced (after rotate-secret), atomically and private, so
 * tools that read the header value from it use the current one. Nothing when the stack has stopped.
 */
export function updateLocalAuthHeaderValue(stateDir: string, authHeaderValue: string): boolean {
  const file = path.join(stateDir, "stack.json");
  if (!existsSync(file)) return false;
  const contract = readLocalContract(stateDir);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ ...contract, authHeaderValue }, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
  return true;
}

export function readLocalContract(stateDir: string): LocalStackContract {
  const file = path.join(stateDir, "stack.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new CliError(
      `no local stack: ${file} does not exist (start it with npm start; LOCAL_STATE_DIR picks another)`,
    );
  }
  try {
    return JSON.parse(text) as LocalStackContract;
  } catch {
    throw new CliError(`${file} is not valid JSON: restart the local stack`);
  }
}

/** The key, unless it is missing or still the placeholder (or no value: see readApiKey). */
export function usableApiKey(value: string | undefined, where: string): string {
  const key = value?.trim();
  if (!key) throw new CliError(`no AssemblyAI API key in ${where}`);
  if (key.startsWith(API_KEY_PLACEHOLDER_PREFIX)) {
    throw new CliError(`the AssemblyAI API key is not set (${where} holds no key yet): run set-api-key`);
  }
  return key;
}

/**
 * The local stack's region the CLI works with: `--assemblyai-region`, else the first. Stacks started before
 * regions were listed have one, at `assemblyAiBaseUrl`.
 */
function localRegion(contract: LocalStackContract, wanted: AssemblyAiRegion | undefined) {
  const regions = contract.assemblyAiRegions ?? [];
  if (regions.length === 0 || wanted === undefined) {
    return {
      apiKeySecretId: LOCAL_NAMES.apiKeySecret,
      baseUrl: contract.assemblyAiBaseUrl,
      apiKey: contract.assemblyAiApiKey,
    };
  }
  const index = regions.findIndex((entry) => entry.region === wanted);
  const found = regions[index];
  if (found === undefined) {
    throw new CliError(
      `the local stack serves AssemblyAI region ${regions.map((entry) => entry.region).join(" and ")}, not ` +
        `${wanted}: start it with ASSEMBLYAI_REGION=both`,
    );
  }
  return {
    apiKeySecretId: localApiKeySecretName(found.region, index === 0),
    baseUrl: found.baseUrl,
    apiKey: found.apiKey,
  };
}

export function localTarget(
  contract: LocalStackContract,
  stateDir: string,
  assemblyaiRegion?: AssemblyAiRegion,
): StackTarget {
  const access = localRegion(contract, assemblyaiRegion);
  const aws = clientConfig({ endpoint: contract.awsEndpoint, region: contract.region });
  // Through the local stack's DynamoDB proxy, which gives moto the per-item atomicity DynamoDB has.
  const dynamodb = new DynamoDBClient({
    ...aws,
    endpoint: contract.dynamodbEndpoint ?? contract.awsEndpoint,
  });
  const documents = DynamoDBDocumentClient.from(dynamodb);
  const s3 = new S3Client({ ...aws, forcePathStyle: true });
  const sqs = new SQSClient(aws);
  const secrets = new SecretsManagerClient(aws);
  // Through the local stack's stand-in for its rule (stack.json's eventBridgeEndpoint), so that what the
  // CLI puts on the bus (redrive, republish, Customer Erased) reaches the events queue, as on AWS.
  const events = new EventBridgeClient({
    ...aws,
    endpoint: contract.eventBridgeEndpoint ?? contract.awsEndpoint,
  });
  return {
    mode: "local",
    description: `the local stack (${path.relative(process.cwd(), path.join(stateDir, "stack.json")) || "stack.json"})`,
    webhookUrl: contract.webhookUrl,
    authHeaderName: contract.authHeaderName,
    tableName: contract.tableName,
    bucketName: contract.bucketName,
    queueUrl: contract.queueUrl,
    dlqUrl: contract.dlqUrl,
    ...(contract.usageTableName !== undefined ? { usageTableName: contract.usageTableName } : {}),
    // Absent from stack.json files written before the local stack published events.
    ...(contract.eventBusName ? { eventBusName: contract.eventBusName } : {}),
    ...(contract.eventSource ? { eventSource: contract.eventSource } : {}),
    ...(contract.eventsDlqUrl ? { eventsDlqUrl: contract.eventsDlqUrl } : {}),
    apiKeySecretId: access.apiKeySecretId,
    // Stacks started before these fields existed: the secret has its fixed local name; no TTL is known.
    webhookSecretId: contract.webhookSecretArn ?? LOCAL_NAMES.webhookSecret,
    ...(contract.webhookSecretCacheTtlSeconds !== undefined
      ? { webhookSecretCacheTtlSeconds: contract.webhookSecretCacheTtlSeconds }
      : {}),
    localStateDir: stateDir,
    assemblyAiBaseUrl: access.baseUrl,
    dynamodb,
    documents,
    s3,
    sqs,
    secrets,
    events,
    // From the emulator, not the contract: after rotate-secret the current value is the new one.
    webhookSecret: async () => {
      const value = await readSecretString(
        secrets,
        contract.webhookSecretArn ?? LOCAL_NAMES.webhookSecret,
        "AWSCURRENT",
      );
      if (!value) throw new CliError("the local webhook secret is empty: restart the local stack");
      return value;
    },
    assemblyAi: async () => ({ apiKey: access.apiKey, baseUrl: access.baseUrl }),
    close: () => {
      for (const client of [dynamodb, s3, sqs, secrets, events]) client.destroy();
    },
  };
}

export interface AwsClientOptions {
  readonly region?: string;
  readonly profile?: string;
}

export function deployedTarget(
  stackName: string,
  outputs: DeployedStackOutputs,
  clients: AwsClientOptions,
  options: { readonly assemblyaiRegion?: AssemblyAiRegion; readonly env?: NodeJS.ProcessEnv } = {},
): StackTarget {
  const aws = {
    ...(clients.region ? { region: clients.region } : {}),
    ...(clients.profile ? { profile: clients.profile } : {}),
  };
  const dynamodb = new DynamoDBClient(aws);
  const documents = DynamoDBDocumentClient.from(dynamodb);
  const s3 = new S3Client(aws);
  const sqs = new SQSClient(aws);
  const secrets = new SecretsManagerClient(aws);
  const events = new EventBridgeClient(aws);
  const env = options.env ?? process.env;
  const { assemblyAiRegion: stackRegion, otherRegions, webhookSecretCacheTtlSeconds, ...fields } = outputs;
  // An explicit --assemblyai-region wins over the stack's output; ASSEMBLYAI_BASE_URL over both.
  const region = options.assemblyaiRegion ?? stackRegion ?? "us";
  const baseUrl = env.ASSEMBLYAI_BASE_URL?.trim() || ASSEMBLYAI_BASE_URLS[region];
  // A further region of the stack has its own key secret; the first (or only) region's is ApiKeySecretArn.
  const apiKeySecretArn =
    otherRegions?.find((other) => other.region === region)?.apiKeySecretArn ?? outputs.apiKeySecretArn;
  return {
    mode: "aws",
    description: `stack ${stackName}`,
    ...fields,
    apiKeySecretId: apiKeySecretArn,
    webhookSecretId: outputs.webhookSecretArn,
    ...(webhookSecretCacheTtlSeconds !== undefined ? { webhookSecretCacheTtlSeconds } : {}),
    assemblyAiBaseUrl: baseUrl,
    dynamodb,
    documents,
    s3,
    sqs,
    secrets,
    events,
    webhookSecret: async () => {
      const value = await readSecretString(secrets, outputs.webhookSecretArn, "AWSCURRENT");
      if (!value) throw new CliError(`the webhook secret ${outputs.webhookSecretArn} is empty`);
      return value;
    },
    assemblyAi: async () => {
      const fromEnv = env.ASSEMBLYAI_API_KEY?.trim();
      if (fromEnv) return { apiKey: fromEnv, baseUrl };
      const stored = await readApiKey(secrets, apiKeySecretArn);
      return { apiKey: usableApiKey(stored, `secret ${apiKeySecretArn}`), baseUrl };
    },
    close: () => {
      for (const client of [dynamodb, s3, sqs, secrets, events]) client.destroy();
    },
  };
}

/** The one entry point commands use. */
export async function resolveTarget(
  options: TargetOptions,
  env: NodeJS.ProcessEnv = process.env,
  cloudFormation?: CloudFormationClient,
): Promise<StackTarget> {
  if (options.local) {
    const stateDir = localStateDir(env);
    return localTarget(readLocalContract(stateDir), stateDir, options.assemblyaiRegion);
  }
  const stackName = options.stackName ?? DEFAULT_STACK_NAME;
  const clientOptions: AwsClientOptions = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  };
  const cfn = cloudFormation ?? new CloudFormationClient(clientOptions);
  try {
    const outputs = await describeDeployedStack(cfn, stackName);
    return deployedTarget(stackName, outputs, clientOptions, {
      ...(options.assemblyaiRegion ? { assemblyaiRegion: options.assemblyaiRegion } : {}),
      env,
    });
  } finally {
    if (cloudFormation === undefined) cfn.destroy();
  }
}
