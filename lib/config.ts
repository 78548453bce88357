/**
 * The stack's configuration: typed, documented, with defaults, read from CDK context (`cdk.json` or
 * `-c key=value`) and validated before any resource is defined, so a mistake fails `cdk synth` with a
 * message that names the setting instead of failing a deployment half-way. A setting that becomes a
 * function's environment variable is parsed by that function's own cold-start parser, with its default and
 * range, so synth refuses exactly what the function would.
 */
import { parseSourceIpAllowlist } from "../functions/receiver/allowlists";
import { parseAuthHeaderName } from "../functions/receiver/config";
import { RECONCILER_NUMBERS } from "../functions/reconciler/config";
import {
  ASSEMBLYAI_REGIONS,
  ASSEMBLYAI_WEBHOOK_IPS,
  type AssemblyAiRegion,
  DEFAULT_REDACTED_AUDIO_HOSTS,
  isAssemblyAiRegion,
} from "../functions/shared/assemblyai";
import { DEFAULT_EVENT_SOURCE } from "../functions/shared/contract/events";
import { QUEUE_RETENTION_SECONDS } from "../functions/shared/contract/resources";
import {
  ConfigurationError,
  parseList,
  parseWholeNumber,
  type WholeNumberSetting,
} from "../functions/shared/env";
import { parseHostRules } from "../functions/shared/redacted-audio-hosts";
import { WORKER_NUMBERS } from "../functions/worker/config";

