import { AckMessage, HandshakeAuth, ResyncRequest } from './agent-protocol';

const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const HASH = /^[0-9a-f]{64}$/;

/** Validates what a client sent; returns a reason when it is malformed. Unknown keys are rejected by name. */
export function checkAck(v: unknown): { value?: AckMessage; error?: string } {
  if (!isObj(v)) return { error: 'ack must be an object { epoch, version }' };
  const extra = Object.keys(v).find((k) => k !== 'epoch' && k !== 'version' && k !== 'hash');
  if (extra) return { error: `unknown field ${extra}` };
  if (!isInt(v.epoch, 1) || !isInt(v.version)) return { error: 'epoch must be an integer >= 1 and version an integer >= 0' };
  return { value: { epoch: v.epoch, version: v.version } };
}

export function checkResync(v: unknown): { value?: ResyncRequest; error?: string } {
  if (!isObj(v)) return { error: 'resync must be an object { epoch, version, hash }' };
  const extra = Object.keys(v).find((k) => !['epoch', 'version', 'hash'].includes(k));
  if (extra) return { error: `unknown field ${extra}` };
  if (!isInt(v.epoch, 0) || !isInt(v.version)) return { error: 'epoch and version must be non-negative integers' };
  if (typeof v.hash !== 'string' || !HASH.test(v.hash)) return { error: 'hash must be a lowercase hex SHA-256' };
  return { value: { epoch: v.epoch, version: v.version, hash: v.hash } };
}

/** Handshake auth: the token is checked elsewhere; here only the optional resume/hash/orgId shape. */
export function checkHandshake(v: unknown): { value?: HandshakeAuth; error?: string } {
  if (!isObj(v) || typeof v.token !== 'string' || v.token.length === 0 || v.token.length > 8192) return { error: 'auth.token is required' };
  let resume: HandshakeAuth['resume'];
  if (v.resume !== undefined) {
    if (!isObj(v.resume) || !isInt(v.resume.epoch, 0) || !isInt(v.resume.version)) return { error: 'auth.resume must be { epoch, version } integers' };
    resume = { epoch: v.resume.epoch, version: v.resume.version };
  }
  if (v.hash !== undefined && (typeof v.hash !== 'string' || !HASH.test(v.hash))) return { error: 'auth.hash must be a lowercase hex SHA-256' };
  if (v.orgId !== undefined && typeof v.orgId !== 'string') return { error: 'auth.orgId must be a string' };
  return { value: { token: v.token, resume, hash: v.hash as string | undefined, orgId: v.orgId as string | undefined } };
}
