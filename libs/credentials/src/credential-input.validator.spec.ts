import { RawValues, validateCredentialInput } from './credential-input.validator';
import { LABEL_MAX } from './label';
import { PROVIDER_IDS, PROVIDERS, ProviderId } from './providers';

/** `fill('FAKE', 35)` → 'FAKEFAKE…' cut to exactly 35 characters. */
const fill = (pattern: string, length: number) => pattern.repeat(Math.ceil(length / pattern.length)).slice(0, length);

const KEYS = {
  openaiLegacy: `sk-${fill('FAKE', 48)}`,
  openaiProject: `sk-proj-${fill('FAKE_fake-0', 156)}`,
  openaiServiceAccount: `sk-svcacct-${fill('FAKE_fake-0', 150)}`,
  openaiNone: `sk-None-${fill('FAKEfake0', 48)}`,
  openaiAdmin: `sk-admin-${fill('FAKE_fake-0', 150)}`,
  anthropic: `sk-ant-api03-${fill('FAKE_fake-0', 93)}AA`,
  anthropicAdmin: `sk-ant-admin01-${fill('FAKE_fake-0', 93)}AA`,
  anthropicOAuth: `sk-ant-oat01-${fill('FAKE_fake-0', 93)}AA`,
  gemini: `AIza${fill('FAKE_fake-0', 35)}`,
  googleOAuth: `ya29.${fill('FAKE_fake-0', 120)}`,
  entraJwt: `eyJ${fill('FAKE', 30)}.eyJ${fill('fake', 40)}.${fill('FAKE_sig', 40)}`,
  awsAccess: 'AKIAFAKEFAKEFAKEFAKE',
  awsTemporary: 'ASIAFAKE0000FAKE0000',
  awsSecret: fill('FAKE/fake+0', 40),
  awsSessionToken: fill('FAKEsessionTOKEN/+=', 900),
  bedrockLongTerm: `ABSK${fill('RkFLRS1mYWtlLUZBS0U+/=', 128)}`,
  bedrockShortTerm: `bedrock-api-key-${fill('YmVkcm9jay5GQUtF+/=', 1800)}`,
  azureHex: 'deadbeefdeadbeefdeadbeefdeadbeef',
  azure84: fill('FAKE0fake9', 84),
};

/** A complete, valid add for each section; each row below changes one value. */
const VALID: Record<ProviderId, Record<string, string>> = {
  openai: { apiKey: KEYS.openaiProject },
  gemini: { apiKey: KEYS.gemini },
  anthropic: { apiKey: KEYS.anthropic },
  'bedrock-access': { accessKeyId: KEYS.awsAccess, secretAccessKey: KEYS.awsSecret, region: 'us-east-1' },
  'bedrock-api-key': { apiKey: KEYS.bedrockLongTerm, region: 'us-west-2' },
  'azure-openai': {
    endpoint: 'https://x.openai.azure.com',
    apiKey: KEYS.azureHex,
    deployment: 'gpt-4o-prod',
    apiVersion: '2024-10-21',
  },
};

const validate = (provider: ProviderId, label: unknown, values: RawValues, mode: 'add' | 'edit' = 'add') =>
  validateCredentialInput(PROVIDERS[provider], label, values, mode);