export interface WebhookStackConfig {
  /**
   * Name of the HTTP header AssemblyAI sends the webhook secret in (`webhook_auth_header_name`).
   * @default "X-Webhook-Secret"
   */
  readonly authHeaderName: string;
  /**
   * ARN of an existing Secrets Manager secret whose SecretString is the webhook auth header value.
   * @default - the stack generates a random 48-character secret
   */
  readonly webhookSecretArn?: string;
  /**
   * Name or ARN of an existing secret holding the AssemblyAI API key of the first (or only) region of
   * `assemblyAiRegion`.
   * @default - the stack creates a secret without a value; set it after deploying (see README)
   */
  readonly apiKeySecret?: string;
  /**
   * Name or ARN of an existing secret holding the API key of AssemblyAI's US region, when `assemblyAiRegion`
   * lists it (for the first region, the same as `apiKeySecret`; give one of the two).
   * @default - `apiKeySecret` when US is the first region, else a secret without a value
   */
  readonly apiKeySecretUs?: string;
  /**
   * Name or ARN of an existing secret holding the API key of AssemblyAI's EU region, when `assemblyAiRegion`
   * lists it (for the first region, the same as `apiKeySecret`; give one of the two).
   * @default - `apiKeySecret` when EU is the first region, else a secret without a value
   */
  readonly apiKeySecretEu?: string;
  /**
   * ARN of the customer-managed KMS key that encrypts the imported secrets (`webhookSecretArn`,
   * `apiKeySecret`): the functions that read them get `kms:Decrypt` on it, only through Secrets Manager in
   * the stack's region. Only for imported secrets; the stack's own use Secrets Manager's AWS managed key.
   * @default - the imported secrets use the AWS managed key `aws/secretsmanager` (no grant needed)
   */
  readonly secretsKmsKeyArn?: string;
  /**
   * The AssemblyAI regions transcripts are created in (`us`, `eu`, `both`, or a list such as `eu,us`): the
   * worker fetches from the region a delivery came from (README, "Regions"), the first one when it cannot
   * tell, and the reconciler lists each.
   * @default ["us"]
   */
  readonly assemblyAiRegion: readonly [AssemblyAiRegion, ...AssemblyAiRegion[]];
  /**
   * Source addresses (IPv4/IPv6, CIDR) allowed to deliver webhooks; other callers get 403.
   * Presets: `assemblyai` (US and EU), `assemblyai-us`, `assemblyai-eu`.
   * @default - any source (the auth header still applies)
   */
  readonly allowedSourceIps: readonly string[];
  /**
   * Hosts the worker may download redacted audio from (exact host or `*.suffix`).
   * @default - AssemblyAI's S3 hosts in us-west-2 and eu-west-1
   */
  readonly redactedAudioHosts: readonly string[];
  /**
   * Steady-state requests per second the API stage accepts before answering 429, which AssemblyAI treats as
   * final (1 to API Gateway's regional account quota, 10,000). Well above what one account's deliveries
   * reach: README, "Throttling".
   * @default 500
   */
  readonly throttleRateLimit: number;
  /**
   * Requests the API stage accepts at once (its token bucket's size; 1 to API Gateway's regional account
   * quota, 5,000): five times AssemblyAI's default paid concurrency of 200, and no more than the receiver
   * can run at once in an account at Lambda's default concurrency quota of 1,000.
   * @default 1000
   */
  readonly throttleBurstLimit: number;
  /**
   * SQS records per worker invocation (1 to 10).
   * @default 10
   */
  readonly workerBatchSize: number;
  /**
   * Most concurrent worker invocations (2 to 1000). Protects the AssemblyAI API's account limit of
   * 20,000 requests per 5 minutes.
   * @default 5
   */
  readonly workerMaxConcurrency: number;
  /**
   * Receiver function memory in MB.
   * @default 256
   */
  readonly receiverMemoryMb: number;
  /**
   * Worker function memory in MB; 512 MB stores a 10-hour transcript.
   * @default 512
   */
  readonly workerMemoryMb: number;
  /**
   * Largest transcript text, in UTF-8 bytes, kept inline on the DynamoDB item (the rest goes to S3).
   * @default 100000
   */
  readonly inlineTextMaxBytes: number;
  /**
   * What happens to the table, bucket, log groups and the secrets the stack created when it is deleted.
   * @default "retain"
   */
  readonly removalPolicy: "retain" | "destroy";
  /**
   * Days CloudWatch keeps function and access logs (a CloudWatch retention value).
   * @default 30
   */
  readonly logRetentionDays: number;
  /**
   * Encrypt the transcript bucket with a customer-managed KMS key (rotated yearly; $1 a month plus requests)
   * instead of S3-managed keys. Anyone reading the bucket then also needs `kms:Decrypt` on it.
   * @default false
   */
  readonly bucketKmsKey: boolean;
  /**
   * Encrypt the function and access logs with a customer-managed KMS key (rotated yearly; $1 a month plus
   * requests) instead of CloudWatch Logs' own keys.
   * @default false
   */
  readonly logsKmsKey: boolean;
  /**
   * Days after which stored transcripts move to S3 Infrequent Access (30 or more).
   * @default - never
   */
  readonly transcriptsInfrequentAccessDays?: number;
  /**
   * Days after which stored transcripts are deleted from the bucket.
   * @default - never
   */
  readonly transcriptsExpireDays?: number;
  /**
   * Days after which redacted audio is deleted from the bucket.
   * @default - never
   */
  readonly redactedAudioExpireDays?: number;
  /**
   * Days a record is kept: each record expires that long after its last write (DynamoDB time to live on
   * `expires_at`), and each object under the record prefixes (`transcripts/`, `redacted-audio/`) that long
   * after it was written (S3 lifecycle rules; an expired version goes a day later), so that nothing outlives
   * its record. `transcriptsExpireDays` and `redactedAudioExpireDays` may delete objects sooner, never later.
   * @default - records and their objects are kept forever
   */
  readonly retentionDays?: number;
  /**
   * DELETE each transcript at AssemblyAI once its record is stored (and, with `redact_pii_audio`, once its
   * redacted audio is stored or has failed for good): README, "Deleting transcripts at AssemblyAI".
   * @default false
   */
  readonly deleteFromAssemblyAi: boolean;
  /**
   * E-mail address subscribed to the alarm topic (the owner confirms the subscription once).
   * @default - no subscription; subscribe anything you like to the `AlarmTopicArn` output
   */
  readonly alarmEmail?: string;
  /**
   * Age in seconds of the oldest queued delivery above which the "oldest delivery too old" alarm fires
   * (60 or more, below the queue's 4-day retention).
   * @default 900
   */
  readonly oldestMessageAlarmSeconds: number;
  /**
   * Deliveries rejected as `unauthorized` within 5 minutes above which the auth-failure alarm fires.
   * @default 20
   */
  readonly authFailureAlarmThreshold: number;
  /**
   * Minutes between reconciler runs, which queue transcripts whose webhook never arrived; 0 turns it off.
   * @default 15
   */
  readonly reconcileScheduleMinutes: number;
  /**
   * Most AssemblyAI API requests one reconciler run makes (it shares the account's 20,000 per 5 minutes).
   * @default 200
   */
  readonly reconcileMaxApiCalls: number;
  /**
   * How far back the reconciler's first run looks, in minutes (later runs continue from a checkpoint).
   * @default 60
   */
  readonly reconcileLookbackMinutes: number;
  /**
   * Name or ARN of an existing EventBridge bus (of this account and region) the stack publishes its events to
   * (README, "Events"), e.g. `default` for the account's default bus.
   * @default - the stack creates a bus of its own
   */
  readonly eventBusName?: string;
  /**
   * The `source` of every event the stack publishes (what a rule matches on): letters, digits and `.-_/`, not
   * starting with `aws.` (reserved for AWS services).
   * @default "assemblyai.webhooks"
   */
  readonly eventSource: string;
}

