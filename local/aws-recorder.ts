/**
 * The functions' one AWS endpoint locally: an HTTP proxy that writes down every AWS call they make (who,
 * which IAM action, on which resource, with which condition keys, and what the emulator answered), then
 * passes it on to the service's upstream. Each function signs with an access key of its own, so a call is
 * told apart by the key in its SigV4 `Authorization` header. moto enforces no IAM; the tests replay these
 * calls against the synthesized template's policies through an IAM simulator instead.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One AWS call as IAM evaluates it, in the emulator's names. */
export interface RecordedCall {
  /** The access key id the call was signed with (`local-<function>` for the stack's functions). */
  readonly accessKeyId: string;
  /** The SigV4 signing name: `sqs`, `dynamodb`, `s3`, `secretsmanager`, … */
  readonly service: string;
  /** The API operation (`UpdateItem`, `GetObject`, …). */
  readonly operation: string;
  /** The IAM action it needs (`dynamodb:UpdateItem`, `s3:PutObject`, …). */
  readonly action: string;
  /** The resources, as ARNs (a bucket ARN for listing, an object ARN for objects, …). */
  readonly resources: readonly string[];
  /** Request-specific condition keys IAM sees (`s3:prefix`, …; a multivalued key's values as an array). */
  readonly context: Readonly<Record<string, string | readonly string[]>>;
  /** The emulator's answer, or 0 when the upstream could not be reached. */
  readonly status: number;
}

export interface AwsRecorderOptions {
  /** Upstream per signing name; `default` for the rest. */
  readonly upstreams: Readonly<Record<string, string>> & { readonly default: string };
  /** An upstream for some callers instead (by access key and signing name); undefined: `upstreams`. */
  readonly upstreamFor?: (accessKeyId: string, service: string) => string | undefined;
  readonly region: string;
  /** The account the emulator pretends to be. */
  readonly accountId: string;
  /** JSON Lines file the calls are appended to. */
  readonly file: string;
}

export interface AwsRecorder {
  readonly endpoint: string;
  /** Every call so far (also in the file). */
  readonly calls: readonly RecordedCall[];
  close(): Promise<void>;
}

type Described = Pick<RecordedCall, "operation" | "action" | "resources" | "context">;

const CREDENTIAL = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;

/** Who signed the request and for which service, from SigV4's `Credential=` scope. */
export function signer(
  authorization: string | undefined,
): { accessKeyId: string; service: string } | undefined {
  const match = CREDENTIAL.exec(authorization ?? "");
  return match ? { accessKeyId: match[1] as string, service: match[3] as string } : undefined;
}

/** A transaction's items, each an IAM action of its own: `Update` needs UpdateItem on its table, and so on. */
const TRANSACTION_ACTIONS: Readonly<Record<string, string>> = {
  Update: "UpdateItem",
  Put: "PutItem",
  Delete: "DeleteItem",
  ConditionCheck: "ConditionCheckItem",
};

/**
 * TransactWriteItems has no IAM action of its own: DynamoDB authorizes each item's. A transaction whose
 * items all take one action (the worker's: Update on the record and on its usage counter) is recorded as
 * that action on every table it names; a mixed one is recorded as unknown, for the tests to refuse.
 */
function describeTransaction(
  input: Record<string, unknown>,
  arn: (service: string, resource: string) => string,
): Described {
  const items = Array.isArray(input.TransactItems) ? (input.TransactItems as Record<string, unknown>[]) : [];
  const parts = items.flatMap((item) => Object.entries(item));
  const actions = new Set(parts.map(([kind]) => TRANSACTION_ACTIONS[kind] ?? kind));
  const tables = [...new Set(parts.map(([, part]) => String((part as { TableName?: unknown }).TableName)))];
  const [action] = actions;
  return {
    operation: "TransactWriteItems",
    action: actions.size === 1 && action !== undefined ? `dynamodb:${action}` : "unknown",
    resources: tables.map((name) => arn("dynamodb", `table/${name}`)),
    context: {},
  };
}

