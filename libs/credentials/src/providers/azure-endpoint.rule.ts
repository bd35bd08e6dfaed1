import { httpsUrl } from './rules';
import { Rule } from './provider';

const fail = (code: string, message: string) => ({ code, message });
const IPV4 = /^\d+(\.\d+){0,3}$/;
const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Agents send the org's Azure key to this host, so it must be an Azure OpenAI resource host (or one the deployment
 * allows): never an IP literal, localhost, a link-local/metadata address, or a non-ASCII / punycode (IDN) host
 * that can look like an Azure one. Checked on the raw text too: the URL parser would turn a look-alike into
 * punycode silently.
 */
export const azureEndpoint: Rule = (value, policy) => {
  const basic = httpsUrl({ allowLoopbackHttp: false })(value, policy);
  if (basic) return basic;
  // eslint-disable-next-line no-control-regex -- [^\x00-\x7f] is "not ASCII", a range that starts at NUL
  if (/[^\x00-\x7f]/.test(value))
    return fail('invalid_host', 'must be an ASCII host name (no look-alike international characters)');
  const host = new URL(value).hostname.toLowerCase().replace(/\.$/, '');
  if (host.startsWith('[') || IPV4.test(host)) return fail('invalid_host', 'must be a host name, not an IP address');
  const labels = host.split('.');
  if (labels.some((l) => l.startsWith('xn--')))
    return fail('invalid_host', 'must not be an internationalized (punycode) host name');
  if (labels.some((l) => !HOST_LABEL.test(l))) return fail('invalid_host', 'has an invalid host name');
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local'))
    return fail('invalid_host', 'must not be a local host name');
  const allowed = policy.azureEndpointSuffixes.some(
    (s) => host.endsWith(`.${s}`) || (!isDefaultSuffix(s) && host === s),
  );
  if (!allowed) {
    return fail(
      'not_azure_host',
      'must be an Azure OpenAI endpoint (https://<resource>.openai.azure.com or .cognitiveservices.azure.com); other hosts need KEYSTREAM_AZURE_ENDPOINT_HOSTS',
    );
  }
  return undefined;
};

/** The public suffixes themselves are not resources; a deployment's own entry may name one exact host. */
function isDefaultSuffix(suffix: string): boolean {
  return /(^|\.)(openai|cognitiveservices|services\.ai)\.azure\.(com|us|cn)$/.test(suffix);
}