export const DEFAULT_CONFIG: WebhookStackConfig = {
  authHeaderName: "X-Webhook-Secret",
  assemblyAiRegion: ["us"],
  allowedSourceIps: [],
  redactedAudioHosts: DEFAULT_REDACTED_AUDIO_HOSTS,
  throttleRateLimit: 500,
  throttleBurstLimit: 1000,
  workerBatchSize: 10,
  workerMaxConcurrency: 5,
  receiverMemoryMb: 256,
  workerMemoryMb: 512,
  inlineTextMaxBytes: WORKER_NUMBERS.inlineTextMaxBytes.fallback,
  removalPolicy: "retain",
  logRetentionDays: 30,
  bucketKmsKey: false,
  logsKmsKey: false,
  deleteFromAssemblyAi: false,
  oldestMessageAlarmSeconds: 900,
  authFailureAlarmThreshold: 20,
  reconcileScheduleMinutes: 15,
  reconcileMaxApiCalls: RECONCILER_NUMBERS.maxApiCalls.fallback,
  reconcileLookbackMinutes: RECONCILER_NUMBERS.lookbackMinutes.fallback,
  eventSource: DEFAULT_EVENT_SOURCE,
};

/** The context keys the stack reads, one per config field. */
export const CONTEXT_KEYS = Object.keys({
  ...DEFAULT_CONFIG,
  webhookSecretArn: undefined,
  apiKeySecret: undefined,
  apiKeySecretUs: undefined,
  apiKeySecretEu: undefined,
  secretsKmsKeyArn: undefined,
  transcriptsInfrequentAccessDays: undefined,
  transcriptsExpireDays: undefined,
  redactedAudioExpireDays: undefined,
  retentionDays: undefined,
  alarmEmail: undefined,
  eventBusName: undefined,
} satisfies Record<keyof WebhookStackConfig, unknown>) as (keyof WebhookStackConfig)[];

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const SOURCE_IP_PRESETS: Readonly<Record<string, readonly string[]>> = {
  assemblyai: [ASSEMBLYAI_WEBHOOK_IPS.us, ASSEMBLYAI_WEBHOOK_IPS.eu],
  "assemblyai-us": [ASSEMBLYAI_WEBHOOK_IPS.us],
  "assemblyai-eu": [ASSEMBLYAI_WEBHOOK_IPS.eu],
};

const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/**
 * API Gateway's default account quotas per region (all APIs together): a stage may not be set above them,
 * and they, not the stage, are what a raised setting then runs into.
 */
