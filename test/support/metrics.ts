/**
 * CloudWatch metrics on both sides: what the functions' log lines make CloudWatch create (a small reader of
 * the Embedded Metric Format), and what a synthesized template's alarms and dashboard graphs select. moto
 * has no CloudWatch, so this is how `npm test` knows every alarm watches a metric that is really written.
 */
import type { TemplateIam, TemplateJson } from "./iam";

/** One CloudWatch metric: namespace, name and the dimensions with their values. */
export interface MetricIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

/** A dashboard SEARCH: the schema (namespace and dimension names) and the name=value filters. */
export interface MetricSearch {
  readonly namespace: string;
  readonly schema: readonly string[];
  readonly filters: Readonly<Record<string, string>>;
}

export interface Selected {
  readonly source: string;
  readonly metric?: MetricIdentity;
  readonly search?: MetricSearch;
}

export const key = (metric: MetricIdentity): string =>
  JSON.stringify([metric.namespace, metric.name, Object.entries(metric.dimensions).sort()]);

/**
 * The metrics CloudWatch would create from EMF log lines (one per metric, per dimension set). Powertools
 * writes each EMF record on a line of its own, and a metric added more than once in one record as an array
 * of values.
 */
export function emittedMetrics(lines: readonly Readonly<Record<string, unknown>>[]): MetricIdentity[] {
  const found = new Map<string, MetricIdentity>();
  const isValue = (value: unknown) =>
    typeof value === "number" ||
    (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === "number"));
  for (const line of lines) {
    const aws = line._aws as
      | {
          CloudWatchMetrics?: Array<{
            Namespace: string;
            Dimensions: string[][];
            Metrics: Array<{ Name: string }>;
          }>;
        }
      | undefined;
    for (const directive of aws?.CloudWatchMetrics ?? []) {
      for (const set of directive.Dimensions) {
        // EMF drops a dimension set whose values are not all strings on the line.
        if (!set.every((name) => typeof line[name] === "string")) continue;
        const dimensions = Object.fromEntries(set.map((name) => [name, String(line[name])]));
        for (const metric of directive.Metrics) {
          if (!isValue(line[metric.Name])) continue; // EMF drops a metric without a number
          const identity = { namespace: directive.Namespace, name: metric.Name, dimensions };
          found.set(key(identity), identity);
        }
      }
    }
  }
  return [...found.values()];
}

/** Whether a search would find the metric. */
export function matches(search: MetricSearch, metric: MetricIdentity): boolean {
  const names = Object.keys(metric.dimensions).sort();
  if (metric.namespace !== search.namespace) return false;
  if (JSON.stringify(names) !== JSON.stringify([...search.schema].sort())) return false;
  return Object.entries(search.filters).every(([name, value]) =>
    name === "MetricName" ? metric.name === value : metric.dimensions[name] === value,
  );
}

const SEARCH = /SEARCH\('\{([^}]*)\}\s*([^']*)'/;

function parseSearch(expression: string): MetricSearch | undefined {
  const match = SEARCH.exec(expression);
  if (!match) return undefined;
  const [namespace = "", ...schema] = (match[1] ?? "").split(",").map((part) => part.trim());
  const filters = Object.fromEntries(
    [...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]),
  );
  return { namespace, schema, filters };
}

type Dimension = { Name: string; Value: unknown };

