/**
 * `status`: is the pipeline keeping up? Queue depth, dead-letter depth, whether the API key is set, how many
 * fetch_failed records wait for the reconciler to queue them again, and a few failed records. Read-only:
 * nothing here receives a message, so no receive count changes.
 */
import { QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { Command } from "commander";
import { API_KEY_PLACEHOLDER_PREFIX } from "../../functions/shared/contract/environment";
import {
  FETCH_RETRY_ATTRIBUTES,
  FETCH_RETRY_INDEX,
  FETCH_RETRY_WAITING,
} from "../../functions/shared/contract/resources";
import { readApiKey } from "../../functions/shared/secrets";
import { parsePositiveInteger } from "../args";
import type { CommandContext } from "../context";
import { describeError, formatFields, formatTable } from "../output";
import { type QueueDepth, queueDepth } from "../queues";
import type { StoredRecord } from "../records";
import type { StackTarget } from "../stack";
import { RECORD_COLUMNS } from "./records";
import type { Runner } from "./runner";

/** Items a failure scan may read: a Scan costs per item read, so it is capped rather than exhaustive. */
const SCAN_BUDGET = 1000;

export interface FailureSample {
  readonly records: StoredRecord[];
  readonly scanned: number;
  /** False when the budget ran out before the table did: there may be more. */
  readonly complete: boolean;
}

/** Records with status fetch_failed or error, newest stored first, from at most SCAN_BUDGET items. */
export async function recentFailures(target: StackTarget, limit: number): Promise<FailureSample> {
  const found: StoredRecord[] = [];
  let scanned = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await target.documents.send(
      new ScanCommand({
        TableName: target.tableName,
        FilterExpression: "#status IN (:fetchFailed, :error)",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":fetchFailed": "fetch_failed", ":error": "error" },
        Limit: Math.min(250, SCAN_BUDGET - scanned),
        ExclusiveStartKey: start,
      }),
    );
    found.push(...((page.Items ?? []) as StoredRecord[]));
    scanned += page.ScannedCount ?? 0;
    start = page.LastEvaluatedKey;
  } while (start !== undefined && scanned < SCAN_BUDGET && found.length < limit * 4);
  const newestFirst = found.sort((a, b) =>
    String(b.stored_at ?? "").localeCompare(String(a.stored_at ?? "")),
  );
  return { records: newestFirst.slice(0, limit), scanned, complete: start === undefined };
}

/**
 * fetch_failed records (AssemblyAI answered 401, 403 or 404) that wait for the reconciler to queue them again:
 * every item of the sparse by-fetch-retry index, counted (it holds nothing else).
 */
export async function waitingRetries(target: StackTarget): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await target.documents.send(
      new QueryCommand({
        TableName: target.tableName,
        IndexName: FETCH_RETRY_INDEX,
        KeyConditionExpression: "#state = :waiting",
        ExpressionAttributeNames: { "#state": FETCH_RETRY_ATTRIBUTES.state },
        ExpressionAttributeValues: { ":waiting": FETCH_RETRY_WAITING },
        Select: "COUNT",
        ExclusiveStartKey: start,
      }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return count;
}

export type ApiKeyState = "set" | "placeholder" | "empty" | `unreadable: ${string}`;

async function apiKeyState(target: StackTarget): Promise<ApiKeyState> {
  try {
    const value = (await readApiKey(target.secrets, target.apiKeySecretId))?.trim();
    if (!value) return "empty";
    return value.startsWith(API_KEY_PLACEHOLDER_PREFIX) ? "placeholder" : "set";
  } catch (error) {
    return `unreadable: ${describeError(error).message}`;
  }
}

function depthJson(depth: QueueDepth) {
  return { visible: depth.visible, in_flight: depth.inFlight, delayed: depth.delayed };
}

function depthText(depth: QueueDepth): string {
  const delayed = depth.delayed > 0 ? `, ${depth.delayed} delayed` : "";
  return `${depth.visible + depth.inFlight} (${depth.visible} waiting, ${depth.inFlight} in flight${delayed})`;
}

/** SQS attributes carry no age; the age is the CloudWatch metric, named here for the operator to query. */
export function oldestMessageHint(target: Pick<StackTarget, "mode" | "queueUrl">): string {
  if (target.mode === "local") return "n/a (the local emulator has no CloudWatch metrics)";
  const queueName = target.queueUrl.split("/").pop() ?? "<QueueName>";
  return (
    "n/a from SQS; CloudWatch has it: aws cloudwatch get-metric-statistics --namespace AWS/SQS " +
    `--metric-name ApproximateAgeOfOldestMessage --dimensions Name=QueueName,Value=${queueName} ` +
    "--statistics Maximum --period 300 --start-time <5 min ago> --end-time <now>"
  );
}

async function status(context: CommandContext, failures: number): Promise<void> {
  const target = await context.target();
  const [queue, dlq, apiKey, waiting, sample] = await Promise.all([
    queueDepth(target.sqs, target.queueUrl),
    queueDepth(target.sqs, target.dlqUrl),
    apiKeyState(target),
    waitingRetries(target),
    recentFailures(target, failures),
  ]);
  const result = {
    stack: target.description,
    queue: { ...depthJson(queue), oldest_message_age: null },
    dead_letter_queue: depthJson(dlq),
    api_key: apiKey,
    fetch_failed_waiting_retry: waiting,
    recent_failures: sample.records,
    failures_scanned: sample.scanned,
    failures_scan_complete: sample.complete,
  };
  context.out.result(result, () => {
    const lines = [
      formatFields([
        ["stack", target.description],
        ["queue", depthText(queue)],
        ["oldest message", oldestMessageHint(target)],
        [
          "dead-letter queue",
          `${depthText(dlq)}${dlq.visible + dlq.inFlight > 0 ? "  (see: dlq list)" : ""}`,
        ],
        ["API key", apiKey === "placeholder" ? "placeholder: not set yet (run set-api-key)" : apiKey],
        [
          "retries waiting",
          `${waiting} fetch_failed record(s) (AssemblyAI answered 401/403/404)` +
            (waiting > 0 ? "; the reconciler queues them again once the API key changes, or later" : ""),
        ],
      ]),
      "",
    ];
    const scope = sample.complete
      ? `all ${sample.scanned} records scanned`
      : `from the first ${sample.scanned} records scanned; there may be more`;
    if (sample.records.length === 0) {
      lines.push(`recent failures: none (${scope})`);
    } else {
      lines.push(`recent failures (status fetch_failed or error, newest first; ${scope}):`);
      lines.push(
        formatTable(
          [
            { header: "CUSTOMER", value: (record: StoredRecord) => record.customer_id, maxWidth: 30 },
            ...RECORD_COLUMNS,
          ],
          sample.records,
        ),
      );
    }
    return lines.join("\n");
  });
}

export function registerStatus(program: Command, run: Runner): void {
  program
    .command("status")
    .description(
      "queue and dead-letter depth, the API key's state, fetch_failed records waiting for a retry and recent failed records",
    )
    .option("--failures <n>", "show up to n failed records", parsePositiveInteger, 5)
    .action((options: { failures: number }, command: Command) =>
      run(command, (context) => status(context, options.failures)),
    );
}
