import { ANTHROPIC } from './anthropic.provider';
import { AZURE_OPENAI } from './azure-openai.provider';
import { BEDROCK_ACCESS } from './bedrock-access.provider';
import { BEDROCK_API_KEY } from './bedrock-api-key.provider';
import { GEMINI } from './gemini.provider';
import { OPENAI } from './openai.provider';
import { ProviderId, ProviderSpec } from './provider';

export const PROVIDERS: Readonly<Record<ProviderId, ProviderSpec>> = {
  openai: OPENAI,
  gemini: GEMINI,
  anthropic: ANTHROPIC,
  'bedrock-access': BEDROCK_ACCESS,
  'bedrock-api-key': BEDROCK_API_KEY,
  'azure-openai': AZURE_OPENAI,
};

export * from './provider';
export * from './input-policy';
export { keyShape } from './key-shapes';
export { awsRegion } from './rules';
export { azureEndpoint } from './azure-endpoint.rule';
