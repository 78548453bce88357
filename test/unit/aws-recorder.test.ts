import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  type AwsRecorder,
  describeCall,
  type RecordedCall,
  startAwsRecorder,
} from "../../local/aws-recorder";

const where = { region: "us-east-1", accountId: "123456789012" };

describe("describeCall", () => {
  const url = (p: string) => new URL(p, "http://local");

  it.each([
    [
      "GET",
      "/b/transcripts/a/o/t.json.gz",
      "GetObject",
      "s3:GetObject",
      "arn:aws:s3:::b/transcripts/a/o/t.json.gz",
    ],
    ["HEAD", "/b/k", "HeadObject", "s3:GetObject", "arn:aws:s3:::b/k"],
    ["PUT", "/b/k", "PutObject", "s3:PutObject", "arn:aws:s3:::b/k"],
    ["PUT", "/b/k?partNumber=1&uploadId=u", "UploadPart", "s3:PutObject", "arn:aws:s3:::b/k"],
    ["POST", "/b/k?uploads", "CreateMultipartUpload", "s3:PutObject", "arn:aws:s3:::b/k"],
    ["DELETE", "/b/k?uploadId=u", "AbortMultipartUpload", "s3:AbortMultipartUpload", "arn:aws:s3:::b/k"],
    ["DELETE", "/b/k?versionId=v", "DeleteObject", "s3:DeleteObjectVersion", "arn:aws:s3:::b/k"],
    ["GET", "/b?versions", "ListObjectVersions", "s3:ListBucketVersions", "arn:aws:s3:::b"],
  ])("names S3's %s %s as IAM does", (method, p, operation, action, resource) => {
    expect(describeCall("s3", method, url(p), {}, "", where)).toMatchObject({
      operation,
      action,
      resources: [resource],
    });
  });

  it("carries s3:prefix for a listing", () => {
    expect(describeCall("s3", "GET", url("/b?list-type=2&prefix=reconciler%2F"), {}, "", where)).toEqual({
      operation: "ListObjectsV2",
      action: "s3:ListBucket",
      resources: ["arn:aws:s3:::b"],
      context: { "s3:prefix": "reconciler/" },
    });
  });

  it("names a transaction by the action each of its items needs, on every table it writes", () => {
    const transaction = (items: unknown[]) =>
      describeCall(
        "dynamodb",
        "POST",
        url("/"),
        { "x-amz-target": "DynamoDB_20120810.TransactWriteItems" },
        JSON.stringify({ TransactItems: items }),
        where,
      );

    expect(
      transaction([
        { Update: { TableName: "records", Key: {} } },
        { Update: { TableName: "usage", Key: {} } },
      ]),
    ).toEqual({
      operation: "TransactWriteItems",
      action: "dynamodb:UpdateItem",
      resources: [
        "arn:aws:dynamodb:us-east-1:123456789012:table/records",
        "arn:aws:dynamodb:us-east-1:123456789012:table/usage",
      ],
      context: {},
    });
    // Mixed actions cannot be one recorded call: "unknown", which no role allows.
    expect(
      transaction([{ Update: { TableName: "records" } }, { Delete: { TableName: "usage" } }])?.action,
    ).toBe("unknown");
  });

  it("names a DynamoDB index query and an SQS batch by the resource and action IAM checks", () => {
    const query = describeCall(
      "dynamodb",
      "POST",
      url("/"),
      { "x-amz-target": "DynamoDB_20120810.Query" },
      JSON.stringify({ TableName: "t", IndexName: "by-transcript-id" }),
      where,
    );
    const batch = describeCall(
      "sqs",
      "POST",
      url("/"),
      { "x-amz-target": "AmazonSQS.DeleteMessageBatch" },
      JSON.stringify({ QueueUrl: "http://127.0.0.1:1/123456789012/q" }),
      where,
    );

    expect(query).toMatchObject({
      action: "dynamodb:Query",
      resources: ["arn:aws:dynamodb:us-east-1:123456789012:table/t/index/by-transcript-id"],
    });
    expect(batch).toMatchObject({
      operation: "DeleteMessageBatch",
      action: "sqs:DeleteMessage",
      resources: ["arn:aws:sqs:us-east-1:123456789012:q"],
    });
  });
});

