/**
 * A local AWS endpoint that does no work: it answers the calls the functions make (SQS SendMessage,
 * Secrets Manager GetSecretValue, DynamoDB GetItem/UpdateItem/PutItem, S3 PutObject) with valid, minimal
 * responses, so that what is timed is the function and the SDK, not an emulator.
 *
 * SQS speaks the AWS JSON 1.0 protocol in SDK v3 (`x-amz-target: AmazonSQS.SendMessage`) and the SDK checks
 * MD5OfMessageBody, so the digest of the body sent is returned. S3 is path-style against an IP endpoint.
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const NOOP_ACCOUNT = "000000000000";
export const NOOP_REGION = "us-east-1";

export interface NoopAws {
  readonly url: string;
  /** Requests answered, by operation (`AmazonSQS.SendMessage`, `S3.PUT`, ...). */
  readonly counts: Map<string, number>;
  secretArn(name: string): string;
  queueUrl(name: string): string;
  close(): Promise<void>;
}

export interface NoopAwsOptions {
  /** SecretString per secret name (the last path segment of the ARN or the plain name). */
  readonly secrets: Readonly<Record<string, string>>;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function json(response: ServerResponse, status: number, body: unknown, type = "application/x-amz-json-1.0") {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": type, "content-length": String(Buffer.byteLength(text)) });
  response.end(text);
}

export async function startNoopAws(options: NoopAwsOptions): Promise<NoopAws> {
  const counts = new Map<string, number>();
  const count = (operation: string) => counts.set(operation, (counts.get(operation) ?? 0) + 1);
  const secretArn = (name: string) => `arn:aws:secretsmanager:${NOOP_REGION}:${NOOP_ACCOUNT}:secret:${name}`;

  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const target = request.headers["x-amz-target"];
      if (typeof target === "string") {
        count(target);
        const input = body.length > 0 ? (JSON.parse(body.toString("utf8")) as Record<string, unknown>) : {};
        switch (target) {
          case "AmazonSQS.SendMessage": {
            const message = String(input.MessageBody ?? "");
            return json(response, 200, {
              MessageId: randomUUID(),
              MD5OfMessageBody: createHash("md5").update(message, "utf8").digest("hex"),
            });
          }
          case "AmazonSQS.ChangeMessageVisibility":
            return json(response, 200, {});
          case "secretsmanager.GetSecretValue": {
            const id = String(input.SecretId ?? "");
            const name = id.split(":secret:").pop() ?? id;
            const value = options.secrets[name];
            if (value === undefined) {
              return json(response, 400, {
                __type: "ResourceNotFoundException",
                message: "Secrets Manager can't find the specified secret.",
              });
            }
            return json(
              response,
              200,
              {
                ARN: secretArn(name),
                Name: name,
                SecretString: value,
                VersionId: "00000000-0000-0000-0000-000000000000",
                VersionStages: [String(input.VersionStage ?? "AWSCURRENT")],
                CreatedDate: 1_700_000_000,
              },
              "application/x-amz-json-1.1",
            );
          }
          case "DynamoDB_20120810.GetItem":
          case "DynamoDB_20120810.UpdateItem":
          case "DynamoDB_20120810.PutItem":
            return json(response, 200, {});
          default:
            return json(response, 400, { __type: "UnknownOperationException", message: target });
        }
      }
      // S3, path-style: PUT /bucket/key.
      count(`S3.${request.method}`);
      if (request.method === "PUT") {
        response.writeHead(200, {
          etag: `"${createHash("md5").update(body).digest("hex")}"`,
          "content-length": "0",
        });
        response.end();
        return;
      }
      response.writeHead(404, { "content-type": "application/xml" });
      response.end("<Error><Code>NoSuchKey</Code></Error>");
    })().catch((error: unknown) => {
      if (!response.headersSent) json(response, 500, { __type: "InternalFailure", message: String(error) });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    counts,
    secretArn,
    queueUrl: (name) => `${url}/${NOOP_ACCOUNT}/${name}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
