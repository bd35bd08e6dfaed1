import { PROVIDERS } from './model';
import type { ProviderId, RemoteChange } from './model';

/** What the reference screen shows per section, besides the title (which comes from the provider table). */
export const SECTION_UI: Readonly<
  Record<ProviderId, { subtitle: string; addButton: string; empty: string; noun: string }>
> = {
  openai: {
    subtitle: 'Manage OpenAI API credentials',
    addButton: '+ Add Credential',
    empty: 'No credentials configured',
    noun: 'OpenAI credential',
  },
  gemini: {
    subtitle: 'Manage Google Gemini API credentials',
    addButton: '+ Add Credential',
    empty: 'No credentials configured',
    noun: 'Gemini credential',
  },
  anthropic: {
    subtitle: 'Manage Anthropic Claude API credentials',
    addButton: '+ Add Credential',
    empty: 'No credentials configured',
    noun: 'Claude credential',
  },
  'bedrock-access': {
    subtitle: 'Manage AWS access credentials for Amazon Bedrock',
    addButton: '+ Add Credentials',
    empty: 'No credentials configured',
    noun: 'Bedrock access credentials',
  },
  'bedrock-api-key': {
    subtitle: 'Manage API keys for Amazon Bedrock',
    addButton: '+ Add API Key',
    empty: 'No API keys configured',
    noun: 'Bedrock API key',
  },
  'azure-openai': {
    subtitle: 'Manage Azure OpenAI API configuration',
    addButton: '+ Add Configuration',
    empty: 'No credentials configured',
    noun: 'Azure OpenAI configuration',
  },
};

const FIELD_LABELS: Readonly<Record<string, string>> = {
  label: 'Label',
  apiKey: 'API key',
  organization: 'Organization ID',
  project: 'Project ID',
  baseUrl: 'Base URL',
  accessKeyId: 'Access key ID',
  secretAccessKey: 'Secret access key',
  sessionToken: 'Session token',
  region: 'Region',
  endpoint: 'Endpoint',
  deployment: 'Deployment',
  apiVersion: 'API version',
};

export const fieldLabel = (name: string): string => FIELD_LABELS[name] ?? name;

/** Validator messages are predicates ("is required"): they read after the field's name. Others stand alone. */
export function errorText(field: string, message: string): string {
  if (field === '_form' || !/^[a-z]/.test(message)) return message;
  return `${fieldLabel(field)} ${message}`;
}

export const masked = (last4: string): string => `••••${last4}`;

/** "added “Team” to Gemini Configuration", for the live region and the conflict panel. */
export function describeRemote(r: RemoteChange): string {
  const section = PROVIDERS[r.provider].section;
  if (r.kind === 'added') return `Added "${r.label}" to ${section}`;
  if (r.kind === 'removed') return `Removed "${r.label}" from ${section}`;
  const what = r.fields.filter((f) => f !== 'label');
  const renamed =
    r.previousLabel !== undefined
      ? `Renamed "${r.previousLabel}" to "${r.label}" in ${section}`
      : `Edited "${r.label}" in ${section}`;
  return what.length > 0 ? `${renamed} (${what.map(fieldLabel).join(', ')})` : renamed;
}
