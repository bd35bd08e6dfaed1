import { field, ProviderSpec } from './provider';
import { awsRegion, inferenceKey } from './rules';

export const BEDROCK_API_KEY: ProviderSpec = {
  id: 'bedrock-api-key',
  section: 'Bedrock API Keys',
  fields: [
    field({
      name: 'apiKey',
      secret: true,
      maxLength: 4096,
      // Long-term keys start ABSK…, short-term keys bedrock-api-key-…
      rules: [
        inferenceKey(
          'bedrock-api-key',
          /^(ABSK[A-Za-z0-9+/=]{16,}|bedrock-api-key-[A-Za-z0-9+/=_%.-]{16,})$/,
          'Amazon Bedrock API key',
        ),
      ],
      description: 'Amazon Bedrock API key (long-term ABSK… or short-term bedrock-api-key-…)',
      example: 'ABSKFAKEFAKEFAKEFAKEFAKEFAKE',
    }),
    field({
      name: 'region',
      maxLength: 32,
      rules: [awsRegion],
      description: 'AWS region of Bedrock',
      example: 'us-west-2',
    }),
  ],
  crossFieldRules: [],
};
