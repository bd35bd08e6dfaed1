/** Obviously fake keys in each provider's accepted format. Never real, never reused outside tests. */
export const FAKE = {
  openai: 'sk-proj-FAKEFAKEFAKEFAKEFAKEFAKE0001',
  openai2: 'sk-proj-FAKEFAKEFAKEFAKEFAKEFAKE0002',
  anthropic: 'sk-ant-api03-FAKEFAKEFAKEFAKEFAKEFAKE0001',
  gemini: 'AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAK0001',
  awsAccessKeyId: 'AKIAFAKEFAKEFAKE0001',
  awsTemporaryKeyId: 'ASIAFAKEFAKEFAKE0001',
  awsSecret: 'FAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKE0001',
  awsSessionToken: 'FAKEsessionTOKENfakeSESSIONtoken0001',
  bedrockApiKey: 'ABSKFAKEFAKEFAKEFAKEFAKEFAKE0001',
  azure: '0000000000000000000000000000fa4e',
} as const;

/** One valid add request per provider. */
export function oneOfEach(suffix = ''): Record<string, unknown>[] {
  return [
    {
      provider: 'openai',
      label: `OpenAI${suffix}`,
      apiKey: FAKE.openai,
      organization: 'org-FAKE000000',
      baseUrl: 'https://api.openai.com/v1',
    },
    { provider: 'gemini', label: `Gemini${suffix}`, apiKey: FAKE.gemini },
    { provider: 'anthropic', label: `Claude${suffix}`, apiKey: FAKE.anthropic },
    {
      provider: 'bedrock-access',
      label: `Bedrock${suffix}`,
      accessKeyId: FAKE.awsAccessKeyId,
      secretAccessKey: FAKE.awsSecret,
      region: 'us-east-1',
    },
    { provider: 'bedrock-api-key', label: `BedrockKey${suffix}`, apiKey: FAKE.bedrockApiKey, region: 'us-west-2' },
    {
      provider: 'azure-openai',
      label: `Azure${suffix}`,
      endpoint: 'https://fake-resource.openai.azure.com',
      apiKey: FAKE.azure,
      deployment: 'gpt-4o',
      apiVersion: '2024-10-21',
    },
  ];
}

let counter = 0;
/** A fresh org id per test, so specs never share state. */
export function newOrgId(prefix = 't'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/**
 * The master key of every test process that shares the integration database: a deployment has one fingerprint key,
 * and a process whose master key cannot unwrap it refuses to start. 32 bytes of 'K': obviously not a real key.
 */
export const TEST_MASTER_KEY = Buffer.alloc(32, 0x4b);
export const TEST_MASTER_KEY_BASE64 = TEST_MASTER_KEY.toString('base64');
