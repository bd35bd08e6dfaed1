import {
  EVENT_TYPES,
  EventEnvelope,
  LOG_EVENT_TYPES,
  LogEnvelope,
  LogEventType,
  OrganizationDeleted,
  RawEnvelope,
  upcast,
  Upcasters,
  UPCASTERS,
} from '@keystream/credentials';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
const isLogEventType = (t: unknown): t is LogEventType => (LOG_EVENT_TYPES as readonly unknown[]).includes(t);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function encodeEnvelope(e: LogEnvelope): Buffer {
  return Buffer.from(JSON.stringify(e));
}

/**
 * Validates a record read from the log (the edge where bytes become events). Anything unparseable or
 * out of contract is reported with a reason, never thrown, so a consumer can set it aside.
 */
export function decodeEnvelope(
  raw: Buffer | string | null,
  upcasters: Upcasters = UPCASTERS,
): { envelope?: LogEnvelope; error?: string } {
  if (raw === null || raw.length === 0) return { error: 'empty value' };
  let v: unknown;
  try {
    v = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return { error: 'value is not JSON' };
  }
  if (!isObj(v)) return { error: 'value is not a JSON object' };
  if (typeof v.eventId !== 'string' || !UUID.test(v.eventId)) return { error: 'eventId is not a UUID' };
  if (!isLogEventType(v.type)) return { error: 'unknown event type' };
  if (!isPosInt(v.schemaVersion)) return { error: 'schemaVersion missing' };
  if (typeof v.orgId !== 'string' || v.orgId.length === 0) return { error: 'orgId missing' };
  if (!isPosInt(v.version)) return { error: 'version must be a positive integer' };
  if (typeof v.occurredAt !== 'string' || Number.isNaN(Date.parse(v.occurredAt)))
    return { error: 'occurredAt is not a timestamp' };
  if (!isObj(v.actor) || typeof v.actor.userId !== 'string') return { error: 'actor.userId missing' };
  if (typeof v.commandId !== 'string') return { error: 'commandId missing' };
  if (v.batch !== undefined && (!isObj(v.batch) || typeof v.batch.id !== 'string' || !isPosInt(v.batch.size)))
    return { error: 'batch is malformed' };
  if (!isObj(v.data)) return { error: 'data is malformed' };
  // Older shapes are lifted, newer ones read additively (see upcast); the shape checks below hold either way.
  const lifted = upcast({ ...v, schemaVersion: v.schemaVersion, type: v.type, data: v.data }, upcasters);
  if (!lifted.envelope) return { error: lifted.error };
  const e = lifted.envelope;
  return isTombstoneEnvelope(e) || isCredentialEnvelope(e) ? { envelope: e } : { error: 'data is malformed' };
}

/** The current schema's checks of a tombstone (after upcasting): the edge where its data becomes typed. */
function isTombstoneEnvelope(e: RawEnvelope): e is RawEnvelope & EventEnvelope<OrganizationDeleted> {
  const d = e.data;
  return (
    e.type === 'OrganizationDeleted' &&
    typeof d.deletedBy === 'string' &&
    typeof d.shreddedKeys === 'number' &&
    isCount(d.lastVersion)
  );
}

/** A credential event names its credential and provider; the rest of its data is the decider's, trusted inside. */
function isCredentialEnvelope(e: RawEnvelope): e is RawEnvelope & EventEnvelope {
  return (
    (EVENT_TYPES as readonly string[]).includes(e.type) &&
    typeof e.data.credentialId === 'string' &&
    typeof e.data.provider === 'string'
  );
}
