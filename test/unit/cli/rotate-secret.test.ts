import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-jest";
import { promotionMoves, type StageMap, versionWith } from "../../../cli/rotation";
import { acceptedValues } from "../../../functions/receiver/receiver";
import { SECRET_ARN, SecretStages } from "../secret-stages";
import { fakeTarget, runCli } from "./support";

const secrets = mockClient(SecretsManagerClient);

const OLD = "the-value-jobs-are-submitted-with-today-0000000";
const OLDER = "the-value-before-that-000000000000000000000000";
const TTL_SECONDS = 300;
/** TTL + a read's deadline (2 s) + one failed re-read's retry (min(TTL, 10 s)). */
const SETTLE_MS = 312_000;

let clock: number;
let stages: SecretStages;

/** A wait that moves the test's clock instead of taking time; `during` runs at each tick. */
function fakeSleep(during: () => void = () => {}) {
  return async (ms: number) => {
    clock += ms;
    during();
  };
}

function run(args: string[], options: Parameters<typeof runCli>[1] = {}) {
  return runCli(args, {
    target: fakeTarget({
      mode: "aws",
      webhookSecretId: SECRET_ARN,
      webhookSecretCacheTtlSeconds: TTL_SECONDS,
    }),
    now: () => new Date(clock),
    sleep: fakeSleep(),
    ...options,
  });
}

beforeEach(() => {
  secrets.reset();
  clock = Date.parse("2026-12-01T12:00:00.000Z");
  stages = new SecretStages(OLDER);
  stages.put(OLD);
  stages.serve(secrets);
});

