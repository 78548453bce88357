/**
 * Deterministic synthetic transcripts and audio: the same audio URL always gives the same words, timings,
 * speakers and redacted WAV, so tests can compare runs byte for byte.
 */

/** 32-bit FNV-1a: a stable seed from any string. */
export function hashSeed(input: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < input.length; i++) {
    hash ^= input.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** mulberry32: small, fast, good enough for test fixtures; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Plain ASCII words only: the JSON below is assembled by hand and relies on them needing no escaping.
export const VOCABULARY = [
  "the",
  "a",
  "we",
  "you",
  "they",
  "it",
  "is",
  "was",
  "will",
  "can",
  "should",
  "could",
  "have",
  "had",
  "order",
  "customer",
  "account",
  "invoice",
  "delivery",
  "package",
  "support",
  "team",
  "meeting",
  "call",
  "today",
  "tomorrow",
  "yesterday",
  "morning",
  "afternoon",
  "week",
  "month",
  "number",
  "address",
  "email",
  "please",
  "thanks",
  "right",
  "okay",
  "sure",
  "great",
  "really",
  "just",
  "also",
  "still",
  "again",
  "now",
  "send",
  "check",
  "confirm",
  "update",
  "cancel",
  "schedule",
  "review",
  "share",
  "follow",
  "help",
  "need",
  "want",
  "think",
  "know",
  "see",
  "make",
  "take",
  "look",
  "find",
  "give",
  "tell",
  "ask",
  "work",
  "start",
  "new",
  "old",
  "next",
  "last",
  "first",
  "same",
  "other",
  "small",
  "large",
  "quick",
  "clear",
  "simple",
  "price",
  "plan",
  "issue",
  "question",
  "answer",
  "note",
  "report",
  "project",
  "budget",
  "contract",
  "and",
  "but",
  "so",
  "because",
  "if",
  "when",
  "that",
  "this",
  "with",
  "for",
  "about",
  "from",
  "into",
] as const;

const SPEAKERS = ["A", "B", "C"] as const;

/** What a finished transcript says, computed once at completion; the JSON body is rebuilt on demand. */
export interface ContentSummary {
  readonly wordCount: number;
  /** Mean word confidence, rounded to 5 decimals (0 for an empty transcript). */
  readonly confidence: number;
  /** Whole seconds, as the real API reports it. */
  readonly audioDurationSeconds: number;
}

export interface SyntheticContent extends ContentSummary {
  /** `"text":...,"words":[...],"utterances":[...]` without braces, ready to splice into a transcript body. */
  readonly jsonFragment: string;
  /** The transcript text (also inside jsonFragment); kept for logs and tests. */
  readonly text: string;
}

export interface ContentRequest {
  readonly seedSource: string;
  readonly wordCount: number;
  /** Without speaker labels words carry `speaker: null` and `utterances` is null, as in the real API. */
  readonly speakerLabels: boolean;
}

const round5 = (value: number): number => Math.round(value * 100000) / 100000;

/**
 * Builds a transcript of `wordCount` words in one pass. Each word's JSON is written once and reused inside
 * its utterance, so 120,000 words (about 20 MB with utterances) take a fraction of a second.
 */
export function generateContent(request: ContentRequest): SyntheticContent {
  const random = seededRandom(hashSeed(request.seedSource));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const speakerCount = 2 + Math.floor(random() * 2);

  const wordJson: string[] = new Array(request.wordCount);
  const textParts: string[] = new Array(request.wordCount);
  const utteranceJson: string[] = [];

  let clock = 200 + Math.floor(random() * 600);
  let confidenceSum = 0;
  let speaker: string = SPEAKERS[0];
  let utteranceStart = 0;
  let utteranceFirstWord = 0;
  let utteranceConfidence = 0;

  const closeUtterance = (endIndex: number, end: number): void => {
    if (!request.speakerLabels || endIndex <= utteranceFirstWord) return;
    const count = endIndex - utteranceFirstWord;
    const text = textParts.slice(utteranceFirstWord, endIndex).join(" ");
    utteranceJson.push(
      `{"confidence":${round5(utteranceConfidence / count)},"end":${end},"speaker":"${speaker}",` +
        `"start":${utteranceStart},"text":${JSON.stringify(text)},` +
        `"words":[${wordJson.slice(utteranceFirstWord, endIndex).join(",")}]}`,
    );
  };

  let index = 0;
  let lastEnd = 0;
  while (index < request.wordCount) {
    const sentenceLength = Math.min(5 + Math.floor(random() * 11), request.wordCount - index);
    // Speakers take turns at sentence boundaries, as people do.
    if (index > 0 && random() < 0.35) {
      const next = SPEAKERS[(SPEAKERS.indexOf(speaker as (typeof SPEAKERS)[number]) + 1) % speakerCount];
      if (next !== undefined && next !== speaker) {
        closeUtterance(index, lastEnd);
        speaker = next;
        utteranceFirstWord = index;
        utteranceConfidence = 0;
      }
    }
    for (let position = 0; position < sentenceLength; position++, index++) {
      let token: string = pick(VOCABULARY);
      if (position === 0) token = token.charAt(0).toUpperCase() + token.slice(1);
      if (position === sentenceLength - 1) token += random() < 0.1 ? "?" : ".";
      else if (random() < 0.08) token += ",";
      const start = clock;
      const end = start + 120 + Math.floor(random() * 480);
      const confidence = round5(0.55 + random() * 0.45);
      clock =
        end +
        (position === sentenceLength - 1 ? 300 + Math.floor(random() * 600) : Math.floor(random() * 200));
      if (index === utteranceFirstWord) utteranceStart = start;
      confidenceSum += confidence;
      utteranceConfidence += confidence;
      lastEnd = end;
      textParts[index] = token;
      wordJson[index] =
        `{"text":"${token}","start":${start},"end":${end},"confidence":${confidence},` +
        `"speaker":${request.speakerLabels ? `"${speaker}"` : "null"}}`;
    }
  }
  closeUtterance(request.wordCount, lastEnd);

  const text = textParts.join(" ");
  const utterances = request.speakerLabels ? `[${utteranceJson.join(",")}]` : "null";
  return {
    wordCount: request.wordCount,
    confidence: request.wordCount === 0 ? 0 : round5(confidenceSum / request.wordCount),
    audioDurationSeconds: request.wordCount === 0 ? 0 : Math.ceil(lastEnd / 1000),
    text,
    jsonFragment: `"text":${JSON.stringify(text)},"words":[${wordJson.join(",")}],"utterances":${utterances}`,
  };
}

/**
 * A short, valid PCM WAV (8 kHz, 16-bit, mono): a bleep whose pitch comes from the seed, standing in for the
 * redacted audio file AssemblyAI serves.
 */
export function generateWav(seedSource: string, seconds = 1): Buffer {
  const sampleRate = 8000;
  const samples = Math.max(1, Math.round(sampleRate * seconds));
  const dataBytes = samples * 2;
  const wav = Buffer.alloc(44 + dataBytes);
  wav.write("RIFF", 0, "ascii");
  wav.writeUInt32LE(36 + dataBytes, 4);
  wav.write("WAVE", 8, "ascii");
  wav.write("fmt ", 12, "ascii");
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(sampleRate, 24);
  wav.writeUInt32LE(sampleRate * 2, 28); // byte rate
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write("data", 36, "ascii");
  wav.writeUInt32LE(dataBytes, 40);
  const frequency = 600 + (hashSeed(seedSource) % 800);
  for (let i = 0; i < samples; i++) {
    wav.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * frequency * i) / sampleRate)), 44 + i * 2);
  }
  return wav;
}
