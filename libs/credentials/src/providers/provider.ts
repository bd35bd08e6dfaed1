import type { InputPolicy } from './input-policy';

/**
 * One row of a provider's field table. Rules see one trimmed-checked string (and the deployment's input policy,
 * for hosts and regions) and say what is wrong with it, or nothing.
 */
export type Rule = (value: string, policy: InputPolicy) => { code: string; message: string } | undefined;

export interface FieldSpec {
  readonly name: string;
  readonly secret: boolean;
  readonly required: boolean;
  readonly maxLength: number;
  readonly rules: readonly Rule[];
  readonly description: string;
  readonly example: string;
}

/** A rule over the merged (current + edited) credential, e.g. "ASIA keys need a session token". */
export type CrossFieldRule = (view: CredentialView) => { field: string; code: string; message: string } | undefined;

/** What cross-field rules see: non-secret values, and which secrets are present (never their values). */
export interface CredentialView {
  readonly fields: Readonly<Record<string, string>>;
  readonly secretsPresent: ReadonlySet<string>;
}

export interface ProviderSpec {
  readonly id: ProviderId;
  /** The section's title in the admin UI. */
  readonly section: string;
  readonly fields: readonly FieldSpec[];
  readonly crossFieldRules: readonly CrossFieldRule[];
}

export const PROVIDER_IDS = [
  'openai',
  'gemini',
  'anthropic',
  'bedrock-access',
  'bedrock-api-key',
  'azure-openai',
] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

export function isProviderId(value: unknown): value is ProviderId {
  return typeof value === 'string' && (PROVIDER_IDS as readonly string[]).includes(value);
}

export function field(spec: Partial<FieldSpec> & Pick<FieldSpec, 'name' | 'description' | 'example'>): FieldSpec {
  return { secret: false, required: true, maxLength: 256, rules: [], ...spec };
}