const API_GATEWAY_RATE_QUOTA = 10_000;
const API_GATEWAY_BURST_QUOTA = 5_000;
const API_GATEWAY_QUOTA_HINT =
  " (API Gateway's account quotas per region: 10,000 requests per second, a burst of 5,000)";

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:(.+)$/;
/** What Secrets Manager appends to a secret's name in its ARN; an ARN without it is partial. */
const SECRET_ARN_SUFFIX = /-[A-Za-z0-9]{6}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key\/[A-Za-z0-9-]+$/;
/** One plain address, as SNS's e-mail protocol takes it (no display name, no list). */
const EMAIL_ADDRESS = /^[^\s@",;<>()]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/** Context values arrive as strings from `-c key=value`, as JSON values from `cdk.json`. */
type ContextReader = (key: string) => unknown;

/** Builds the validated configuration from CDK context; throws ConfigError naming the setting. */
export function configFromContext(read: ContextReader): WebhookStackConfig {
  const raw: Partial<Record<keyof WebhookStackConfig, unknown>> = {};
  for (const key of CONTEXT_KEYS) {
    const value = read(key);
    if (value !== undefined && value !== null && value !== "") raw[key] = value;
  }
  return resolveConfig(raw);
}

/** Applies defaults to partial settings and validates the result; throws ConfigError naming the setting. */
export function resolveConfig(raw: Partial<Record<keyof WebhookStackConfig, unknown>>): WebhookStackConfig {
  const config: WebhookStackConfig = {
    authHeaderName: fromFunction(() =>
      parseAuthHeaderName(text(raw, "authHeaderName") ?? DEFAULT_CONFIG.authHeaderName, "authHeaderName"),
    ),
    webhookSecretArn: text(raw, "webhookSecretArn"),
    apiKeySecret: text(raw, "apiKeySecret"),
    apiKeySecretUs: text(raw, "apiKeySecretUs"),
    apiKeySecretEu: text(raw, "apiKeySecretEu"),
    secretsKmsKeyArn: text(raw, "secretsKmsKeyArn"),
    assemblyAiRegion: region(raw),
    allowedSourceIps: sourceIps(raw),
    redactedAudioHosts: redactedAudioHosts(raw),
    throttleRateLimit:
      integer(raw, "throttleRateLimit", 1, API_GATEWAY_RATE_QUOTA, API_GATEWAY_QUOTA_HINT) ??
      DEFAULT_CONFIG.throttleRateLimit,
    throttleBurstLimit:
      integer(raw, "throttleBurstLimit", 1, API_GATEWAY_BURST_QUOTA, API_GATEWAY_QUOTA_HINT) ??
      DEFAULT_CONFIG.throttleBurstLimit,
    workerBatchSize: integer(raw, "workerBatchSize", 1, 10) ?? DEFAULT_CONFIG.workerBatchSize,
    workerMaxConcurrency:
      integer(raw, "workerMaxConcurrency", 2, 1000) ?? DEFAULT_CONFIG.workerMaxConcurrency,
    receiverMemoryMb: integer(raw, "receiverMemoryMb", 128, 10_240) ?? DEFAULT_CONFIG.receiverMemoryMb,
    workerMemoryMb: integer(raw, "workerMemoryMb", 256, 10_240) ?? DEFAULT_CONFIG.workerMemoryMb,
    inlineTextMaxBytes: functionWholeNumber(
      raw.inlineTextMaxBytes,
      WORKER_NUMBERS.inlineTextMaxBytes,
      "inlineTextMaxBytes",
    ),
    removalPolicy: removalPolicy(raw),
    logRetentionDays: logRetention(raw),
    bucketKmsKey: flag(raw, "bucketKmsKey") ?? DEFAULT_CONFIG.bucketKmsKey,
    logsKmsKey: flag(raw, "logsKmsKey") ?? DEFAULT_CONFIG.logsKmsKey,
    transcriptsInfrequentAccessDays: integer(raw, "transcriptsInfrequentAccessDays", 30, 36_500),
    transcriptsExpireDays: integer(raw, "transcriptsExpireDays", 1, 36_500),
    redactedAudioExpireDays: integer(raw, "redactedAudioExpireDays", 1, 36_500),
    retentionDays: integer(
      raw,
      "retentionDays",
      WORKER_NUMBERS.retentionDays.min,
      WORKER_NUMBERS.retentionDays.max,
    ),
    deleteFromAssemblyAi: flag(raw, "deleteFromAssemblyAi") ?? DEFAULT_CONFIG.deleteFromAssemblyAi,
    alarmEmail: text(raw, "alarmEmail"),
    oldestMessageAlarmSeconds:
      integer(raw, "oldestMessageAlarmSeconds", 60, 1_209_600) ?? DEFAULT_CONFIG.oldestMessageAlarmSeconds,
    authFailureAlarmThreshold:
      integer(raw, "authFailureAlarmThreshold", 1, 10_000_000) ?? DEFAULT_CONFIG.authFailureAlarmThreshold,
    reconcileScheduleMinutes:
      integer(raw, "reconcileScheduleMinutes", 0, 1_440) ?? DEFAULT_CONFIG.reconcileScheduleMinutes,
    reconcileMaxApiCalls: functionWholeNumber(
      raw.reconcileMaxApiCalls,
      RECONCILER_NUMBERS.maxApiCalls,
      "reconcileMaxApiCalls",
    ),
    reconcileLookbackMinutes: functionWholeNumber(
      raw.reconcileLookbackMinutes,
      RECONCILER_NUMBERS.lookbackMinutes,
      "reconcileLookbackMinutes",
    ),
    eventBusName: eventBusName(raw),
    eventSource: eventSource(raw),
  };
  checkConsistency(config);
  return config;
}

function checkConsistency(config: WebhookStackConfig): void {
  checkSecrets(config);
  // A rate above the burst quota can only have the largest burst.
  if (config.throttleBurstLimit < Math.min(config.throttleRateLimit, API_GATEWAY_BURST_QUOTA)) {
    throw new ConfigError(
      `throttleBurstLimit (${config.throttleBurstLimit}) must be at least throttleRateLimit ` +
        `(${config.throttleRateLimit}): a burst below the rate throttles steady traffic`,
    );
  }
  checkRegionAllowlist(config);
  if (
    config.alarmEmail !== undefined &&
    (config.alarmEmail.length > 254 || !EMAIL_ADDRESS.test(config.alarmEmail))
  ) {
    throw new ConfigError(`alarmEmail "${config.alarmEmail}" is not a single e-mail address`);
  }
  if (config.oldestMessageAlarmSeconds >= QUEUE_RETENTION_SECONDS) {
    throw new ConfigError(
      `oldestMessageAlarmSeconds (${config.oldestMessageAlarmSeconds}) must be below the delivery queue's ` +
        `retention (${QUEUE_RETENTION_SECONDS} s): SQS deletes a delivery that old before the alarm could fire`,
    );
  }
  // Most requests the stage admits in 5 minutes: the burst, then the steady rate.
  const admittedPerFiveMinutes = config.throttleRateLimit * 300 + config.throttleBurstLimit;
  if (config.authFailureAlarmThreshold >= admittedPerFiveMinutes) {
    throw new ConfigError(
      `authFailureAlarmThreshold (${config.authFailureAlarmThreshold}) can never be exceeded: the API admits ` +
        `at most ${admittedPerFiveMinutes} requests in 5 minutes (throttleRateLimit × 300 + throttleBurstLimit)`,
    );
  }
  if (
    config.transcriptsInfrequentAccessDays !== undefined &&
    config.transcriptsExpireDays !== undefined &&
    config.transcriptsExpireDays <= config.transcriptsInfrequentAccessDays
  ) {
    throw new ConfigError(
      `transcriptsExpireDays (${config.transcriptsExpireDays}) must be later than ` +
        `transcriptsInfrequentAccessDays (${config.transcriptsInfrequentAccessDays})`,
    );
  }
  checkRetention(config);
}

/**
 * `retentionDays` is when a record and everything it points at go. An object setting may delete sooner (the
 * record then says the object is gone: `object_missing`), never later: the retention rule would delete it
 * first, so a later value would promise what cannot happen. A move to Infrequent Access at or after the
 * retention would never take place (and S3 refuses a rule whose expiry is not after its transition).
 */
export function checkRetention(config: WebhookStackConfig): void {
  const retention = config.retentionDays;
  if (retention === undefined) return;
  for (const setting of ["transcriptsExpireDays", "redactedAudioExpireDays"] as const) {
    const days = config[setting];
    if (days !== undefined && days > retention) {
      throw new ConfigError(
        `${setting} (${days}) is later than retentionDays (${retention}): records and their objects are ` +
          `deleted after ${retention} days, so nothing is kept ${days} days; lower ${setting} or drop it`,
      );
    }
  }
  // With transcriptsExpireDays set, checkConsistency has compared the two already.
  const infrequent = config.transcriptsInfrequentAccessDays;
  if (infrequent !== undefined && config.transcriptsExpireDays === undefined && infrequent >= retention) {
    throw new ConfigError(
      `transcriptsInfrequentAccessDays (${infrequent}) must be before retentionDays (${retention}): ` +
        "transcripts are deleted before they would move",
    );
  }
}

/**
 * An allowlist that admits one AssemblyAI region's address must admit every configured region's: a region
 * left out would have every delivery rejected with a 403, which AssemblyAI treats as final.
 */
function checkRegionAllowlist(config: WebhookStackConfig): void {
  // An address is written with or without its /32.
  const plain = (entry: string) => entry.trim().replace(/\/32$/, "");
  const admitted = (region: AssemblyAiRegion) =>
    config.allowedSourceIps.some((entry) => plain(entry) === plain(ASSEMBLYAI_WEBHOOK_IPS[region]));
  const someAdmitted = ASSEMBLYAI_REGIONS.find(admitted);
  const missing = config.assemblyAiRegion.find((region) => !admitted(region));
  if (someAdmitted === undefined || missing === undefined) return;
  const setting = config.assemblyAiRegion.join(",");
  throw new ConfigError(
    config.assemblyAiRegion.length === 1
      ? `allowedSourceIps admits only AssemblyAI's ${someAdmitted.toUpperCase()} address but assemblyAiRegion ` +
          `is "${setting}": every delivery would be rejected`
      : `allowedSourceIps admits AssemblyAI's ${someAdmitted.toUpperCase()} address but not its ` +
          `${missing.toUpperCase()} address, and assemblyAiRegion is "${setting}": every ` +
          `${missing.toUpperCase()} delivery would be rejected (add assemblyai-${missing}, or use assemblyai)`,
  );
}

/** The per-region API key settings, by region. */
const API_KEY_SECRET_SETTINGS = { us: "apiKeySecretUs", eu: "apiKeySecretEu" } as const satisfies Record<
  AssemblyAiRegion,
  keyof WebhookStackConfig
>;

/**
 * The existing secret named for a region's API key, if any: its own setting, or `apiKeySecret` for the first
 * region. Undefined: the stack creates one without a value.
 */
export function apiKeySecretFor(config: WebhookStackConfig, region: AssemblyAiRegion): string | undefined {
  const own = config[API_KEY_SECRET_SETTINGS[region]];
  return own ?? (region === config.assemblyAiRegion[0] ? config.apiKeySecret : undefined);
}

/** A region's key named twice, or named for a region not configured: refused, naming the setting. */
function checkApiKeySecretSettings(config: WebhookStackConfig): void {
  const [firstRegion] = config.assemblyAiRegion;
  for (const region of ASSEMBLYAI_REGIONS) {
    const setting = API_KEY_SECRET_SETTINGS[region];
    if (config[setting] === undefined) continue;
    if (!config.assemblyAiRegion.includes(region)) {
      throw new ConfigError(
        `${setting} is set but assemblyAiRegion ("${config.assemblyAiRegion.join(",")}") does not include ` +
          `${region}: add ${region} to assemblyAiRegion, or drop ${setting}`,
      );
    }
    if (region === firstRegion && config.apiKeySecret !== undefined) {
      throw new ConfigError(
        `apiKeySecret and ${setting} both name the API key of ${region}, the first region of ` +
          "assemblyAiRegion: give one of them",
      );
    }
  }
}

/**
 * Imported secrets must be named so that the grant matches the secret: a complete ARN (granted exactly) or,
 * for the API key, a name (granted `name-??????`). A partial ARN is refused: the grant on it would match no
 * secret, and granting `-??????` after it would also match any secret whose name merely extends it.
 */
function checkSecrets(config: WebhookStackConfig): void {
  checkApiKeySecretSettings(config);
  const regions: string[] = [];
  const keys = ["webhookSecretArn", "apiKeySecret", ...Object.values(API_KEY_SECRET_SETTINGS)] as const;
  for (const key of keys) {
    const value = config[key];
    const byName = key !== "webhookSecretArn";
    if (value === undefined || (byName && !value.startsWith("arn:"))) continue;
    const match = SECRET_ARN.exec(value);
    if (!match)
      throw new ConfigError(
        `${key} must be a Secrets Manager secret ARN${byName ? " or a secret name" : ""}`,
      );
    if (!SECRET_ARN_SUFFIX.test(match[2] ?? "")) {
      throw new ConfigError(
        `${key} "${value}" is a partial ARN (no 6-character suffix after the name): give the complete ARN ` +
          `(aws secretsmanager describe-secret --secret-id <name> --query ARN --output text)` +
          (byName ? " or just the secret's name" : ""),
      );
    }
    regions.push(match[1] ?? "");
  }
  const keyArn = config.secretsKmsKeyArn;
  if (keyArn === undefined) return;
  if (keys.every((key) => config[key] === undefined)) {
    throw new ConfigError(
      "secretsKmsKeyArn is set but no secret is imported (webhookSecretArn, apiKeySecret): the secrets the " +
        "stack creates are encrypted with Secrets Manager's AWS managed key",
    );
  }
  const key = KMS_KEY_ARN.exec(keyArn);
  if (!key) {
    throw new ConfigError(
      `secretsKmsKeyArn "${keyArn}" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>; ` +
        "an alias ARN cannot be granted)",
    );
  }
  const keyRegion = key[1] ?? "";
  const elsewhere = regions.find((region) => region !== keyRegion);
  if (elsewhere !== undefined) {
    throw new ConfigError(
      `secretsKmsKeyArn is in ${keyRegion} but an imported secret is in ${elsewhere}: Secrets Manager ` +
        "encrypts a secret with a key of its own region",
    );
  }
}

function text(raw: Partial<Record<string, unknown>>, key: string): string | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new ConfigError(`${key} must be a string`);
  return value.trim() || undefined;
}

