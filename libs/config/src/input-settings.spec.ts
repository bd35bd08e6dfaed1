import { ConfigError } from './keystream.config';
import { readInputSettings } from './input-settings';

const read = (env: Record<string, string>) => readInputSettings(env, (name, reason) => new ConfigError(name, reason));

describe('input settings', () => {
  it('defaults to no extra hosts or regions', () => {
    expect(read({})).toEqual({ azureEndpointHosts: [], bedrockRegions: [] });
  });

  it('reads comma-separated hosts and regions, lower-cased', () => {
    expect(
      read({
        KEYSTREAM_AZURE_ENDPOINT_HOSTS: 'privatelink.openai.azure.com, AOAI.corp.example',
        KEYSTREAM_BEDROCK_REGIONS: 'ap-southeast-9',
      }),
    ).toEqual({
      azureEndpointHosts: ['privatelink.openai.azure.com', 'aoai.corp.example'],
      bedrockRegions: ['ap-southeast-9'],
    });
  });

  it.each([
    ['KEYSTREAM_AZURE_ENDPOINT_HOSTS', '10.0.0.5'],
    ['KEYSTREAM_AZURE_ENDPOINT_HOSTS', 'https://x.example'],
    ['KEYSTREAM_AZURE_ENDPOINT_HOSTS', 'xn--fke-8cd.example'],
    ['KEYSTREAM_AZURE_ENDPOINT_HOSTS', 'localhost'],
    ['KEYSTREAM_BEDROCK_REGIONS', 'moon-base'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => read({ [name]: value })).toThrow(new RegExp(`^Invalid configuration: ${name} entry`));
  });
});
