/** `submit <audio>`: a transcription job whose webhook points at the stack, with the stack's secret header. */
import { statSync } from "node:fs";
import type { Command } from "commander";
import { type AudioSource, collectParam, parseAudioSource, parseCustomerId, parseOrderId } from "../args";
import { assemblyAiClient, assemblyAiError } from "../assemblyai";
import type { CommandContext } from "../context";
import { webhookUrlFor } from "../messages";
import { CliError, formatFields } from "../output";
import type { Runner } from "./runner";

interface SubmitOptions {
  readonly customerId: string;
  readonly orderId: string;
  readonly param?: Record<string, string>;
}

function checkFile(path: string): void {
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new CliError(`no such file: ${path}`);
  }
  if (!isFile) throw new CliError(`not a file: ${path}`);
}

async function submit(context: CommandContext, audio: AudioSource, options: SubmitOptions): Promise<void> {
  if (audio.kind === "file") checkFile(audio.path);
  const target = await context.target();
  const [access, secret] = await Promise.all([target.assemblyAi(), target.webhookSecret()]);
  const client = assemblyAiClient(access);
  let audioUrl: string;
  if (audio.kind === "file") {
    try {
      context.out.note(`uploading ${audio.path}`);
      audioUrl = await client.files.upload(audio.path);
    } catch (error) {
      throw assemblyAiError(`could not upload ${audio.path}`, error);
    }
  } else {
    audioUrl = audio.url;
  }
  const webhookUrl = webhookUrlFor(target.webhookUrl, options.customerId, options.orderId, options.param);
  let transcript: Awaited<ReturnType<typeof client.transcripts.submit>>;
  try {
    transcript = await client.transcripts.submit({
      audio: audioUrl,
      webhook_url: webhookUrl,
      webhook_auth_header_name: target.authHeaderName,
      webhook_auth_header_value: secret,
    });
  } catch (error) {
    throw assemblyAiError("could not submit the job", error);
  }
  // Never the header value: it is the stack's secret.
  const result = {
    transcript_id: transcript.id,
    status: transcript.status,
    customer_id: options.customerId,
    order_id: options.orderId,
    webhook_url: webhookUrl,
    audio_url: audio.kind === "url" ? audioUrl : undefined,
  };
  context.out.result(result, () =>
    formatFields([
      ["transcript_id", result.transcript_id],
      ["status", result.status],
      ["webhook_url", result.webhook_url],
      ["next", `get ${options.customerId} ${options.orderId} once AssemblyAI has finished`],
    ]),
  );
}

export function registerSubmit(program: Command, run: Runner): void {
  program
    .command("submit")
    .description("submit an audio file or URL to AssemblyAI with this stack's webhook and secret header")
    .argument(
      "<audio>",
      "an http(s) URL AssemblyAI can fetch, or a local file (uploaded first)",
      parseAudioSource,
    )
    .requiredOption(
      "--customer-id <id>",
      "customer_id for the webhook URL (and the record's key)",
      parseCustomerId,
    )
    .requiredOption("--order-id <id>", "order_id for the webhook URL (and the record's key)", parseOrderId)
    .option(
      "--param <name=value>",
      "another webhook URL query parameter, kept in the record's metadata (repeatable)",
      collectParam,
    )
    .action((audio: AudioSource, options: SubmitOptions, command: Command) =>
      run(command, (context) => submit(context, audio, options)),
    );
}