/** `true`/`false` from `cdk.json`, or the strings "true"/"false" from `-c key=value`. */
function flag(raw: Partial<Record<string, unknown>>, key: string): boolean | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw new ConfigError(`${key} must be true or false, got "${value}"`);
}

/**
 * Runs a function's cold-start parser on a setting (which the parser's messages name): what it refuses
 * fails synth with a ConfigError, and `hint` adds what only the stack accepts.
 */
function fromFunction<T>(parse: () => T, hint = ""): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ConfigurationError) throw new ConfigError(`${error.message}${hint}`);
    throw error;
  }
}

/**
 * A list from `cdk.json` (an array) or `-c` (a comma-separated string), split as the function will split the
 * comma-joined variable it becomes.
 */
function list(raw: Partial<Record<string, unknown>>, key: string): string[] | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  const items = Array.isArray(value) ? value : typeof value === "string" ? [value] : undefined;
  if (!items?.every((item) => typeof item === "string")) {
    throw new ConfigError(`${key} must be a list of strings or a comma-separated string`);
  }
  return parseList(items.join(","));
}

function redactedAudioHosts(raw: Partial<Record<string, unknown>>): readonly string[] {
  const hosts = list(raw, "redactedAudioHosts");
  if (hosts === undefined) return DEFAULT_CONFIG.redactedAudioHosts;
  fromFunction(() => parseHostRules(hosts, "redactedAudioHosts"));
  return hosts;
}

