/**
 * A streaming session's transcript, assembled from the messages its end-of-session webhook carries. Pure,
 * and total: any JSON value gives an answer (an empty one at worst), since the body is untrusted input.
 *
 * AssemblyAI sends each finished turn once unformatted (`turn_is_formatted: false`) and, with formatting on,
 * again formatted under the same `turn_order`. The text is one entry per `turn_order`, in that order: the
 * turn's formatted final message if it has one (the last such message if repeated), else its unformatted
 * final one, so a session streamed without formatting still has its text. Partial turns (`end_of_turn` not
 * true), messages of other types and anything malformed are ignored.
 */
import { isRecord } from "../shared/values";

export interface AssembledSession {
  /** The kept turns' transcripts in turn order, joined by a space; "" when there are none. */
  readonly text: string;
  /** Turns kept (one per `turn_order`). */
  readonly turns: number;
  /** Words in the kept turns. */
  readonly wordCount: number;
  /** The latest word end in the kept turns, in milliseconds of the session's audio; undefined without any. */
  readonly durationMs: number | undefined;
}

interface FinalTurn {
  readonly formatted: boolean;
  readonly transcript: string;
  readonly words: readonly unknown[];
}

/** A Turn message that ended its turn, or undefined for anything else. */
function finalTurn(message: unknown): { readonly order: number; readonly turn: FinalTurn } | undefined {
  if (!isRecord(message) || message.type !== "Turn" || message.end_of_turn !== true) return undefined;
  const order = message.turn_order;
  if (typeof order !== "number" || !Number.isSafeInteger(order) || order < 0) return undefined;
  if (typeof message.transcript !== "string") return undefined;
  return {
    order,
    turn: {
      formatted: message.turn_is_formatted === true,
      transcript: message.transcript.trim(),
      words: Array.isArray(message.words) ? message.words : [],
    },
  };
}

export function assembleSession(payload: unknown): AssembledSession {
  const messages = isRecord(payload) && Array.isArray(payload.messages) ? payload.messages : [];
  const byOrder = new Map<number, FinalTurn>();
  for (const message of messages) {
    const found = finalTurn(message);
    if (found === undefined) continue;
    const held = byOrder.get(found.order);
    // A formatted final turn is never replaced by an unformatted one; otherwise the later message wins.
    if (held?.formatted === true && !found.turn.formatted) continue;
    byOrder.set(found.order, found.turn);
  }
  const turns = [...byOrder.entries()].sort(([a], [b]) => a - b).map(([, turn]) => turn);
  let wordCount = 0;
  let durationMs: number | undefined;
  for (const turn of turns) {
    for (const word of turn.words) {
      if (!isRecord(word)) continue;
      wordCount += 1;
      const end = word.end;
      if (typeof end === "number" && Number.isFinite(end) && end >= 0) {
        durationMs = Math.max(durationMs ?? 0, end);
      }
    }
  }
  return {
    text: turns
      .map((turn) => turn.transcript)
      .filter((transcript) => transcript.length > 0)
      .join(" "),
    turns: turns.length,
    wordCount,
    durationMs,
  };
}
