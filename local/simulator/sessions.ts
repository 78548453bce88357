/**
 * Streaming sessions that end: the body AssemblyAI's streaming API posts to a session's `webhook_url` when
 * it terminates (`{session_id, messages}`: every turn once unformatted and once formatted, each with timed
 * words), and the control request that asks for one. Deterministic for a given session id and request.
 */
import { randomUUID } from "node:crypto";
import { HttpError } from "./http";
import type { WebhookConfig } from "./state";
import { hashSeed, seededRandom, VOCABULARY } from "./synthetic";
import { parseWebhookConfig } from "./webhooks";

/** Turns a session may have when asked for by number (`turns`). */
export const MAX_SESSION_TURNS = 10_000;
const DEFAULT_TURNS = 3;
/** Partial messages sent for a turn at most, when `partials` asks for them. */
const MAX_PARTIALS_PER_TURN = 3;
const SESSION_ID_PATTERN = /^[A-Za-z0-9-]{1,128}$/;

export interface SessionContent {
  readonly sessionId: string;
  /** The session's speech, split into turns at sentence ends; without it, `turns` generated sentences. */
  readonly text?: string | undefined;
  readonly turns?: number | undefined;
  /** Also each turn's partial messages (`end_of_turn: false`), which AssemblyAI's webhook leaves out. */
  readonly partials?: boolean | undefined;
}

export interface SessionBody {
  readonly body: { readonly session_id: string; readonly messages: readonly Record<string, unknown>[] };
  /** The formatted turns' transcripts joined by a space: what the receiving side should assemble. */
  readonly text: string;
  readonly turns: number;
}

/** What `POST /__simulator/streaming-sessions` asks for, checked. */
export interface SessionEndRequest extends SessionContent {
  readonly webhook: WebhookConfig;
}

/** A session's turns as sentences: the given text cut at sentence ends, or generated ones. */
function sentencesOf(content: SessionContent): string[] {
  if (content.text !== undefined) {
    return content.text
      .split(/(?<=[.!?])\s+/)
      .map((sentence) => sentence.trim().split(/\s+/).filter(Boolean).join(" "))
      .filter((sentence) => sentence.length > 0);
  }
  const random = seededRandom(hashSeed(content.sessionId));
  const pick = () => VOCABULARY[Math.floor(random() * VOCABULARY.length)] as string;
  return Array.from({ length: content.turns ?? DEFAULT_TURNS }, () => {
    const words = Array.from({ length: 3 + Math.floor(random() * 10) }, pick);
    const sentence = words.join(" ");
    return `${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}${random() < 0.15 ? "?" : "."}`;
  });
}

/** How a word reads in an unformatted turn: lower case, no punctuation. */
function unformatted(word: string): string {
  return word.toLowerCase().replace(/[^\p{L}\p{N}'-]/gu, "");
}

export function buildSessionBody(content: SessionContent): SessionBody {
  const random = seededRandom(hashSeed(`${content.sessionId}/timing`));
  const sentences = sentencesOf(content);
  const messages: Record<string, unknown>[] = [];
  let clock = 4_880;
  sentences.forEach((sentence, turnOrder) => {
    const tokens = sentence.split(" ");
    const timings = tokens.map(() => {
      const start = clock;
      const end = start + 80 + Math.floor(random() * 480);
      clock = end + 40 + Math.floor(random() * 160);
      return { start, end, confidence: Math.round((0.6 + random() * 0.4) * 10_000) / 10_000 };
    });
    clock += 600 + Math.floor(random() * 900);
    const endOfTurnConfidence = Math.round((0.5 + random() * 0.5) * 10_000) / 10_000;
    const words = (count: number, format: (word: string) => string, final: boolean) =>
      tokens.slice(0, count).map((token, index) => ({
        ...timings[index],
        text: format(token),
        word_is_final: final || index < count - 1,
      }));
    const turn = (count: number, formatted: boolean, endOfTurn: boolean) => {
      const format = formatted ? (word: string) => word : unformatted;
      const turnWords = words(count, format, endOfTurn);
      return {
        type: "Turn",
        turn_order: turnOrder,
        turn_is_formatted: formatted,
        end_of_turn: endOfTurn,
        transcript: turnWords.map((word) => word.text).join(" "),
        end_of_turn_confidence: endOfTurn ? endOfTurnConfidence : Math.round(random() * 5_000) / 10_000,
        words: turnWords,
        utterance: "",
      };
    };
    if (content.partials === true) {
      const step = Math.max(1, Math.ceil(tokens.length / (MAX_PARTIALS_PER_TURN + 1)));
      for (let count = step; count < tokens.length; count += step) messages.push(turn(count, false, false));
    }
    messages.push(turn(tokens.length, false, true), turn(tokens.length, true, true));
  });
  return {
    body: { session_id: content.sessionId, messages },
    text: sentences.join(" "),
    turns: sentences.length,
  };
}

/** Checks a `POST /__simulator/streaming-sessions` body; throws HttpError 400 naming the field. */
export function parseSessionEndRequest(body: Record<string, unknown>): SessionEndRequest {
  const webhook = parseWebhookConfig(body);
  if (webhook === null) throw new HttpError(400, "webhook_url is required");
  const { text, turns, partials } = body;
  if (text !== undefined && turns !== undefined) throw new HttpError(400, "give text or turns, not both");
  if (text !== undefined && typeof text !== "string") throw new HttpError(400, "text must be a string");
  if (
    turns !== undefined &&
    (typeof turns !== "number" || !Number.isInteger(turns) || turns < 0 || turns > MAX_SESSION_TURNS)
  ) {
    throw new HttpError(400, `turns must be an integer from 0 to ${MAX_SESSION_TURNS}`);
  }
  if (partials !== undefined && typeof partials !== "boolean") {
    throw new HttpError(400, "partials must be a boolean");
  }
  const sessionId = body.session_id ?? randomUUID();
  if (typeof sessionId !== "string" || !SESSION_ID_PATTERN.test(sessionId)) {
    throw new HttpError(400, "session_id must be 1 to 128 letters, digits or dashes");
  }
  return {
    webhook,
    sessionId,
    text: text as string | undefined,
    turns: turns as number | undefined,
    partials: partials as boolean | undefined,
  };
}