/**
 * A whole number a function reads back from its environment (a setting, or a construct's prop): its text
 * (for a number, `String(value)`, as the variable will hold it) parsed by the function's own parser, with the
 * function's default and range; `name` names it in messages.
 */
export function functionWholeNumber(value: unknown, setting: WholeNumberSetting, name: string): number {
  if (value === undefined) return setting.fallback;
  if (typeof value !== "number" && typeof value !== "string") {
    throw new ConfigError(`${name} must be a whole number, got "${String(value)}"`);
  }
  return fromFunction(() => parseWholeNumber(String(value), setting, name));
}

/** A whole number within bounds; `hint` says where the bounds come from. */
function integer(
  raw: Partial<Record<string, unknown>>,
  key: string,
  min: number,
  max: number,
  hint = "",
): number | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  const number = typeof value === "number" ? value : typeof value === "string" ? Number(value) : Number.NaN;
  if (!Number.isInteger(number)) throw new ConfigError(`${key} must be a whole number, got "${value}"`);
  if (number < min || number > max) {
    throw new ConfigError(`${key} must be between ${min} and ${max}${hint}, got ${number}`);
  }
  return number;
}

/** `us`, `eu`, `both` (US first), or a list of regions in order (`eu,us`: EU is the default). */
function region(raw: Partial<Record<string, unknown>>): readonly [AssemblyAiRegion, ...AssemblyAiRegion[]] {
  const entries = list(raw, "assemblyAiRegion")?.map((entry) => entry.toLowerCase());
  if (entries === undefined || entries.length === 0) return DEFAULT_CONFIG.assemblyAiRegion;
  const expanded = entries.length === 1 && entries[0] === "both" ? [...ASSEMBLYAI_REGIONS] : entries;
  const regions: AssemblyAiRegion[] = [];
  for (const entry of expanded) {
    if (!isAssemblyAiRegion(entry)) {
      throw new ConfigError(
        `assemblyAiRegion must be "us", "eu", "both" or a list of them (e.g. "us,eu"), got "${entries.join(",")}"`,
      );
    }
    if (regions.includes(entry)) {
      throw new ConfigError(`assemblyAiRegion lists ${entry} more than once ("${entries.join(",")}")`);
    }
    regions.push(entry);
  }
  return regions as [AssemblyAiRegion, ...AssemblyAiRegion[]];
}