describe('validateCredentialInput: accepted values', () => {
  it.each(PROVIDER_IDS)('accepts the complete valid %s add', (provider) => {
    expect(validate(provider, 'Prod', VALID[provider])).toEqual([]);
  });

  const examples = PROVIDER_IDS.flatMap((p) => PROVIDERS[p].fields.map((f) => [p, f.name, f.example] as const));
  it.each(examples)('accepts the %s table’s own example for %s', (provider, name, example) => {
    expect(validate(provider, 'Prod', { ...VALID[provider], [name]: example })).toEqual([]);
  });

  it.each<[ProviderId, string, string, string]>([
    ['openai', 'apiKey', 'legacy sk-<48 alphanumerics>', KEYS.openaiLegacy],
    ['openai', 'apiKey', 'project key sk-proj-…', KEYS.openaiProject],
    ['openai', 'apiKey', 'service-account key sk-svcacct-…', KEYS.openaiServiceAccount],
    ['openai', 'apiKey', 'user key sk-None-…', KEYS.openaiNone],
    ['openai', 'organization', 'org-…', 'org-FAKE00000000000000000'],
    ['openai', 'project', 'proj_…', 'proj_FAKE0000000000000000'],
    ['openai', 'baseUrl', 'an https gateway', 'https://gateway.example.com/openai/v1'],
    ['openai', 'baseUrl', 'a plain-http localhost proxy', 'http://localhost:8080/v1'],
    ['anthropic', 'apiKey', 'sk-ant-api03-…', KEYS.anthropic],
    ['anthropic', 'baseUrl', 'a plain-http loopback proxy', 'http://127.0.0.1:4000'],
    ['gemini', 'apiKey', 'AIza + 35 characters', KEYS.gemini],
    ['bedrock-access', 'accessKeyId', 'long-term AKIA…', KEYS.awsAccess],
    ['bedrock-access', 'accessKeyId', 'temporary ASIA…', KEYS.awsTemporary],
    ['bedrock-access', 'secretAccessKey', '40 base64 characters', KEYS.awsSecret],
    ['bedrock-access', 'sessionToken', 'a 900-character token', KEYS.awsSessionToken],
    ['bedrock-access', 'region', 'us-gov-west-1', 'us-gov-west-1'],
    ['bedrock-access', 'region', 'eu-central-2', 'eu-central-2'],
    ['bedrock-access', 'region', 'ap-southeast-5', 'ap-southeast-5'],
    ['bedrock-api-key', 'apiKey', 'long-term ABSK…', KEYS.bedrockLongTerm],
    ['bedrock-api-key', 'apiKey', 'short-term bedrock-api-key-…', KEYS.bedrockShortTerm],
    ['azure-openai', 'apiKey', '32 hex characters', KEYS.azureHex],
    ['azure-openai', 'apiKey', '84 alphanumerics', KEYS.azure84],
    ['azure-openai', 'endpoint', 'https://x.openai.azure.com/', 'https://x.openai.azure.com/'],
    ['azure-openai', 'apiVersion', '2024-10-21', '2024-10-21'],
    ['azure-openai', 'apiVersion', '2025-04-01-preview', '2025-04-01-preview'],
    ['azure-openai', 'apiVersion', 'v1', 'v1'],
    ['azure-openai', 'apiVersion', 'a leap day 2024-02-29', '2024-02-29'],
  ])('%s %s accepts %s', (provider, name, _, value) => {
    expect(validate(provider, 'Prod', { ...VALID[provider], [name]: value })).toEqual([]);
  });

  it.each(['P', 'Prod – EU (team α)', fill('L', LABEL_MAX)])('accepts the label %s', (label) => {
    expect(validate('openai', label, VALID.openai)).toEqual([]);
  });

  it('requires nothing in edit mode: omitted values and label stay as they are', () => {
    expect(validate('azure-openai', undefined, {}, 'edit')).toEqual([]);
  });

  it('lets an edit clear an optional value with null', () => {
    expect(validate('openai', undefined, { organization: null, baseUrl: null }, 'edit')).toEqual([]);
  });

  it('prefixes field paths for a change inside a batch', () => {
    const errors = validateCredentialInput(
      PROVIDERS.gemini,
      'Prod',
      { apiKey: KEYS.openaiProject },
      'add',
      'changes[2].',
    );
    expect(errors).toEqual([{ field: 'changes[2].apiKey', code: 'wrong_provider', message: expect.any(String) }]);
  });
});

interface Rejection {
  readonly provider: ProviderId;
  readonly values: RawValues;
  readonly field: string;
  readonly code: string;
  readonly mode?: 'add' | 'edit';
  readonly label?: unknown;
}

const LABEL = Symbol('default label');
const row = (
  provider: ProviderId,
  values: RawValues,
  field: string,
  code: string,
  extra: { mode?: 'add' | 'edit'; label?: unknown } = {},
): [string, Rejection] => [
  `${extra.mode ?? 'add'} ${provider}: ${field} → ${code} (${JSON.stringify('label' in extra ? { label: extra.label } : values).slice(0, 60)})`,
  {
    provider,
    values,
    field,
    code,
    label: 'label' in extra ? extra.label : LABEL,
    ...('mode' in extra ? { mode: extra.mode } : {}),
  },
];

