/**
 * IAM as AWS would evaluate it, for a synthesized template: each function's role policies and the resource
 * policies (bucket, queues), resolved to concrete ARNs, and a call run through an IAM simulator
 * (`@cloud-copilot/iam-simulate`, AGPL-3.0: a test-only dev dependency, never shipped). moto enforces no
 * IAM, so this is how `npm test` knows that what the functions do is allowed, and what they must never do
 * is not.
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";

export const ACCOUNT_ID = "123456789012";
export const REGION = "us-east-1";

type Json = unknown;
interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
}
export interface TemplateJson {
  readonly Resources: Record<string, Resource>;
}

/** What a resource's `Ref` and `Fn::GetAtt` resolve to. */
export interface Binding {
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied";

export interface Call {
  readonly action: string;
  readonly resource: string;
  /** A multivalued key's values as an array (events:source holds every PutEvents entry's source). */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
}

/** How each kind of resource is named when the test does not bind it to something concrete. */
function defaultBinding(logicalId: string, type: string): Binding {
  const name = logicalId.toLowerCase();
  switch (type) {
    case "AWS::DynamoDB::Table":
      return {
        ref: name,
        attributes: {
          Arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT_ID}:table/${name}`,
          StreamArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT_ID}:table/${name}/stream/2026-12-01T00:00:00.000`,
        },
      };
    case "AWS::SQS::Queue":
      return {
        ref: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT_ID}/${name}`,
        attributes: { Arn: `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${name}`, QueueName: name },
      };
    case "AWS::S3::Bucket":
      return { ref: name, attributes: { Arn: `arn:aws:s3:::${name}` } };
    case "AWS::SecretsManager::Secret":
      return { ref: `arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:${name}-AbCdEf`, attributes: {} };
    case "AWS::IAM::Role":
      return { ref: name, attributes: { Arn: `arn:aws:iam::${ACCOUNT_ID}:role/${logicalId}` } };
    case "AWS::Logs::LogGroup":
      return { ref: name, attributes: { Arn: `arn:aws:logs:${REGION}:${ACCOUNT_ID}:log-group:${name}:*` } };
    case "AWS::Events::EventBus":
      return { ref: name, attributes: { Arn: `arn:aws:events:${REGION}:${ACCOUNT_ID}:event-bus/${name}` } };
    case "AWS::KMS::Key":
      return { ref: name, attributes: { Arn: `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/${name}` } };
    default:
      return { ref: name, attributes: { Arn: `arn:aws:unknown:${REGION}:${ACCOUNT_ID}:${logicalId}` } };
  }
}

const PSEUDO: Record<string, string> = {
  "AWS::Region": REGION,
  "AWS::AccountId": ACCOUNT_ID,
  "AWS::Partition": "aws",
  "AWS::URLSuffix": "amazonaws.com",
};

/** The template's IAM, resolved; `bindings` names resources as the caller sees them (e.g. the local stack's). */
export class TemplateIam {
  private readonly resources: Record<string, Resource>;

  constructor(
    template: TemplateJson,
    private readonly bindings: Readonly<Record<string, Binding>> = {},
  ) {
    this.resources = template.Resources;
  }

  binding(logicalId: string): Binding {
    const bound = this.bindings[logicalId];
    if (bound) return bound;
    const resource = this.resources[logicalId];
    if (!resource) throw new Error(`the template has no resource ${logicalId}`);
    return defaultBinding(logicalId, resource.Type);
  }

  /** A value with its intrinsic functions resolved (Ref, Fn::GetAtt, Fn::Join, Fn::Sub without variables map). */
  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (typeof value !== "object" || value === null) return value;
    const object = value as Record<string, Json>;
    if ("Ref" in object) {
      const name = String(object.Ref);
      return PSEUDO[name] ?? this.binding(name).ref;
    }
    if ("Fn::GetAtt" in object) {
      const [id, attribute] = object["Fn::GetAtt"] as [string, string];
      const resolved = this.binding(id).attributes[attribute];
      if (resolved === undefined) throw new Error(`no ${attribute} bound for ${id}`);
      return resolved;
    }
    if ("Fn::Join" in object) {
      const [separator, parts] = object["Fn::Join"] as [string, Json[]];
      return parts.map((part) => String(this.resolve(part))).join(separator);
    }
    if ("Fn::Sub" in object && typeof object["Fn::Sub"] === "string") {
      return object["Fn::Sub"].replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        const [id, attribute] = name.split(".");
        return attribute
          ? String(this.binding(id as string).attributes[attribute])
          : String(this.resolve({ Ref: id }));
      });
    }
    return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, this.resolve(item)]));
  }

  /** The logical id of the role a function runs with. */
  roleOf(functionId: string): string {
    const role = this.resources[functionId]?.Properties?.Role as
      | { "Fn::GetAtt"?: [string, string] }
      | undefined;
    const id = role?.["Fn::GetAtt"]?.[0];
    if (!id) throw new Error(`${functionId} has no role in the template`);
    return id;
  }

  /** Every policy attached to a role: inline ones on the role and AWS::IAM::Policy resources naming it. */
  policiesOf(roleId: string): Array<{ name: string; policy: Json }> {
    const role = this.resources[roleId];
    const inline = (
      (role?.Properties?.Policies as Array<{ PolicyName: string; PolicyDocument: Json }>) ?? []
    ).map((p) => ({ name: p.PolicyName, policy: this.resolve(p.PolicyDocument) }));
    if ((role?.Properties?.ManagedPolicyArns as unknown[] | undefined)?.length) {
      throw new Error(`${roleId} has managed policies, which this simulation cannot read`);
    }
    const attached = Object.entries(this.resources)
      .filter(([, r]) => r.Type === "AWS::IAM::Policy")
      .filter(([, r]) =>
        ((r.Properties?.Roles as Json[]) ?? []).some((ref) => (ref as { Ref?: string }).Ref === roleId),
      )
      .map(([id, r]) => ({ name: id, policy: this.resolve(r.Properties?.PolicyDocument) }));
    return [...inline, ...attached];
  }

  /**
   * The resource policy that governs an ARN (bucket policy, queue policy, a key's key policy, which KMS
   * always evaluates: a key whose policy does not delegate to IAM is usable by no identity policy), if the
   * template has one.
   */
  resourcePolicyFor(arn: string): Json | undefined {
    for (const [id, resource] of Object.entries(this.resources)) {
      const properties = resource.Properties ?? {};
      if (resource.Type === "AWS::KMS::Key" && arn === this.binding(id).attributes.Arn) {
        return this.resolve(properties.KeyPolicy);
      }
      if (resource.Type === "AWS::S3::BucketPolicy") {
        const bucket = String(this.resolve(properties.Bucket));
        if (arn === `arn:aws:s3:::${bucket}` || arn.startsWith(`arn:aws:s3:::${bucket}/`)) {
          return this.resolve(properties.PolicyDocument);
        }
      }
      if (resource.Type === "AWS::SQS::QueuePolicy") {
        const urls = (this.resolve(properties.Queues) as string[]) ?? [];
        const names = urls.map((url) => url.slice(url.lastIndexOf("/") + 1));
        if (arn.startsWith("arn:aws:sqs:") && names.includes(arn.slice(arn.lastIndexOf(":") + 1))) {
          return this.resolve(properties.PolicyDocument);
        }
      }
    }
    return undefined;
  }

  /** Whether the role may make the call, as IAM would decide it over HTTPS. */
  async decide(roleId: string, call: Call): Promise<Decision> {
    const resourcePolicy = this.resourcePolicyFor(call.resource);
    const result = await runSimulation(
      {
        request: {
          principal: String(this.binding(roleId).attributes.Arn),
          action: call.action,
          resource: { resource: call.resource, accountId: ACCOUNT_ID },
          contextVariables: { "aws:SecureTransport": "true", ...call.context },
        },
        identityPolicies: this.policiesOf(roleId),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(resourcePolicy === undefined ? {} : { resourcePolicy }),
      },
      {},
    );
    if (result.resultType === "error") {
      throw new Error(
        `the simulator refused ${call.action} on ${call.resource}: ${JSON.stringify(result.errors)}`,
      );
    }
    return result.overallResult as Decision;
  }
}

/**
 * The IAM evaluations a recorded call stands for. S3 answers a GetObject or HeadObject of a missing key with
 * 404 only to a caller that may also s3:ListBucket the bucket (with no s3:prefix: the request has none),
 * and with 403 AccessDenied otherwise; moto answered 404 regardless, so that permission is checked too.
 */
export function evaluationsOf(call: {
  readonly operation: string;
  readonly action: string;
  readonly resources: readonly string[];
  readonly context: Readonly<Record<string, string | readonly string[]>>;
  readonly status: number;
}): Call[] {
  const calls: Call[] = call.resources.map((resource) => ({
    action: call.action,
    resource,
    context: call.context,
  }));
  if ((call.operation === "GetObject" || call.operation === "HeadObject") && call.status === 404) {
    for (const resource of call.resources) {
      calls.push({
        action: "s3:ListBucket",
        resource: resource.slice(0, resource.indexOf("/", "arn:aws:s3:::".length)),
      });
    }
  }
  return calls;
}
