/**
 * Widenings of the credential input rules for one deployment (the rules and their defaults live in
 * libs/credentials): `KEYSTREAM_AZURE_ENDPOINT_HOSTS` — comma-separated host suffixes (or exact hosts) Azure
 * OpenAI endpoints may use besides the Azure clouds' own (sovereign clouds, private endpoints, a gateway);
 * `KEYSTREAM_BEDROCK_REGIONS` — comma-separated AWS regions to accept besides the known list.
 */
export interface InputSettings {
  readonly azureEndpointHosts: readonly string[];
  readonly bedrockRegions: readonly string[];
}

const HOST = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export function readInputSettings(
  env: Readonly<Record<string, string | undefined>>,
  fail: (name: string, reason: string) => Error,
): InputSettings {
  const list = (name: string, pattern: RegExp, what: string): string[] => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return [];
    return raw.split(',').map((entry) => {
      const v = entry.trim().toLowerCase();
      // Agents send keys to these hosts: an IP literal or punycode look-alike is refused even here.
      if (!pattern.test(v) || /^[\d.]+$/.test(v) || v.split('.').some((l) => l.startsWith('xn--')))
        throw fail(name, `entry "${entry.trim()}" is not ${what}`);
      return v;
    });
  };
  return {
    azureEndpointHosts: list(
      'KEYSTREAM_AZURE_ENDPOINT_HOSTS',
      HOST,
      'an ASCII DNS host name (for example privatelink.openai.azure.com)',
    ),
    bedrockRegions: list('KEYSTREAM_BEDROCK_REGIONS', REGION, 'an AWS region name (for example us-east-1)'),
  };
}
