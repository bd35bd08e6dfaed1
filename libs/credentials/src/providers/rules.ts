import { KeyShape, keyShape, NOT_INFERENCE, SHAPE_HOME } from './key-shapes';
import { Rule } from './provider';

const fail = (code: string, message: string) => ({ code, message });

/** The one rule every inference-key field uses: right shape, else say which section the key belongs to. */
export function inferenceKey(own: KeyShape | undefined, pattern: RegExp, what: string): Rule {
  return (value) => {
    const shape = keyShape(value);
    if (shape !== undefined && NOT_INFERENCE.has(shape)) {
      return fail('not_inference_key', `looks like ${SHAPE_HOME[shape]}; an inference API key is needed here`);
    }
    // A provider without a prefix of its own (Azure) accepts any value of its exact format, whatever it starts with.
    const ownExact = own === undefined && pattern.test(value);
    if (shape !== undefined && shape !== own && !ownExact) {
      return fail('wrong_provider', `looks like ${SHAPE_HOME[shape]}, not ${what}`);
    }
    return pattern.test(value) ? undefined : fail('invalid_format', `is not a valid ${what}`);
  };
}

export function matches(pattern: RegExp, message: string, code = 'invalid_format'): Rule {
  return (value) => (pattern.test(value) ? undefined : fail(code, message));
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** https only (plain http allowed for a loopback proxy when `allowLoopbackHttp`); no credentials, query or fragment. */
export function httpsUrl(opts: { allowLoopbackHttp: boolean }): Rule {
  return (value) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return fail('invalid_url', 'is not a valid URL');
    }
    const loopbackHttp = opts.allowLoopbackHttp && url.protocol === 'http:' && LOOPBACK.has(url.hostname);
    if (url.protocol !== 'https:' && !loopbackHttp) return fail('insecure_url', 'must be an https:// URL');
    if (!url.hostname || url.hostname.includes('..')) return fail('invalid_url', 'has no valid host name');
    if (url.username || url.password) return fail('invalid_url', 'must not contain a user name or password');
    if (url.search || url.hash || value.includes('?') || value.includes('#'))
      return fail('invalid_url', 'must not contain a query string or fragment');
    return undefined;
  };
}

// Every area and partition prefix in use, the isolated and sovereign partitions included.
const REGION =
  /^(us|eu|ap|ca|sa|me|af|il|mx|cn|us-gov|us-iso|us-isob|us-isof|eu-isoe|eusc-de)-(north|south|east|west|central|northeast|northwest|southeast|southwest)-\d{1,2}$/;

/** A region of the known list (or the deployment's KEYSTREAM_BEDROCK_REGIONS): agents call Bedrock there. */
export const awsRegion: Rule = (value, policy) => {
  if (policy.bedrockRegions.has(value)) return undefined;
  if (!REGION.test(value)) return fail('invalid_region', 'is not an AWS region (for example us-east-1)');
  return fail(
    'invalid_region',
    'is not a known AWS region (a newer one can be allowed with KEYSTREAM_BEDROCK_REGIONS)',
  );
};

/** Azure OpenAI api-version: a real calendar date (optionally -preview), or the v1 API's aliases. */
export const azureApiVersion: Rule = (value) => {
  if (value === 'v1' || value === 'latest' || value === 'preview') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(-preview)?$/.exec(value);
  if (!m) return fail('invalid_api_version', 'must look like 2024-10-21 or 2025-04-01-preview');
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  const real = date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
  if (!real || y < 2022) return fail('invalid_api_version', 'is not a valid API version date');
  return undefined;
};
