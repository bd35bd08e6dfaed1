/**
 * Recognizes what kind of key a pasted value looks like, so a rule can say "this is an Anthropic key"
 * rather than "invalid format". Patterns are deliberately permissive about length and alphabet:
 * a currently valid key must never be rejected, only one that is clearly something else.
 */
export type KeyShape =
  | 'openai'
  | 'openai-admin'
  | 'anthropic'
  | 'anthropic-admin'
  | 'anthropic-oauth'
  | 'gemini'
  | 'google-oauth'
  | 'aws-access-key-id'
  | 'bedrock-api-key'
  | 'jwt';

const SHAPES: ReadonlyArray<[KeyShape, RegExp]> = [
  // Order matters: the more specific prefixes come first.
  ['anthropic-admin', /^sk-ant-admin\d{2}-/],
  ['anthropic-oauth', /^sk-ant-(oat|ort)\d{2}-/],
  ['anthropic', /^sk-ant-/],
  ['openai-admin', /^sk-admin-/],
  ['openai', /^sk-[A-Za-z0-9_-]{20,}$/],
  ['gemini', /^AIza[0-9A-Za-z_-]{35}$/],
  ['google-oauth', /^(ya29\.|1\/\/|GOCSPX-)/],
  ['aws-access-key-id', /^(AKIA|ASIA)[A-Z0-9]{12,}$/],
  ['bedrock-api-key', /^(ABSK|bedrock-api-key-)/],
  ['jwt', /^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/],
];

export function keyShape(value: string): KeyShape | undefined {
  return SHAPES.find(([, re]) => re.test(value))?.[0];
}

export const SHAPE_HOME: Readonly<Record<KeyShape, string>> = {
  openai: 'an OpenAI API key (OpenAI Configuration)',
  'openai-admin': 'an OpenAI admin key',
  anthropic: 'an Anthropic API key (Claude Configuration)',
  'anthropic-admin': 'an Anthropic admin key',
  'anthropic-oauth': 'an Anthropic OAuth token',
  gemini: 'a Gemini API key (Gemini Configuration)',
  'google-oauth': 'a Google OAuth token or client secret',
  'aws-access-key-id': 'an AWS access key ID (Bedrock Access Credentials)',
  'bedrock-api-key': 'a Bedrock API key (Bedrock API Keys)',
  jwt: 'a JSON Web Token',
};

/** Shapes that are keys of the right vendor but the wrong kind: admin or OAuth credentials. */
export const NOT_INFERENCE: ReadonlySet<KeyShape> = new Set([
  'openai-admin',
  'anthropic-admin',
  'anthropic-oauth',
  'google-oauth',
  'jwt',
]);
