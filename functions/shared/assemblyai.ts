/** AssemblyAI facts the stack, the functions and the tools share (the reference notes sit beside the repository, in ../shared/reference/). */

export type AssemblyAiRegion = "us" | "eu";

/** Every region AssemblyAI serves, in the order `both` configures them. */
export const ASSEMBLYAI_REGIONS: readonly AssemblyAiRegion[] = ["us", "eu"];

export function isAssemblyAiRegion(value: string): value is AssemblyAiRegion {
  return (ASSEMBLYAI_REGIONS as readonly string[]).includes(value);
}

export const ASSEMBLYAI_BASE_URLS: Readonly<Record<AssemblyAiRegion, string>> = {
  us: "https://api.assemblyai.com",
  eu: "https://api.eu.assemblyai.com",
};

/** AssemblyAI's published webhook source addresses. */
export const ASSEMBLYAI_WEBHOOK_IPS: Readonly<Record<AssemblyAiRegion, string>> = {
  us: "44.238.19.20/32",
  eu: "54.220.25.36/32",
};

/** The region whose published webhook source address `sourceIp` is, if it is one of them. */
export function regionOfSourceIp(sourceIp: string | undefined): AssemblyAiRegion | undefined {
  const ip = sourceIp?.trim();
  if (!ip) return undefined;
  return ASSEMBLYAI_REGIONS.find((region) => ASSEMBLYAI_WEBHOOK_IPS[region] === `${ip}/32`);
}

/**
 * The webhook URL's query parameter that names the region a job was submitted to (`?aai_region=eu`): it
 * wins over the source address, and is the only signal on the local stack, where deliveries come from
 * 127.0.0.1.
 */
export const REGION_PARAMETER = "aai_region";

/**
 * Hosts AssemblyAI serves redacted audio from (presigned S3 URLs, path- or virtual-hosted style). A host
 * pattern is an exact host name or `*.` followed by a suffix.
 */
export const DEFAULT_REDACTED_AUDIO_HOSTS: readonly string[] = [
  "s3.us-west-2.amazonaws.com",
  "*.s3.us-west-2.amazonaws.com",
  "s3.eu-west-1.amazonaws.com",
  "*.s3.eu-west-1.amazonaws.com",
];

/** What GET /v2/transcript/{id} answers once a transcript has been deleted at AssemblyAI. */
export const DELETED_TRANSCRIPT_TEXT = "Deleted by user.";
