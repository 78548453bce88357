import {
  CliError,
  cellText,
  describeError,
  EXIT,
  formatFields,
  formatTable,
  Output,
  renderProgress,
} from "../../../cli/output";
import { Collector } from "./support";

describe("formatTable", () => {
  const columns = [
    { header: "ORDER", value: (row: { order: string; duration?: number }) => row.order },
    {
      header: "DURATION",
      value: (row: { order: string; duration?: number }) => row.duration,
      align: "right" as const,
    },
  ];

  it("pads every column to its widest cell under a header and a rule", () => {
    const table = formatTable(columns, [
      { order: "o-1", duration: 27 },
      { order: "order-long", duration: 3 },
    ]);

    expect(table.split("\n")).toEqual([
      "ORDER       DURATION",
      "----------  --------",
      "o-1               27",
      "order-long         3",
    ]);
  });

  it("shows missing values as a dash", () => {
    expect(formatTable(columns, [{ order: "o-1" }]).split("\n")[2]).toBe(`o-1${" ".repeat(11)}-`);
  });

  it("cuts cells longer than the column's maximum with an ellipsis", () => {
    const table = formatTable([{ header: "T", value: (row: string) => row, maxWidth: 5 }], ["abcdefghij"]);

    expect(table.split("\n")[2]).toBe("abcd…");
  });

  it("prints just the header for no rows", () => {
    expect(formatTable(columns, [])).toBe("ORDER  DURATION\n-----  --------");
  });
});

describe("cellText", () => {
  it("keeps a cell on one line and renders objects as compact JSON", () => {
    expect(cellText("two\nlines")).toBe("two lines");
    expect(cellText({ a: 1 })).toBe('{"a":1}');
    expect(cellText(null)).toBe("-");
    expect(cellText(false)).toBe("false");
  });
});

describe("formatFields", () => {
  it("aligns the values after the longest name", () => {
    expect(
      formatFields([
        ["id", "x"],
        ["status", "completed"],
      ]),
    ).toBe("id      x\nstatus  completed");
  });
});

describe("renderProgress", () => {
  it("draws a bar with the count when the total is known", () => {
    expect(renderProgress("replaying", 1, 4, 8)).toBe("replaying [##······] 1/4");
  });

  it("shows only the count when the total is unknown", () => {
    expect(renderProgress("reconciling", 12, undefined)).toBe("reconciling 12");
  });

  it("never overflows the bar", () => {
    expect(renderProgress("x", 9, 3, 4)).toBe("x [####] 9/3");
  });
});

describe("Output", () => {
  it("prints JSON on stdout with --json and the human form otherwise", () => {
    const jsonOut = new Collector();
    const humanOut = new Collector();

    new Output(true, jsonOut, new Collector()).result({ a: 1 }, () => "human");
    new Output(false, humanOut, new Collector()).result({ a: 1 }, () => "human");

    expect(JSON.parse(jsonOut.text)).toEqual({ a: 1 });
    expect(humanOut.text).toBe("human\n");
  });

  it("draws progress on stderr only when stderr is a terminal", () => {
    const pipe = new Collector(false);
    const terminal = new Collector(true);

    new Output(false, new Collector(), pipe).progress("moving", 2).update(2);
    const bar = new Output(false, new Collector(), terminal).progress("moving", 2);
    bar.update(2);
    bar.done();

    expect(pipe.text).toBe("");
    expect(terminal.text).toContain("moving [");
    expect(terminal.text).toContain("2/2");
  });
});

describe("describeError", () => {
  function named(name: string, message: string, extra: Record<string, unknown> = {}): Error {
    return Object.assign(new Error(message), { name }, extra);
  }

  it("passes a CliError's message and exit code through", () => {
    expect(describeError(new CliError("no record for customer a order b"))).toEqual({
      message: "no record for customer a order b",
      exitCode: EXIT.error,
    });
    expect(describeError(new CliError("bad", EXIT.usage)).exitCode).toBe(EXIT.usage);
  });

  it("turns missing credentials into advice about --profile", () => {
    const described = describeError(
      named("CredentialsProviderError", "Could not load credentials from any providers"),
    );

    expect(described.message).toMatch(/no AWS credentials found.*--profile/);
    expect(described.exitCode).toBe(EXIT.error);
  });

  it("says when AWS refused the request", () => {
    expect(
      describeError(named("AccessDeniedException", "not authorized to perform sqs:SendMessage")).message,
    ).toBe("AWS refused the request: not authorized to perform sqs:SendMessage");
  });

  it("asks for a region when the SDK has none", () => {
    expect(describeError(new Error("Region is missing")).message).toBe(
      "no AWS region: pass --region or set AWS_REGION",
    );
  });

  it("suggests starting the local stack when its endpoint refuses connections", () => {
    const refused = named("TypeError", "fetch failed", { cause: { code: "ECONNREFUSED" } });

    expect(describeError(refused, { local: true }).message).toMatch(/ECONNREFUSED.*npm start/);
    expect(describeError(refused).message).not.toMatch(/npm start/);
  });

  it("keeps only the first line of anything else", () => {
    expect(describeError(new Error("first\n    at frame")).message).toBe("first");
    expect(describeError("a string").message).toBe("a string");
  });
});
