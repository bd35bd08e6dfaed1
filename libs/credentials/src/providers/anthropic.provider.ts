import { field, ProviderSpec } from './provider';
import { httpsUrl, inferenceKey } from './rules';

export const ANTHROPIC: ProviderSpec = {
  id: 'anthropic',
  section: 'Claude Configuration',
  fields: [
    field({
      name: 'apiKey',
      secret: true,
      rules: [inferenceKey('anthropic', /^sk-ant-[A-Za-z0-9]+-[A-Za-z0-9_-]{20,}$/, 'Anthropic (Claude) API key')],
      description: 'Anthropic API key (sk-ant-api…)',
      example: 'sk-ant-api03-FAKEFAKEFAKEFAKEFAKEFAKE',
    }),
    field({
      name: 'baseUrl',
      required: false,
      maxLength: 2048,
      rules: [httpsUrl({ allowLoopbackHttp: true })],
      description: 'Override of the API base URL (an https proxy or gateway)',
      example: 'https://api.anthropic.com',
    }),
  ],
  crossFieldRules: [],
};
