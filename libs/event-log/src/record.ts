import { createHash } from 'node:crypto';
import { decodeEnvelope } from './envelope.codec';
import type { LogRecord } from './event-log.port';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * The value's digest is only needed for a record set aside (poison), so it is computed on first read,
 * not for every record every consumer (projector, each gateway) decodes.
 */
export function recordFromBytes(
  partition: number,
  offset: string,
  key: string | null,
  value: Buffer | null,
): LogRecord {
  const { envelope, error } = decodeEnvelope(value);
  let digest: string | undefined;
  return {
    partition,
    offset,
    key,
    envelope,
    error,
    get valueSha256() {
      return (digest ??= sha256(value ?? Buffer.alloc(0)));
    },
    valueBytes: value?.length ?? 0,
  };
}
