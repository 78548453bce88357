import type { TranscriptUtterance, TranscriptWord } from "assemblyai";
import fc from "fast-check";
import { generateContent, generateWav } from "../../../local/simulator";

interface ParsedContent {
  text: string;
  words: TranscriptWord[];
  utterances: TranscriptUtterance[] | null;
}

const parse = (fragment: string): ParsedContent => JSON.parse(`{${fragment}}`) as ParsedContent;

describe("synthetic transcript content", () => {
  it("is valid JSON whose words, utterances and text agree, for any URL and word count", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.integer({ min: 0, max: 300 }),
        fc.boolean(),
        (url, wordCount, speakerLabels) => {
          const content = generateContent({ seedSource: url, wordCount, speakerLabels });
          const parsed = parse(content.jsonFragment);

          expect(parsed.words).toHaveLength(wordCount);
          expect(parsed.text).toBe(parsed.words.map((word) => word.text).join(" "));
          if (speakerLabels) {
            expect(parsed.utterances?.flatMap((utterance) => utterance.words)).toEqual(parsed.words);
          } else {
            expect(parsed.utterances).toBeNull();
            expect(parsed.words.every((word) => word.speaker === null)).toBe(true);
          }
          for (let i = 1; i < parsed.words.length; i++) {
            const previous = parsed.words[i - 1] as TranscriptWord;
            const word = parsed.words[i] as TranscriptWord;
            expect(word.start).toBeGreaterThanOrEqual(previous.end);
            expect(word.end).toBeGreaterThan(word.start);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("is the same for the same seed and differs for another", () => {
    const a = generateContent({ seedSource: "https://x/a.mp3", wordCount: 50, speakerLabels: true });
    const b = generateContent({ seedSource: "https://x/a.mp3", wordCount: 50, speakerLabels: true });
    const c = generateContent({ seedSource: "https://x/b.mp3", wordCount: 50, speakerLabels: true });

    expect(a).toEqual(b);
    expect(c.text).not.toBe(a.text);
  });

  // How fast it builds them is a benchmark row (`npm run bench -- --only large`), not a timed assertion.
  it("builds a 120,000-word (10-hour) transcript of 10+ MB that parses", () => {
    const content = generateContent({ seedSource: "long", wordCount: 120_000, speakerLabels: true });

    expect(content.jsonFragment.length).toBeGreaterThan(10 * 1024 * 1024);
    expect(parse(content.jsonFragment).words).toHaveLength(120_000);
  });

  it("writes a deterministic PCM WAV with a consistent header", () => {
    const wav = generateWav("https://x/a.mp3");

    expect(wav).toEqual(generateWav("https://x/a.mp3"));
    expect(wav.toString("ascii", 0, 4)).toBe("RIFF");
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect(wav.toString("ascii", 8, 16)).toBe("WAVEfmt ");
    expect(wav.readUInt16LE(20)).toBe(1);
    expect(wav.readUInt32LE(40)).toBe(wav.length - 44);
  });
});