function removalPolicy(raw: Partial<Record<string, unknown>>): "retain" | "destroy" {
  const value = text(raw, "removalPolicy") ?? DEFAULT_CONFIG.removalPolicy;
  if (value !== "retain" && value !== "destroy") {
    throw new ConfigError(`removalPolicy must be "retain" or "destroy", got "${value}"`);
  }
  return value;
}

function logRetention(raw: Partial<Record<string, unknown>>): number {
  const value = integer(raw, "logRetentionDays", 1, 3653) ?? DEFAULT_CONFIG.logRetentionDays;
  if (!LOG_RETENTION_DAYS.includes(value)) {
    throw new ConfigError(
      `logRetentionDays must be one of CloudWatch's retention values (${LOG_RETENTION_DAYS.join(", ")}), got ${value}`,
    );
  }
  return value;
}

function sourceIps(raw: Partial<Record<string, unknown>>): string[] {
  const entries = list(raw, "allowedSourceIps") ?? [];
  const expanded = [
    ...new Set(entries.flatMap((entry) => SOURCE_IP_PRESETS[entry.toLowerCase()] ?? [entry])),
  ];
  fromFunction(
    () => parseSourceIpAllowlist(expanded, "allowedSourceIps"),
    ` (presets: ${Object.keys(SOURCE_IP_PRESETS).join(", ")})`,
  );
  return expanded;
}

