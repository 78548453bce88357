/** Reading a secret value: a hidden prompt on a terminal (nothing echoed), else all of stdin. */
import type { InputStream } from "./context";
import { CliError, EXIT } from "./output";

/** The value as typed or piped: one line, surrounding whitespace dropped; empty or multi-line refused. */
export function normalizeSecretInput(raw: string): string {
  const value = raw.trim();
  if (value.length === 0) throw new CliError("the API key is empty: nothing was stored", EXIT.usage);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a pasted key with a newline or tab inside is a mistake
  if (/[\s\u0000-\u001f\u007f]/.test(value)) {
    throw new CliError(
      "the API key contains whitespace or control characters: nothing was stored",
      EXIT.usage,
    );
  }
  return value;
}

export async function readAll(stream: InputStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads keystrokes in raw mode so nothing is echoed; Enter ends, Backspace edits, Ctrl-C/Ctrl-D abort. */
export function promptHidden(
  input: InputStream,
  prompt: NodeJS.WritableStream,
  question: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = "";
    prompt.write(question);
    input.setRawMode?.(true);
    input.setEncoding("utf8");
    input.resume();
    const finish = (error?: CliError) => {
      input.setRawMode?.(false);
      input.pause();
      input.removeListener("data", onData);
      prompt.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const character of chunk) {
        if (character === "\r" || character === "\n") return finish();
        if (character === "\u0003") return finish(new CliError("interrupted", EXIT.interrupted));
        if (character === "\u0004")
          return finish(value.length === 0 ? new CliError("no input", EXIT.usage) : undefined);
        if (character === "\u007f" || character === "\b") value = value.slice(0, -1);
        else value += character;
      }
    };
    input.on("data", onData);
  });
}

export async function readSecretValue(
  input: InputStream,
  prompt: NodeJS.WritableStream,
  question: string,
): Promise<string> {
  const raw = input.isTTY ? await promptHidden(input, prompt, question) : await readAll(input);
  return normalizeSecretInput(raw);
}