describe("rotate-secret", () => {
  it("stages a new value as AWSPENDING, waits out the receivers' cache, then makes it current", async () => {
    const startedAt = clock;
    const promotedAt: number[] = [];
    secrets.on(UpdateSecretVersionStageCommand).callsFake((input) => {
      promotedAt.push(clock);
      stages.updateStage(input.VersionStage, input.MoveToVersionId, input.RemoveFromVersionId);
      return {};
    });

    const result = await run(["rotate-secret"]);

    expect(result.code).toBe(0);
    const put = secrets.commandCalls(PutSecretValueCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ SecretId: SECRET_ARN, VersionStages: ["AWSPENDING"] });
    expect(put?.SecretString).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(promotedAt).toHaveLength(2);
    for (const at of promotedAt) expect(at - startedAt).toBeGreaterThanOrEqual(SETTLE_MS);
    expect(stages.valueAt("AWSCURRENT")).toBe(put?.SecretString);
    expect(stages.valueAt("AWSPENDING")).toBe(put?.SecretString);
    expect(stages.valueAt("AWSPREVIOUS")).toBe(OLD);
  });

  it("says what to do next and how long it waited, on stdout as JSON with --json, never the values", async () => {
    const result = await run(["--json", "rotate-secret"]);

    const output = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(output).toMatchObject({
      secret: SECRET_ARN,
      cache_ttl_seconds: TTL_SECONDS,
      waited_seconds: SETTLE_MS / 1000,
      next_steps: [
        expect.stringContaining("Submit new jobs with the new value"),
        expect.stringContaining("keep delivering"),
        expect.stringContaining("Rotate again only once"),
      ],
    });
    for (const value of [OLD, stages.valueAt("AWSCURRENT") as string]) {
      expect(result.stdout + result.stderr).not.toContain(value);
    }
  });

  it("shows the wait's progress on a terminal's stderr and prints the result on stdout", async () => {
    const result = await run(["rotate-secret"], { stderrTty: true });

    expect(result.stderr).toMatch(/Staged a new value .* as AWSPENDING/);
    expect(result.stderr).toContain("waiting for every receiver to load the new value (s) [");
    expect(result.stderr).toContain(`] ${SETTLE_MS / 1000}/${SETTLE_MS / 1000}`);
    expect(result.stdout).toMatch(/^current\s+version \S+ \(the new value\)$/m);
    expect(result.stdout).toContain("Submit new jobs with the new value");
  });

  it("promotes nothing when another run staged a different value while it waited", async () => {
    let staged = false;
    const result = await run(["rotate-secret"], {
      sleep: fakeSleep(() => {
        if (!staged) stages.put("another-runs-value", ["AWSPENDING"]);
        staged = true;
      }),
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no longer AWSPENDING .*nothing was promoted/);
    expect(secrets).not.toHaveReceivedCommand(UpdateSecretVersionStageCommand);
    expect(stages.valueAt("AWSCURRENT")).toBe(OLD);
  });

  it("warns when it replaces a value staged earlier and never made current", async () => {
    stages.put("abandoned-value", ["AWSPENDING"]);

    const result = await run(["rotate-secret"]);

    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/warning: replacing a value staged earlier but never made current/);
  });

  it("refuses a deployed stack without the cache TTL output, before staging anything", async () => {
    const result = await run(["rotate-secret"], {
      target: fakeTarget({ mode: "aws", description: "stack S" }),
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /stack S has no WebhookSecretCacheTtlSeconds output: .*deploy this version/,
    );
    expect(secrets).not.toHaveReceivedCommand(PutSecretValueCommand);
  });

  it("rewrites the local stack's stack.json with the new value, still private", async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), "aai-rotate-"));
    const file = path.join(stateDir, "stack.json");
    writeFileSync(file, JSON.stringify({ authHeaderValue: OLD, tableName: "t" }), { mode: 0o600 });
    try {
      const target = fakeTarget({
        webhookSecretId: SECRET_ARN,
        webhookSecretCacheTtlSeconds: 2,
        localStateDir: stateDir,
      });

      const result = await run(["rotate-secret"], { target });

      expect(result.code).toBe(0);
      expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({
        authHeaderValue: stages.valueAt("AWSCURRENT"),
        tableName: "t",
      });
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe("promotionMoves", () => {
  /**
   * A receiver reads AWSCURRENT, AWSPENDING and AWSPREVIOUS in parallel, so around a label move each read
   * may see the state before it or after it: what it accepts, for all 8 combinations around every move.
   */
  function acceptedAroundMoves(apply: Array<() => void>): string[][] {
    const snapshot = () => ({
      AWSCURRENT: stages.valueAt("AWSCURRENT"),
      AWSPENDING: stages.valueAt("AWSPENDING"),
      AWSPREVIOUS: stages.valueAt("AWSPREVIOUS"),
    });
    const accepted: string[][] = [];
    for (const move of apply) {
      const before = snapshot();
      move();
      const after = snapshot();
      for (let mask = 0; mask < 8; mask += 1) {
        const pick = (bit: number, stage: keyof typeof before) => (mask & bit ? after : before)[stage];
        accepted.push(acceptedValues(pick(1, "AWSCURRENT"), pick(2, "AWSPENDING"), pick(4, "AWSPREVIOUS")));
      }
    }
    return accepted;
  }

  function staged(): string {
    return stages.put("the-new-value", ["AWSPENDING"]);
  }

  it("keeps the new and the replaced value in every read that overlaps any of its moves", () => {
    const version = staged();
    const moves = promotionMoves(stages.stageMap(), version);

    const accepted = acceptedAroundMoves(
      moves.map((move) => () => stages.updateStage(move.stage, move.moveTo, move.removeFrom)),
    );

    expect(moves.map((move) => move.stage)).toEqual(["AWSPREVIOUS", "AWSCURRENT"]);
    for (const values of accepted) expect(values).toEqual(expect.arrayContaining(["the-new-value", OLD]));
    expect(stages.valueAt("AWSCURRENT")).toBe("the-new-value");
    expect(stages.valueAt("AWSPREVIOUS")).toBe(OLD);
  });

  it("is needed: moving AWSCURRENT alone lets a read miss the replaced value", () => {
    const version = staged();
    const current = versionWith(stages.stageMap(), "AWSCURRENT") as string;

    const accepted = acceptedAroundMoves([() => stages.updateStage("AWSCURRENT", version, current)]);

    expect(accepted.some((values) => !values.includes(OLD))).toBe(true);
  });

  it("works on a secret never rotated before (no AWSPREVIOUS)", () => {
    const fresh = new SecretStages(OLD);
    const stagedVersion = fresh.put("the-new-value", ["AWSPENDING"]);
    const map: StageMap = fresh.stageMap();

    expect(promotionMoves(map, stagedVersion)).toEqual([
      { stage: "AWSPREVIOUS", moveTo: versionWith(map, "AWSCURRENT") },
      { stage: "AWSCURRENT", moveTo: stagedVersion, removeFrom: versionWith(map, "AWSCURRENT") },
    ]);
  });
});