/** An event bus's name (custom buses: letters, digits, `.-_`; partner buses add `/`) or its ARN. */
const EVENT_BUS_NAME = /^[A-Za-z0-9._\-/]{1,256}$/;
const EVENT_BUS_ARN = /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._\-/]{1,256}$/;

function eventBusName(raw: Partial<Record<string, unknown>>): string | undefined {
  const value = text(raw, "eventBusName");
  if (value === undefined) return undefined;
  if (value.startsWith("arn:") ? !EVENT_BUS_ARN.test(value) : !EVENT_BUS_NAME.test(value)) {
    throw new ConfigError(
      `eventBusName "${value}" is neither an event bus name (letters, digits and .-_/, at most 256) nor an ` +
        "event bus ARN (arn:aws:events:<region>:<account>:event-bus/<name>)",
    );
  }
  return value;
}

/** What EventBridge takes as an entry's Source, less the prefix it reserves for AWS services. */
const EVENT_SOURCE = /^[A-Za-z0-9._\-/]{1,256}$/;

function eventSource(raw: Partial<Record<string, unknown>>): string {
  const value = text(raw, "eventSource") ?? DEFAULT_CONFIG.eventSource;
  if (!EVENT_SOURCE.test(value) || value.toLowerCase().startsWith("aws.")) {
    throw new ConfigError(
      `eventSource "${value}" must be letters, digits and .-_/ (at most 256), not starting with "aws." ` +
        "(reserved for AWS services)",
    );
  }
  return value;
}
