import { azureEndpoint } from './azure-endpoint.rule';
import { DEFAULT_INPUT_POLICY, inputPolicy } from './input-policy';
import { awsRegion } from './rules';

const code = (r: { code: string } | undefined) => r?.code;

describe('Azure endpoint hosts', () => {
  it.each([
    'https://fake-resource.openai.azure.com',
    'https://fake-resource.openai.azure.com/',
    'https://FAKE-Resource.cognitiveservices.azure.com',
    'https://fake.services.ai.azure.com',
    'https://fake-gov.openai.azure.us',
    'https://fake-cn.openai.azure.cn',
  ])('accepts %s by default', (url) => {
    expect(azureEndpoint(url, DEFAULT_INPUT_POLICY)).toBeUndefined();
  });

  it.each([
    ['https://127.0.0.1', 'invalid_host'],
    ['https://169.254.169.254', 'invalid_host'],
    ['https://[::1]', 'invalid_host'],
    ['https://[fe80::1]', 'invalid_host'],
    ['https://2130706433', 'invalid_host'],
    ['https://localhost', 'invalid_host'],
    ['https://api.openai.com', 'not_azure_host'],
    ['https://openai.azure.com', 'not_azure_host'],
    ['https://fake.openai.azure.com.evil.example', 'not_azure_host'],
    ['https://fakeopenai.azure.com', 'not_azure_host'],
    ['https://fаke.openai.azure.com', 'invalid_host'], // Cyrillic "а"
    ['https://xn--fke-8cd.openai.azure.com', 'invalid_host'],
    ['http://fake.openai.azure.com', 'insecure_url'],
  ])('refuses %s', (url, expected) => {
    expect(code(azureEndpoint(url, DEFAULT_INPUT_POLICY))).toBe(expected);
  });

  it('accepts an allow-listed private or sovereign host, never an IP literal', () => {
    const policy = inputPolicy({ azureEndpointHosts: ['privatelink.example.internal', 'AOAI.Corp.Example'] });
    expect(azureEndpoint('https://fake.privatelink.example.internal', policy)).toBeUndefined();
    expect(azureEndpoint('https://aoai.corp.example', policy)).toBeUndefined();
    expect(azureEndpoint('https://fake.openai.azure.com', policy)).toBeUndefined();
    expect(code(azureEndpoint('https://10.0.0.5', inputPolicy({ azureEndpointHosts: ['10.0.0.5'] })))).toBe(
      'invalid_host',
    );
  });
});

describe('Bedrock regions', () => {
  it.each(['us-east-1', 'us-west-2', 'eu-central-1', 'ap-northeast-1', 'us-gov-west-1', 'eusc-de-east-1'])(
    'accepts %s',
    (region) => {
      expect(awsRegion(region, DEFAULT_INPUT_POLICY)).toBeUndefined();
    },
  );

  it.each(['us-east-99', 'eu-west-9', 'us-middle-1', 'US-EAST-1'])('refuses %s', (region) => {
    expect(code(awsRegion(region, DEFAULT_INPUT_POLICY))).toBe('invalid_region');
  });

  it('accepts a region named by the deployment', () => {
    expect(awsRegion('ap-southeast-9', inputPolicy({ bedrockRegions: ['ap-southeast-9'] }))).toBeUndefined();
  });
});