/** Every metric (and search) the template's alarms and dashboard graphs select, with where it is used. */
export function selectedMetrics(template: TemplateJson, iam: TemplateIam): Selected[] {
  const selected: Selected[] = [];
  const identity = (
    namespace: string,
    name: string,
    dimensions: Dimension[] | undefined,
  ): MetricIdentity => ({
    namespace,
    name,
    dimensions: Object.fromEntries((dimensions ?? []).map((d) => [d.Name, String(iam.resolve(d.Value))])),
  });
  for (const resource of Object.values(template.Resources)) {
    const properties = resource.Properties ?? {};
    if (resource.Type === "AWS::CloudWatch::Alarm") {
      const source = `alarm ${String(properties.AlarmName)}`;
      if (typeof properties.MetricName === "string") {
        selected.push({
          source,
          metric: identity(
            String(properties.Namespace),
            properties.MetricName,
            properties.Dimensions as Dimension[],
          ),
        });
      }
      for (const entry of (properties.Metrics as Array<Record<string, unknown>> | undefined) ?? []) {
        const stat = entry.MetricStat as
          | { Metric: { Namespace: string; MetricName: string; Dimensions?: Dimension[] } }
          | undefined;
        if (stat) {
          selected.push({
            source,
            metric: identity(stat.Metric.Namespace, stat.Metric.MetricName, stat.Metric.Dimensions),
          });
        }
        const search = typeof entry.Expression === "string" ? parseSearch(entry.Expression) : undefined;
        if (search) selected.push({ source, search });
      }
    }
    if (resource.Type === "AWS::CloudWatch::Dashboard") {
      const body = JSON.parse(String(iam.resolve(properties.DashboardBody))) as {
        widgets: Array<{ properties: { title?: string; metrics?: unknown[][] } }>;
      };
      for (const widget of body.widgets) {
        const source = `graph "${widget.properties.title}"`;
        for (const line of widget.properties.metrics ?? []) {
          const strings = line.filter((item): item is string => typeof item === "string");
          const options = line.find((item) => typeof item === "object") as
            | { expression?: string }
            | undefined;
          if (strings.length >= 2) {
            const [namespace = "", name = "", ...pairs] = strings;
            const dimensions: Dimension[] = [];
            for (let i = 0; i + 1 < pairs.length; i += 2)
              dimensions.push({ Name: pairs[i] as string, Value: pairs[i + 1] });
            selected.push({ source, metric: identity(namespace, name, dimensions) });
          } else if (options?.expression) {
            const search = parseSearch(options.expression);
            if (search) selected.push({ source, search });
          }
        }
      }
    }
  }
  return selected;
}

/** One comparison of a JSON metric filter pattern: `$.field = "text"`, `$.field != 5`. */
interface FilterTerm {
  readonly path: readonly string[];
  readonly negated: boolean;
  readonly value: string | number;
}

const TERM = /^\$\.([\w.]+)\s*(=|!=)\s*(?:"([^"*]*)"|(-?\d+(?:\.\d+)?))$/;

/**
 * A JSON metric filter pattern made of equality tests joined by `&&` (what the stack writes); anything else
 * throws, so that a pattern this reader does not understand fails the test instead of matching nothing.
 */
function parseFilterPattern(pattern: string): FilterTerm[] {
  const body = /^\{(.*)\}$/s.exec(pattern.trim())?.[1];
  if (body === undefined) throw new Error(`not a JSON filter pattern: ${pattern}`);
  return body.split("&&").map((text) => {
    const match = TERM.exec(text.trim());
    if (!match) throw new Error(`unsupported term "${text.trim()}" in filter pattern ${pattern}`);
    return {
      path: (match[1] ?? "").split("."),
      negated: match[2] === "!=",
      value: match[3] !== undefined ? match[3] : Number(match[4]),
    };
  });
}

function at(line: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let value: unknown = line;
  for (const name of path) value = (value as Record<string, unknown> | undefined)?.[name];
  return value;
}

/**
 * The metrics CloudWatch Logs would create from `lines` of one log group (by its logical id in `template`)
 * through the template's metric filters on that group: a line that matches a filter's pattern yields its
 * metric, with each dimension read from the line (a line without a dimension's field yields none).
 */
export function filteredMetrics(
  template: TemplateJson,
  logGroupId: string,
  lines: readonly Readonly<Record<string, unknown>>[],
): MetricIdentity[] {
  const found = new Map<string, MetricIdentity>();
  for (const resource of Object.values(template.Resources)) {
    const properties = resource.Properties ?? {};
    if (resource.Type !== "AWS::Logs::MetricFilter") continue;
    if ((properties.LogGroupName as { Ref?: string } | undefined)?.Ref !== logGroupId) continue;
    const terms = parseFilterPattern(String(properties.FilterPattern));
    const transformations = properties.MetricTransformations as Array<{
      MetricNamespace: string;
      MetricName: string;
      Dimensions?: Array<{ Key: string; Value: string }>;
    }>;
    for (const line of lines) {
      const matched = terms.every((term) => (at(line, term.path) === term.value) !== term.negated);
      if (!matched) continue;
      for (const transformation of transformations) {
        const dimensions: Record<string, string> = {};
        for (const { Key, Value } of transformation.Dimensions ?? []) {
          const value = Value.startsWith("$.") ? at(line, Value.slice(2).split(".")) : undefined;
          if (typeof value === "string" || typeof value === "number") dimensions[Key] = String(value);
        }
        if (Object.keys(dimensions).length !== (transformation.Dimensions ?? []).length) continue;
        const identity = {
          namespace: transformation.MetricNamespace,
          name: transformation.MetricName,
          dimensions,
        };
        found.set(key(identity), identity);
      }
    }
  }
  return [...found.values()];
}
