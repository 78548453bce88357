/**
 * One secret's versions and staging labels held in memory with Secrets Manager's documented rules, behind
 * an aws-sdk-client-mock stub: GetSecretValue (by stage or version), PutSecretValue (AWSCURRENT by
 * default, or the given VersionStages), DescribeSecret (VersionIdsToStages) and UpdateSecretVersionStage
 * (moving AWSCURRENT moves AWSPREVIOUS to the version it left; RemoveFromVersionId is required while the
 * label is on another version, the stricter of the two readings of the API reference). Receiver and CLI
 * tests share it, so both meet the same service.
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import type { AwsClientStub } from "aws-sdk-client-mock";

export const SECRET_ARN = "arn:aws:secretsmanager:us-west-2:123456789012:secret:webhook-AbCdEf";

interface Version {
  readonly value: string;
  readonly stages: Set<string>;
}

export class SecretStages {
  private readonly versions = new Map<string, Version>();
  private counter = 0;

  constructor(initial: string) {
    this.versions.set(this.nextId(), { value: initial, stages: new Set(["AWSCURRENT"]) });
  }

  /** Answers the stub's Secrets Manager calls from this state (replacing earlier behaviours). */
  serve(mock: AwsClientStub<SecretsManagerClient>): this {
    mock.on(GetSecretValueCommand).callsFake((input: { VersionStage?: string; VersionId?: string }) => {
      const [id, version] = input.VersionId
        ? [input.VersionId, this.versions.get(input.VersionId)]
        : this.holder(input.VersionStage ?? "AWSCURRENT");
      if (id === undefined || version === undefined) {
        throw new ResourceNotFoundException({ message: "no such version", $metadata: {} });
      }
      return {
        ARN: SECRET_ARN,
        VersionId: id,
        SecretString: version.value,
        VersionStages: [...version.stages],
      };
    });
    mock.on(PutSecretValueCommand).callsFake((input: { SecretString?: string; VersionStages?: string[] }) => {
      const id = this.put(input.SecretString ?? "", input.VersionStages);
      return { ARN: SECRET_ARN, VersionId: id, VersionStages: [...(this.versions.get(id)?.stages ?? [])] };
    });
    mock
      .on(DescribeSecretCommand)
      .callsFake(() => ({ ARN: SECRET_ARN, VersionIdsToStages: this.stageMap() }));
    mock
      .on(UpdateSecretVersionStageCommand)
      .callsFake(
        (input: { VersionStage: string; MoveToVersionId?: string; RemoveFromVersionId?: string }) => {
          this.updateStage(input.VersionStage, input.MoveToVersionId, input.RemoveFromVersionId);
          return { ARN: SECRET_ARN };
        },
      );
    return this;
  }

  /** The value at a stage, or undefined when no version holds it. */
  valueAt(stage: string): string | undefined {
    return this.holder(stage)[1]?.value;
  }

  stageMap(): Record<string, string[]> {
    return Object.fromEntries([...this.versions].map(([id, version]) => [id, [...version.stages]]));
  }

  /** PutSecretValue: a new version with `stages` (AWSCURRENT by default), each label moved off others. */
  put(value: string, stages: readonly string[] = ["AWSCURRENT"]): string {
    const id = this.nextId();
    const [currentId] = this.holder("AWSCURRENT");
    for (const version of this.versions.values()) for (const stage of stages) version.stages.delete(stage);
    this.versions.set(id, { value, stages: new Set(stages) });
    if (stages.includes("AWSCURRENT") && currentId !== undefined) this.movePrevious(currentId);
    return id;
  }

  /** UpdateSecretVersionStage with the service's checks. */
  updateStage(stage: string, moveTo?: string, removeFrom?: string): void {
    const [holderId] = this.holder(stage);
    if (removeFrom !== undefined && !this.versions.get(removeFrom)?.stages.has(stage)) {
      throw new InvalidParameterException({ message: `${stage} is not on ${removeFrom}`, $metadata: {} });
    }
    if (moveTo !== undefined && !this.versions.has(moveTo)) {
      throw new InvalidParameterException({ message: `no version ${moveTo}`, $metadata: {} });
    }
    if (moveTo !== undefined && holderId !== undefined && holderId !== moveTo && removeFrom !== holderId) {
      throw new InvalidParameterException({
        message: `${stage} is attached to ${holderId}: RemoveFromVersionId must name it`,
        $metadata: {},
      });
    }
    if (removeFrom !== undefined) this.versions.get(removeFrom)?.stages.delete(stage);
    if (moveTo !== undefined) this.versions.get(moveTo)?.stages.add(stage);
    if (stage === "AWSCURRENT" && removeFrom !== undefined && removeFrom !== moveTo) {
      this.movePrevious(removeFrom);
    }
  }

  private movePrevious(to: string): void {
    for (const version of this.versions.values()) version.stages.delete("AWSPREVIOUS");
    this.versions.get(to)?.stages.add("AWSPREVIOUS");
  }

  private holder(stage: string): [string | undefined, Version | undefined] {
    for (const [id, version] of this.versions) if (version.stages.has(stage)) return [id, version];
    return [undefined, undefined];
  }

  private nextId(): string {
    this.counter += 1;
    return `00000000-0000-4000-8000-${String(this.counter).padStart(12, "0")}`;
  }
}
