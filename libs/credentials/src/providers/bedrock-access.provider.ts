import { field, ProviderSpec } from './provider';
import { awsRegion, inferenceKey, matches } from './rules';

export const BEDROCK_ACCESS: ProviderSpec = {
  id: 'bedrock-access',
  section: 'Bedrock Access Credentials',
  fields: [
    field({
      name: 'accessKeyId',
      rules: [
        inferenceKey(
          'aws-access-key-id',
          /^(AKIA|ASIA)[A-Z0-9]{16}$/,
          'AWS access key ID (AKIA… or ASIA…, 20 characters)',
        ),
      ],
      description: 'AWS access key ID',
      example: 'AKIAFAKEFAKEFAKEFAKE',
    }),
    field({
      name: 'secretAccessKey',
      secret: true,
      rules: [matches(/^[A-Za-z0-9/+=]{40}$/, 'is not an AWS secret access key (40 characters)')],
      description: 'AWS secret access key',
      example: 'FAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKEfake',
    }),
    field({
      name: 'sessionToken',
      secret: true,
      required: false,
      maxLength: 4096,
      rules: [matches(/^[A-Za-z0-9/+=]{16,}$/, 'is not an AWS session token')],
      description: 'AWS session token, required with temporary (ASIA…) access keys',
      example: 'FAKEsessionTOKENfakeSESSIONtokenFAKE',
    }),
    field({
      name: 'region',
      maxLength: 32,
      rules: [awsRegion],
      description: 'AWS region of Bedrock',
      example: 'us-east-1',
    }),
  ],
  crossFieldRules: [
    ({ fields, secretsPresent }) => {
      const temporary = fields.accessKeyId?.startsWith('ASIA');
      if (temporary && !secretsPresent.has('sessionToken')) {
        return {
          field: 'sessionToken',
          code: 'session_token_required',
          message: 'is required with a temporary (ASIA…) access key',
        };
      }
      if (fields.accessKeyId?.startsWith('AKIA') && secretsPresent.has('sessionToken')) {
        return {
          field: 'sessionToken',
          code: 'session_token_unexpected',
          message: 'is only used with temporary (ASIA…) access keys',
        };
      }
      return undefined;
    },
  ],
};
