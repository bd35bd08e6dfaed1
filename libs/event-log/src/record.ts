import { createHash } from 'node:crypto';
import type { EventEnvelope } from '@keystream/credentials';
import { decodeEnvelope, encodeEnvelope } from './envelope.codec';
import type { LogRecord } from './event-log.port';

export function recordFromBytes(partition: number, offset: string, key: string | null, value: Buffer | null): LogRecord {
  const bytes = value ?? Buffer.alloc(0);
  const { envelope, error } = decodeEnvelope(value);
  return { partition, offset, key, envelope, error, valueSha256: createHash('sha256').update(bytes).digest('hex'), valueBytes: bytes.length };
}

export function recordFromEnvelope(partition: number, offset: string, e: EventEnvelope): LogRecord {
  const bytes = encodeEnvelope(e);
  return { partition, offset, key: e.orgId, envelope: e, valueSha256: createHash('sha256').update(bytes).digest('hex'), valueBytes: bytes.length };
}
