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

/**
 * Reads keystrokes in raw mode up to Enter: Backspace edits, Ctrl-C/Ctrl-D (or the end of input) abort.
 * Nothing is echoed unless `echo` (then the characters typed are written back, as a terminal would). What
 * follows Enter in the same chunk (a paste of several lines) stays in the stream for the next prompt.
 */
function promptKeys(
  input: InputStream,
  prompt: NodeJS.WritableStream,
  question: string,
  echo: boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = "";
    prompt.write(question);
    input.setRawMode?.(true);
    input.setEncoding("utf8");
    const finish = (error?: CliError, rest = "") => {
      input.setRawMode?.(false);
      input.removeListener("data", onData);
      input.removeListener("end", onEnd);
      input.pause();
      if (rest.length > 0) input.unshift(rest, "utf8");
      prompt.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      const characters = [...chunk];
      for (const [index, character] of characters.entries()) {
        if (character === "\r" || character === "\n") {
          let next = index + 1;
          if (character === "\r" && characters[next] === "\n") next += 1;
          return finish(undefined, characters.slice(next).join(""));
        }
        if (character === "\u0003") return finish(new CliError("interrupted", EXIT.interrupted));
        if (character === "\u0004")
          return finish(value.length === 0 ? new CliError("no input", EXIT.usage) : undefined);
        if (character === "\u007f" || character === "\b") {
          if (echo && value.length > 0) prompt.write("\b \b");
          value = value.slice(0, -1);
        } else {
          value += character;
          if (echo) prompt.write(character);
        }
      }
    };
    const onEnd = () => finish(new CliError("no input", EXIT.usage));
    input.on("data", onData);
    input.once("end", onEnd);
    input.resume();
  });
}

/** A prompt that echoes nothing: for secrets. */
export function promptHidden(
  input: InputStream,
  prompt: NodeJS.WritableStream,
  question: string,
): Promise<string> {
  return promptKeys(input, prompt, question, false);
}

/** A yes/no question on the terminal; only `y` or `yes` (any case) is a yes. */
export async function confirm(
  input: InputStream,
  prompt: NodeJS.WritableStream,
  question: string,
): Promise<boolean> {
  const answer = await promptKeys(input, prompt, `${question} [y/N] `, true);
  return /^y(es)?$/i.test(answer.trim());
}

export async function readSecretValue(
  input: InputStream,
  prompt: NodeJS.WritableStream,
  question: string,
): Promise<string> {
  const raw = input.isTTY ? await promptHidden(input, prompt, question) : await readAll(input);
  return normalizeSecretInput(raw);
}
