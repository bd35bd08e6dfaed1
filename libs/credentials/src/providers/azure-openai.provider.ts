import { field, ProviderSpec } from './provider';
import { azureEndpoint } from './azure-endpoint.rule';
import { azureApiVersion, inferenceKey, matches } from './rules';

export const AZURE_OPENAI: ProviderSpec = {
  id: 'azure-openai',
  section: 'Azure OpenAI',
  fields: [
    field({
      name: 'endpoint',
      maxLength: 2048,
      rules: [azureEndpoint],
      description: 'Azure OpenAI resource endpoint',
      example: 'https://fake-resource.openai.azure.com',
    }),
    field({
      name: 'apiKey',
      secret: true,
      // 32 hex characters (classic keys) or 84 alphanumerics (current keys).
      rules: [inferenceKey(undefined, /^([0-9a-fA-F]{32}|[A-Za-z0-9]{84})$/, 'Azure OpenAI key')],
      description: 'Azure OpenAI resource key',
      example: '0000000000000000000000000000fa4e',
    }),
    field({
      name: 'deployment',
      maxLength: 64,
      rules: [matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a deployment name (letters, digits, . _ -)')],
      description: 'Model deployment name',
      example: 'gpt-4o-prod',
    }),
    field({
      name: 'apiVersion',
      maxLength: 32,
      rules: [azureApiVersion],
      description: 'api-version query parameter',
      example: '2024-10-21',
    }),
  ],
  crossFieldRules: [],
};