describe("the recorder", () => {
  let upstream: Server;
  let recorder: AwsRecorder;
  let dir: string;
  const credentials = (who: string) => ({ accessKeyId: `local-${who}`, secretAccessKey: "local" });

  beforeAll(async () => {
    upstream = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        if (String(request.headers["x-amz-target"]).endsWith("ReceiveMessage")) {
          // An outage mid-answer: headers sent, then the connection is cut.
          response.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
          response.write("{");
          setTimeout(() => response.socket?.destroy(), 20);
          return;
        }
        response.writeHead(404, { "content-type": "application/xml" });
        response.end("<Error><Code>NoSuchKey</Code></Error>");
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    dir = mkdtempSync(path.join(tmpdir(), "recorder-"));
    recorder = await startAwsRecorder({
      upstreams: { default: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` },
      ...where,
      file: path.join(dir, "calls.jsonl"),
    });
  });

  afterAll(async () => {
    await recorder.close();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes down who made each call, what IAM action it is, and what the emulator answered", async () => {
    const s3 = new S3Client({
      endpoint: recorder.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: credentials("worker"),
    });
    const dynamodb = new DynamoDBClient({
      endpoint: recorder.endpoint,
      region: "us-east-1",
      credentials: credentials("reconciler"),
      maxAttempts: 1,
    });

    await expect(
      s3.send(new GetObjectCommand({ Bucket: "b", Key: "reconciler/checkpoint.json" })),
    ).rejects.toThrow();
    await expect(s3.send(new ListObjectsV2Command({ Bucket: "b", Prefix: "reconciler/" }))).rejects.toThrow();
    await expect(
      dynamodb.send(new GetItemCommand({ TableName: "t", Key: { k: { S: "v" } } })),
    ).rejects.toThrow();

    const lines = readFileSync(path.join(dir, "calls.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as RecordedCall);
    expect(lines).toEqual(recorder.calls);
    expect(
      lines.map((c) => [c.accessKeyId, c.operation, c.action, c.resources, c.context, c.status]),
    ).toEqual(
      expect.arrayContaining([
        ["local-worker", "GetObject", "s3:GetObject", ["arn:aws:s3:::b/reconciler/checkpoint.json"], {}, 404],
        [
          "local-worker",
          "ListObjectsV2",
          "s3:ListBucket",
          ["arn:aws:s3:::b"],
          { "s3:prefix": "reconciler/" },
          404,
        ],
        [
          "local-reconciler",
          "GetItem",
          "dynamodb:GetItem",
          ["arn:aws:dynamodb:us-east-1:123456789012:table/t"],
          {},
          404,
        ],
      ]),
    );
    s3.destroy();
    dynamodb.destroy();
  });

  it("cuts the caller off when the upstream cuts an answer short, instead of leaving it waiting", async () => {
    const sqs = new SQSClient({
      endpoint: recorder.endpoint,
      region: "us-east-1",
      credentials: credentials("worker"),
      maxAttempts: 1,
    });

    await expect(
      sqs.send(
        new ReceiveMessageCommand({ QueueUrl: `${recorder.endpoint}/123456789012/q`, WaitTimeSeconds: 1 }),
      ),
    ).rejects.toThrow();
    sqs.destroy();
  });
});

describe("the recorder at shutdown", () => {
  it("keeps a call that ends after close in memory, and does not crash writing it to the closed file", async () => {
    let release: () => void = () => undefined;
    const arrived = new Promise<void>((seen) => {
      const upstream = createServer((request, response) => {
        request.resume();
        seen();
        release = () => {
          response.writeHead(404, { "content-type": "application/xml" });
          response.end("<Error><Code>NoSuchKey</Code></Error>");
          upstream.close();
        };
      });
      upstream.listen(0, "127.0.0.1", () => starting(upstream));
    });
    let starting: (upstream: Server) => void = () => undefined;
    const upstream = await new Promise<Server>((resolve) => {
      starting = resolve;
    });
    const dir = mkdtempSync(path.join(tmpdir(), "recorder-"));
    const recorder = await startAwsRecorder({
      upstreams: { default: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` },
      ...where,
      file: path.join(dir, "calls.jsonl"),
    });
    const s3 = new S3Client({
      endpoint: recorder.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: { accessKeyId: "local-worker", secretAccessKey: "local" },
      maxAttempts: 1,
    });
    const pending = s3.send(new GetObjectCommand({ Bucket: "b", Key: "k" })).catch(() => undefined);
    await arrived;

    await recorder.close();
    release();
    await pending;
    while (recorder.calls.length === 0) await new Promise((resolve) => setImmediate(resolve));

    expect(recorder.calls).toMatchObject([{ operation: "GetObject", status: 404 }]);
    expect(readFileSync(path.join(dir, "calls.jsonl"), "utf8")).toBe("");
    s3.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
});
