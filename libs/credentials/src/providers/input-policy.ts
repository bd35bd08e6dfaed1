/**
 * Deployment-specific parts of the provider rules. The defaults are the public clouds; a deployment widens them
 * (sovereign clouds, private endpoints, a Bedrock region newer than this list) through libs/config settings.
 */
export interface InputPolicy {
  /** Host suffixes an Azure OpenAI endpoint may end with (matched on a label boundary, never the bare suffix). */
  readonly azureEndpointSuffixes: readonly string[];
  readonly bedrockRegions: ReadonlySet<string>;
}

/** Azure OpenAI / AI Services resource hosts: public cloud, Azure Government, Azure China. */
export const AZURE_ENDPOINT_SUFFIXES = [
  'openai.azure.com',
  'cognitiveservices.azure.com',
  'services.ai.azure.com',
  'openai.azure.us',
  'cognitiveservices.azure.us',
  'openai.azure.cn',
  'cognitiveservices.azure.cn',
] as const;

/**
 * Every AWS region that exists (commercial, GovCloud, China, European Sovereign Cloud, ISO partitions): a real
 * region is never refused, a made-up one (us-east-99) is. Newer regions: KEYSTREAM_BEDROCK_REGIONS.
 */
export const AWS_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'ca-west-1',
  'mx-central-1',
  'sa-east-1',
  'eu-central-1',
  'eu-central-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-south-1',
  'eu-south-2',
  'eu-north-1',
  'il-central-1',
  'me-south-1',
  'me-central-1',
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-1',
  'ap-south-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'us-gov-east-1',
  'us-gov-west-1',
  'cn-north-1',
  'cn-northwest-1',
  'eusc-de-east-1',
  'us-iso-east-1',
  'us-iso-west-1',
  'us-isob-east-1',
  'us-isof-south-1',
  'us-isof-east-1',
  'eu-isoe-west-1',
] as const;

export const DEFAULT_INPUT_POLICY: InputPolicy = {
  azureEndpointSuffixes: AZURE_ENDPOINT_SUFFIXES,
  bedrockRegions: new Set(AWS_REGIONS),
};

/** The defaults widened by a deployment's settings (never narrowed: a default host or region stays valid). */
export function inputPolicy(
  extra: { azureEndpointHosts?: readonly string[]; bedrockRegions?: readonly string[] } = {},
): InputPolicy {
  return {
    azureEndpointSuffixes: [
      ...AZURE_ENDPOINT_SUFFIXES,
      ...(extra.azureEndpointHosts ?? []).map((h) => h.toLowerCase()),
    ],
    bedrockRegions: new Set([...AWS_REGIONS, ...(extra.bedrockRegions ?? [])]),
  };
}
