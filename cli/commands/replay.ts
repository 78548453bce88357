/**
 * `replay <transcript_id…>`: queue a transcript as if its webhook had arrived (source "replay"), for a
 * webhook that never came or was rejected. The worker then fetches and stores it like any delivery.
 */
import { randomUUID } from "node:crypto";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { Command } from "commander";
import { serializeDeliveryMessage } from "../../functions/shared/contract/delivery";
import { collectTranscriptIds, parseCustomerId, parseOrderId } from "../args";
import { readTranscript, transcriptTimes } from "../assemblyai";
import type { CommandContext } from "../context";
import { buildReplayMessage, replayableStatus, replayMetadata } from "../messages";
import { CliError, type Column, describeError, EXIT, type ExitCode, formatTable } from "../output";
import type { Runner } from "./runner";

interface ReplayOptions {
  readonly customerId?: string;
  readonly orderId?: string;
}

export interface ReplayResult {
  readonly transcript_id: string;
  readonly ok: boolean;
  readonly status?: string;
  readonly customer_id?: string;
  readonly order_id?: string;
  readonly request_id?: string;
  readonly message_id?: string;
  readonly error?: string;
}

const COLUMNS: readonly Column<ReplayResult>[] = [
  { header: "TRANSCRIPT", value: (row) => row.transcript_id, maxWidth: 40 },
  { header: "RESULT", value: (row) => (row.ok ? "queued" : "failed") },
  { header: "STATUS", value: (row) => row.status },
  { header: "CUSTOMER", value: (row) => row.customer_id, maxWidth: 30 },
  { header: "ORDER", value: (row) => row.order_id, maxWidth: 30 },
  { header: "DETAIL", value: (row) => row.error ?? row.request_id, maxWidth: 80 },
];

/** --customer-id/--order-id name one record: with several transcripts only the last would stay stored. */
export function checkReplayOptions(transcriptIds: readonly string[], options: ReplayOptions): void {
  if ((options.customerId === undefined) !== (options.orderId === undefined)) {
    throw new CliError("pass --customer-id and --order-id together (or neither)", EXIT.usage);
  }
  if (options.customerId !== undefined && transcriptIds.length > 1) {
    throw new CliError(
      "--customer-id/--order-id apply to one transcript; with several, each one's webhook_url supplies them",
      EXIT.usage,
    );
  }
}

/** 0 when all were queued, 1 when none (or the only one) failed, 3 when some did. */
export function batchExitCode(results: readonly { readonly ok: boolean }[]): ExitCode {
  const failed = results.filter((result) => !result.ok).length;
  if (failed === 0) return EXIT.ok;
  return failed === results.length ? EXIT.error : EXIT.partial;
}

async function replay(
  context: CommandContext,
  transcriptIds: readonly string[],
  options: ReplayOptions,
): Promise<ExitCode> {
  checkReplayOptions(transcriptIds, options);
  const target = await context.target();
  const access = await target.assemblyAi();
  const results: ReplayResult[] = [];
  const progress = context.out.progress("replaying", transcriptIds.length);
  for (const transcriptId of transcriptIds) {
    try {
      const transcript = await readTranscript(access, transcriptId);
      const status = replayableStatus(transcriptId, transcript.status);
      const { metadata, pointsHere } = replayMetadata(
        transcriptId,
        transcript.webhook_url,
        target.webhookUrl,
        options,
      );
      if (!pointsHere && options.customerId === undefined) {
        context.out.warn(
          `transcript ${transcriptId}'s webhook_url is not this stack's; replaying it here anyway`,
        );
      }
      // AssemblyAI's times travel with the message: the worker orders it against what is stored by them.
      const times = await transcriptTimes(access, transcriptId);
      const message = buildReplayMessage({
        transcriptId,
        status,
        metadata,
        now: context.now(),
        requestId: `replay-${randomUUID()}`,
        ...(typeof times === "object" ? times : {}),
      });
      // The contract's serialisation: SQS-safe characters, within SQS's size limit.
      const body = serializeDeliveryMessage(message);
      if (!body.ok) {
        throw new CliError(
          `transcript ${transcriptId}: the message would be ${body.bytes} bytes, over SQS's limit`,
        );
      }
      const sent = await target.sqs.send(
        new SendMessageCommand({ QueueUrl: target.queueUrl, MessageBody: body.body }),
      );
      results.push({
        transcript_id: transcriptId,
        ok: true,
        status,
        customer_id: metadata.customer_id,
        order_id: metadata.order_id,
        request_id: message.request_id,
        ...(sent.MessageId ? { message_id: sent.MessageId } : {}),
      });
    } catch (error) {
      results.push({ transcript_id: transcriptId, ok: false, error: describeError(error).message });
    }
    progress.update(results.length);
  }
  progress.done();
  const code = batchExitCode(results);
  // One id: the plain error line, like any other command; several: the table says which failed.
  const only = results.length === 1 ? results[0] : undefined;
  if (only !== undefined && !only.ok && !context.out.json) throw new CliError(only.error ?? "replay failed");
  context.out.result(results, () => {
    const queued = results.filter((result) => result.ok).length;
    return `${formatTable(COLUMNS, results)}\n\n${queued} of ${results.length} queued; the worker stores them shortly (get <customer_id> <order_id>)`;
  });
  return code;
}

export function registerReplay(program: Command, run: Runner): void {
  program
    .command("replay")
    .description("queue finished transcripts for the worker, as if their webhook had arrived")
    .argument("<transcript_id...>", "AssemblyAI transcript ids (completed or error)", collectTranscriptIds)
    .option(
      "--customer-id <id>",
      "store under this customer_id (default: from the transcript's webhook_url)",
      parseCustomerId,
    )
    .option(
      "--order-id <id>",
      "store under this order_id (default: from the transcript's webhook_url)",
      parseOrderId,
    )
    .action((transcriptIds: string[], options: ReplayOptions, command: Command) =>
      run(command, (context) => replay(context, transcriptIds, options)),
    );
}
