import { AckMessage, HandshakeAuth, ResyncRequest, SUPPORTED_PROTOCOLS } from './agent-protocol';

/** Versions and epochs are stored in int4 columns: anything above is refused at the edge, by name. */
export const MAX_POSITION = 2 ** 31 - 1;

const isInt = (v: unknown, min = 0): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= MAX_POSITION;
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const HASH = /^[0-9a-f]{64}$/;

/**
 * Validates what a client sent; returns a reason when it is malformed. Unknown fields are ignored, never
 * refused (docs/agent-protocol.md §7): a newer agent may send more than this server knows.
 */
export function checkAck(v: unknown): { value?: AckMessage; error?: string } {
  if (!isObj(v)) return { error: 'ack must be an object { epoch, version }' };
  if (!isInt(v.epoch, 1) || !isInt(v.version))
    return { error: `epoch must be an integer in [1, ${MAX_POSITION}] and version an integer in [0, ${MAX_POSITION}]` };
  return { value: { epoch: v.epoch, version: v.version } };
}

export function checkResync(v: unknown): { value?: ResyncRequest; error?: string } {
  if (!isObj(v)) return { error: 'resync must be an object { epoch, version, hash? }' };
  if (!isInt(v.epoch, 0) || !isInt(v.version))
    return { error: `epoch and version must be integers in [0, ${MAX_POSITION}]` };
  // Optional (docs/agent-protocol.md §2): absent means the agent cannot vouch for its content.
  if (v.hash !== undefined && (typeof v.hash !== 'string' || !HASH.test(v.hash)))
    return { error: 'hash must be a lowercase hex SHA-256' };
  return { value: { epoch: v.epoch, version: v.version, ...(v.hash !== undefined ? { hash: v.hash } : {}) } };
}

/** Handshake auth: the token is checked elsewhere; here the shape of token, protocol, resume, hash and orgId. */
export function checkHandshake(v: unknown): { value?: HandshakeAuth; error?: string; unsupportedProtocol?: boolean } {
  if (!isObj(v) || typeof v.token !== 'string' || v.token.length === 0 || v.token.length > 8192)
    return { error: 'auth.token is required' };
  if (v.protocol !== undefined && !(typeof v.protocol === 'number' && SUPPORTED_PROTOCOLS.includes(v.protocol))) {
    return {
      error: `protocol ${JSON.stringify(v.protocol)} is not supported; this server speaks ${SUPPORTED_PROTOCOLS.join(', ')}`,
      unsupportedProtocol: true,
    };
  }
  let resume: HandshakeAuth['resume'];
  if (v.resume !== undefined) {
    if (!isObj(v.resume) || !isInt(v.resume.epoch, 0) || !isInt(v.resume.version))
      return { error: 'auth.resume must be { epoch, version } integers' };
    resume = { epoch: v.resume.epoch, version: v.resume.version };
  }
  if (v.hash !== undefined && (typeof v.hash !== 'string' || !HASH.test(v.hash)))
    return { error: 'auth.hash must be a lowercase hex SHA-256' };
  if (v.orgId !== undefined && typeof v.orgId !== 'string') return { error: 'auth.orgId must be a string' };
  const protocol = v.protocol ?? 1;
  return { value: { token: v.token, protocol, resume, hash: v.hash, orgId: v.orgId } };
}
