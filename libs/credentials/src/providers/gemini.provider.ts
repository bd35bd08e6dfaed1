import { field, ProviderSpec } from './provider';
import { inferenceKey } from './rules';

export const GEMINI: ProviderSpec = {
  id: 'gemini',
  section: 'Gemini Configuration',
  fields: [
    field({
      name: 'apiKey',
      secret: true,
      rules: [inferenceKey('gemini', /^AIza[0-9A-Za-z_-]{35}$/, 'Gemini API key')],
      description: 'Google AI Studio / Gemini API key',
      example: 'AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAK',
    }),
  ],
  crossFieldRules: [],
};
