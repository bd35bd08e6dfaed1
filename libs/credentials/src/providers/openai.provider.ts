import { field, ProviderSpec } from './provider';
import { httpsUrl, inferenceKey, matches } from './rules';

export const OPENAI: ProviderSpec = {
  id: 'openai',
  section: 'OpenAI Configuration',
  fields: [
    field({
      name: 'apiKey',
      secret: true,
      // sk-..., sk-proj-..., sk-svcacct-..., sk-None-...: any sk- key that is not an admin or Anthropic key.
      rules: [inferenceKey('openai', /^sk-[A-Za-z0-9_-]{20,}$/, 'OpenAI API key')],
      description: 'OpenAI API key (project, service-account or user key)',
      example: 'sk-proj-FAKEFAKEFAKEFAKEFAKEFAKE',
    }),
    field({
      name: 'organization',
      required: false,
      rules: [matches(/^org-[A-Za-z0-9]{6,}$/, 'must be an OpenAI organization ID like org-…')],
      description: 'OpenAI organization ID',
      example: 'org-FAKE0000000000',
    }),
    field({
      name: 'project',
      required: false,
      rules: [matches(/^proj_[A-Za-z0-9]{6,}$/, 'must be an OpenAI project ID like proj_…')],
      description: 'OpenAI project ID',
      example: 'proj_FAKE00000000',
    }),
    field({
      name: 'baseUrl',
      required: false,
      maxLength: 2048,
      rules: [httpsUrl({ allowLoopbackHttp: true })],
      description: 'Override of the API base URL (an https proxy or gateway)',
      example: 'https://api.openai.com/v1',
    }),
  ],
  crossFieldRules: [],
};