/** What a request asks of IAM; undefined for requests this does not know how to read. */
export function describeCall(
  service: string,
  method: string,
  url: URL,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: string,
  where: { region: string; accountId: string },
): Described | undefined {
  const target = String(headers["x-amz-target"] ?? "");
  const json = (): Record<string, unknown> => {
    try {
      const parsed: unknown = JSON.parse(body);
      return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  const arn = (svc: string, resource: string) =>
    `arn:aws:${svc}:${where.region}:${where.accountId}:${resource}`;
  if (service === "s3") return describeS3(method, url, headers);
  if (service === "dynamodb" && target.startsWith("DynamoDBStreams_")) {
    // The stream's ARN is in the request, or (GetRecords) leads the shard iterator (`<arn>|1|…`), as on AWS.
    const operation = target.slice(target.indexOf(".") + 1);
    const input = json();
    const stream =
      typeof input.StreamArn === "string"
        ? input.StreamArn
        : typeof input.ShardIterator === "string"
          ? input.ShardIterator.split("|")[0]
          : undefined;
    return {
      operation,
      action: `dynamodb:${operation}`,
      resources: [operation === "ListStreams" || stream === undefined ? "*" : stream],
      context: {},
    };
  }
  if (service === "events" && target) {
    // PutEvents: each entry's bus (default: `default`), and events:source holds every entry's source.
    const operation = target.slice(target.indexOf(".") + 1);
    const input = json();
    const entries = Array.isArray(input.Entries) ? (input.Entries as Record<string, unknown>[]) : [];
    const buses = [
      ...new Set(
        entries.map((entry) => {
          const bus = typeof entry.EventBusName === "string" ? entry.EventBusName : "default";
          return bus.startsWith("arn:") ? bus : arn("events", `event-bus/${bus}`);
        }),
      ),
    ];
    const sources = [...new Set(entries.map((entry) => String(entry.Source ?? "")))];
    return {
      operation,
      action: `events:${operation}`,
      resources: buses.length > 0 ? buses : ["*"],
      context: operation === "PutEvents" ? { "events:source": sources } : {},
    };
  }
  if (service === "dynamodb" && target) {
    const operation = target.slice(target.indexOf(".") + 1);
    const input = json();
    const tables = (
      input.RequestItems && typeof input.RequestItems === "object"
        ? Object.keys(input.RequestItems)
        : [String(input.TableName ?? "")]
    ).map((name) => arn("dynamodb", `table/${name}`));
    const resources =
      typeof input.IndexName === "string"
        ? tables.map((table) => `${table}/index/${input.IndexName}`)
        : tables;
    if (operation === "TransactWriteItems") return describeTransaction(input, arn);
    const action = operation === "BatchWriteItem" ? "BatchWriteItem" : operation;
    return { operation, action: `dynamodb:${action}`, resources, context: {} };
  }
  if (service === "sqs") {
    const operation = target
      ? target.slice(target.indexOf(".") + 1)
      : (new URLSearchParams(body).get("Action") ?? "unknown");
    const input = target ? json() : Object.fromEntries(new URLSearchParams(body));
    const queueUrl = typeof input.QueueUrl === "string" ? input.QueueUrl : "";
    const queueName = queueUrl.slice(queueUrl.lastIndexOf("/") + 1);
    const action = operation.endsWith("Batch") ? operation.slice(0, -"Batch".length) : operation;
    return { operation, action: `sqs:${action}`, resources: [arn("sqs", queueName)], context: {} };
  }
  if (service === "secretsmanager" && target) {
    const operation = target.slice(target.indexOf(".") + 1);
    const id = String(json().SecretId ?? "");
    return {
      operation,
      action: `secretsmanager:${operation}`,
      resources: [id.startsWith("arn:") ? id : arn("secretsmanager", `secret:${id}`)],
      context: {},
    };
  }
  if (target) {
    const operation = target.slice(target.indexOf(".") + 1);
    return { operation, action: `${service}:${operation}`, resources: ["*"], context: {} };
  }
  return undefined;
}

/** S3's REST calls, path-style (what the SDK sends to an IP endpoint), as IAM names them. */
function describeS3(
  method: string,
  url: URL,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Described | undefined {
  const [, bucket = "", ...rest] = url.pathname.split("/");
  const key = decodeURIComponent(rest.join("/"));
  const q = url.searchParams;
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const objectArn = `${bucketArn}/${key}`;
  const on = (operation: string, action: string, resource: string, context: Record<string, string> = {}) => ({
    operation,
    action: `s3:${action}`,
    resources: [resource],
    context,
  });
  if (!bucket) return undefined;
  if (!key) {
    if (method === "GET" && q.has("versions"))
      return on("ListObjectVersions", "ListBucketVersions", bucketArn);
    if (method === "GET" && q.has("uploads"))
      return on("ListMultipartUploads", "ListBucketMultipartUploads", bucketArn);
    if (method === "GET") {
      const prefix = q.get("prefix");
      return on(q.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects", "ListBucket", bucketArn, {
        ...(prefix !== null ? { "s3:prefix": prefix } : {}),
      });
    }
    if (method === "HEAD") return on("HeadBucket", "ListBucket", bucketArn);
    return on(`${method} bucket`, `${method}Bucket`, bucketArn);
  }
  const versioned = q.has("versionId");
  switch (method) {
    case "GET":
      return on("GetObject", versioned ? "GetObjectVersion" : "GetObject", objectArn);
    case "HEAD":
      return on("HeadObject", versioned ? "GetObjectVersion" : "GetObject", objectArn);
    case "PUT":
      if (headers["x-amz-copy-source"]) return on("CopyObject", "PutObject", objectArn);
      return on(q.has("uploadId") ? "UploadPart" : "PutObject", "PutObject", objectArn);
    case "POST":
      if (q.has("uploads")) return on("CreateMultipartUpload", "PutObject", objectArn);
      if (q.has("uploadId")) return on("CompleteMultipartUpload", "PutObject", objectArn);
      return on("PostObject", "PutObject", objectArn);
    case "DELETE":
      if (q.has("uploadId")) return on("AbortMultipartUpload", "AbortMultipartUpload", objectArn);
      return on("DeleteObject", versioned ? "DeleteObjectVersion" : "DeleteObject", objectArn);
    default:
      return undefined;
  }
}

export async function startAwsRecorder(options: AwsRecorderOptions): Promise<AwsRecorder> {
  const calls: RecordedCall[] = [];
  // Written synchronously, line by line: a call is on disk before its caller has the answer, so a reader
  // of the file (a test, an operator's tail) never misses one that already happened.
  // A call that ends after close (cut off by the shutdown) stays in `calls` only.
  let file: number | undefined = openSync(options.file, "a", 0o600);

  const server: Server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks);
      const signed = signer(incoming.headers.authorization);
      const service = signed?.service ?? "unknown";
      const upstream = new URL(
        (signed && options.upstreamFor?.(signed.accessKeyId, service)) ??
          options.upstreams[service] ??
          options.upstreams.default,
      );
      const url = new URL(incoming.url ?? "/", "http://local");
      // S3 bodies are opaque (and may be large): only the JSON protocols' bodies are read.
      const described =
        signed === undefined
          ? undefined
          : describeCall(
              service,
              incoming.method ?? "GET",
              url,
              incoming.headers,
              service === "s3" ? "" : body.toString("utf8"),
              options,
            );
      const record = (status: number) => {
        if (signed === undefined) return;
        // A call this cannot read is still written down, so a test can say which one it was.
        const what = described ?? {
          operation: `${incoming.method} ${url.pathname}`,
          action: "unknown",
          resources: [],
          context: {},
        };
        const call: RecordedCall = { accessKeyId: signed.accessKeyId, service, ...what, status };
        calls.push(call);
        if (file !== undefined) writeSync(file, `${JSON.stringify(call)}\n`);
      };
      const proxied = request(
        {
          hostname: upstream.hostname,
          port: upstream.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (answer) => {
          record(answer.statusCode ?? 0);
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
          // An upstream cut off mid-answer (an outage) cuts the caller off too, or it would wait forever.
          answer.on("close", () => {
            if (!answer.complete) outgoing.destroy();
          });
        },
      );
      proxied.on("error", () => {
        record(0);
        // Unreachable upstream (a simulated outage): the caller sees its connection drop, as it would.
        incoming.socket.destroy();
      });
      proxied.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          if (file !== undefined) closeSync(file);
          file = undefined;
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