const REJECTIONS: [string, Rejection][] = [
  row('gemini', {}, 'label', 'invalid_type', { label: 42 }),
  row('azure-openai', { endpoint: 'https://x.openai.azure.com/?' }, 'endpoint', 'invalid_url'),
  row('azure-openai', { endpoint: 'https://x.openai.azure.com/#' }, 'endpoint', 'invalid_url'),
  // A key pasted into the wrong section.
  row('openai', { apiKey: KEYS.anthropic }, 'apiKey', 'wrong_provider'),
  row('openai', { apiKey: KEYS.gemini }, 'apiKey', 'wrong_provider'),
  row('openai', { apiKey: KEYS.bedrockLongTerm }, 'apiKey', 'wrong_provider'),
  row('anthropic', { apiKey: KEYS.openaiProject }, 'apiKey', 'wrong_provider'),
  row('anthropic', { apiKey: KEYS.openaiLegacy }, 'apiKey', 'wrong_provider'),
  row('gemini', { apiKey: KEYS.anthropic }, 'apiKey', 'wrong_provider'),
  row('azure-openai', { apiKey: KEYS.openaiProject }, 'apiKey', 'wrong_provider'),
  row('azure-openai', { apiKey: KEYS.awsAccess }, 'apiKey', 'wrong_provider'),
  row('bedrock-api-key', { apiKey: KEYS.openaiProject }, 'apiKey', 'wrong_provider'),
  row('bedrock-access', { accessKeyId: KEYS.bedrockLongTerm }, 'accessKeyId', 'wrong_provider'),
  // Admin and OAuth credentials where an inference key belongs.
  row('openai', { apiKey: KEYS.openaiAdmin }, 'apiKey', 'not_inference_key'),
  row('anthropic', { apiKey: KEYS.anthropicAdmin }, 'apiKey', 'not_inference_key'),
  row('anthropic', { apiKey: KEYS.anthropicOAuth }, 'apiKey', 'not_inference_key'),
  row('gemini', { apiKey: KEYS.googleOAuth }, 'apiKey', 'not_inference_key'),
  row('azure-openai', { apiKey: KEYS.entraJwt }, 'apiKey', 'not_inference_key'),
  // Whitespace from a sloppy paste.
  row('openai', { apiKey: ` ${KEYS.openaiProject}` }, 'apiKey', 'whitespace'),
  row('openai', { apiKey: `${KEYS.openaiProject}\n` }, 'apiKey', 'whitespace'),
  row('anthropic', { apiKey: `${KEYS.anthropic}\t` }, 'apiKey', 'whitespace'),
  row('gemini', { apiKey: `${KEYS.gemini}\u00a0` }, 'apiKey', 'whitespace'),
  row('openai', { apiKey: KEYS.openaiProject.replace('FAKE_', 'FAKE ') }, 'apiKey', 'whitespace'),
  row(
    'bedrock-access',
    { secretAccessKey: `${KEYS.awsSecret.slice(0, 20)} ${KEYS.awsSecret.slice(21)}` },
    'secretAccessKey',
    'whitespace',
  ),
  row('bedrock-access', { region: 'us-east-1 ' }, 'region', 'whitespace'),
  row('azure-openai', { endpoint: ' https://x.openai.azure.com' }, 'endpoint', 'whitespace'),
  row('azure-openai', { deployment: 'gpt-4o-prod\n' }, 'deployment', 'whitespace'),
  // Shape of the request.
  row('openai', { organizationId: 'org-FAKE000000' }, 'organizationId', 'unknown_field'),
  row('gemini', { baseUrl: 'https://generativelanguage.googleapis.com' }, 'baseUrl', 'unknown_field'),
  row('openai', { apiKey: 12345 }, 'apiKey', 'invalid_type'),
  row('bedrock-access', { region: ['us-east-1'] }, 'region', 'invalid_type'),
  row('azure-openai', { apiVersion: 20241021 }, 'apiVersion', 'invalid_type'),
  row('openai', { apiKey: '' }, 'apiKey', 'empty'),
  // URLs.
  row('azure-openai', { endpoint: 'http://x.openai.azure.com' }, 'endpoint', 'insecure_url'),
  row('azure-openai', { endpoint: 'http://localhost:8080' }, 'endpoint', 'insecure_url'),
  row('openai', { baseUrl: 'http://api.openai.com/v1' }, 'baseUrl', 'insecure_url'),
  row('anthropic', { baseUrl: 'ftp://api.anthropic.com' }, 'baseUrl', 'insecure_url'),
  row('azure-openai', { endpoint: 'x.openai.azure.com' }, 'endpoint', 'invalid_url'),
  row('azure-openai', { endpoint: 'https://' }, 'endpoint', 'invalid_url'),
  row('azure-openai', { endpoint: 'https://x.openai.azure.com/?api-key=FAKE' }, 'endpoint', 'invalid_url'),
  row('azure-openai', { endpoint: 'https://x.openai.azure.com/#frag' }, 'endpoint', 'invalid_url'),
  row('openai', { baseUrl: 'https://user:FAKEpass@gateway.example.com' }, 'baseUrl', 'invalid_url'),
  // AWS regions and Azure api versions.
  row('bedrock-access', { region: 'us-east' }, 'region', 'invalid_region'),
  row('bedrock-access', { region: 'US-EAST-1' }, 'region', 'invalid_region'),
  row('bedrock-api-key', { region: 'mars-north-1' }, 'region', 'invalid_region'),
  row('bedrock-api-key', { region: 'useast1' }, 'region', 'invalid_region'),
  row('azure-openai', { apiVersion: '2024-02-30' }, 'apiVersion', 'invalid_api_version'),
  row('azure-openai', { apiVersion: '2024-13-01' }, 'apiVersion', 'invalid_api_version'),
  row('azure-openai', { apiVersion: '2024-10-21-beta' }, 'apiVersion', 'invalid_api_version'),
  row('azure-openai', { apiVersion: 'v2' }, 'apiVersion', 'invalid_api_version'),
  // Formats of the other values.
  row('openai', { organization: 'acme' }, 'organization', 'invalid_format'),
  row('bedrock-access', { accessKeyId: 'AKIAfakefakefakefake' }, 'accessKeyId', 'invalid_format'),
  row('bedrock-access', { secretAccessKey: KEYS.awsSecret.slice(1) }, 'secretAccessKey', 'invalid_format'),
  row('azure-openai', { deployment: 'gpt\u0000prod' }, 'deployment', 'invalid_characters'),
  // Required values: missing on add, cleared with null on edit.
  row('openai', { apiKey: undefined }, 'apiKey', 'required'),
  row('bedrock-access', { region: undefined }, 'region', 'required'),
  row('azure-openai', { deployment: undefined }, 'deployment', 'required'),
  row('openai', { apiKey: null }, 'apiKey', 'required', { mode: 'edit' }),
  row('bedrock-access', { region: null }, 'region', 'required', { mode: 'edit' }),
  // Length limits.
  row('openai', { apiKey: `sk-proj-${fill('FAKE', 249)}` }, 'apiKey', 'too_long'),
  row('azure-openai', { deployment: fill('d', 65) }, 'deployment', 'too_long'),
  row('bedrock-access', { sessionToken: fill('FAKE', 4097) }, 'sessionToken', 'too_long'),
  // Labels.
  row('openai', {}, 'label', 'required', { label: undefined }),
  row('openai', {}, 'label', 'empty', { label: '' }),
  row('openai', {}, 'label', 'too_long', { label: fill('L', LABEL_MAX + 1) }),
  row('openai', {}, 'label', 'whitespace', { label: ' Prod' }),
  row('openai', {}, 'label', 'whitespace', { label: 'Prod\n' }),
  row('openai', {}, 'label', 'invalid_characters', { label: 'Pr\u0007od' }),
  row('openai', {}, 'label', 'invalid_characters', { label: 'Pr\nod' }),
  row('openai', {}, 'label', 'empty', { label: '', mode: 'edit' }),
];

describe('validateCredentialInput: rejected values', () => {
  it.each(REJECTIONS)('%s', (_, r) => {
    const values = r.mode === 'edit' ? r.values : { ...VALID[r.provider], ...r.values };
    const errors = validate(r.provider, r.label === LABEL ? 'Prod' : r.label, values, r.mode ?? 'add');

    expect(errors).toEqual([{ field: r.field, code: r.code, message: expect.any(String) }]);
    const secrets = PROVIDERS[r.provider].fields.filter((f) => f.secret).map((f) => values[f.name]);
    for (const secret of secrets.filter((s): s is string => typeof s === 'string' && s.length > 0)) {
      for (const e of errors) {
        expect(e.message).not.toContain(secret.trim());
        expect(e.message).not.toContain(secret.trim().slice(8, 24));
      }
    }
  });
});
