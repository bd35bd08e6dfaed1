import type { EntityManager } from 'typeorm';

/** A log record set aside as unreadable: where it sat and why, never its value (its digest and size only). */
export interface PoisonRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly error?: string;
  readonly valueSha256: string;
  readonly valueBytes: number;
}

/** One insert for a batch's unparseable records; returns those not already set aside (a redelivery), to alert about. */
export async function setAsidePoison<R extends PoisonRecord>(
  m: EntityManager,
  group: string,
  topic: string,
  poisoned: readonly R[],
): Promise<R[]> {
  if (poisoned.length === 0) return [];
  const inserted: { partition: number; offset: string }[] = await m.query(
    `INSERT INTO poison_messages (consumer_group, topic, partition, "offset", key, reason, value_sha256, value_bytes)
     SELECT $1, $2, p, o, k, r, s, b FROM unnest($3::integer[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::integer[]) AS t(p, o, k, r, s, b)
     ON CONFLICT DO NOTHING RETURNING partition, "offset"::text AS "offset"`,
    [
      group,
      topic,
      poisoned.map((r) => r.partition),
      poisoned.map((r) => r.offset),
      poisoned.map((r) => r.key),
      poisoned.map((r) => r.error ?? 'unknown'),
      poisoned.map((r) => r.valueSha256),
      poisoned.map((r) => r.valueBytes),
    ],
  );
  const fresh = new Set(inserted.map((r) => `${r.partition}:${r.offset}`));
  return poisoned.filter((r) => fresh.has(`${r.partition}:${r.offset}`));
}

/**
 * Stores a consumer group's next offset per partition, in the caller's transaction (the projection's): one upsert for
 * every partition of the batch, never moving a position backwards.
 */
export async function storeConsumerPositions(
  m: EntityManager,
  group: string,
  topic: string,
  records: readonly { partition: number; offset: string }[],
): Promise<void> {
  if (records.length === 0) return;
  const last = new Map<number, bigint>();
  for (const r of records) {
    const next = BigInt(r.offset) + 1n;
    const seen = last.get(r.partition);
    if (seen === undefined || next > seen) last.set(r.partition, next);
  }
  await m.query(
    `INSERT INTO consumer_positions (consumer_group, topic, partition, next_offset)
     SELECT $1, $2, p, o FROM unnest($3::integer[], $4::bigint[]) AS t(p, o)
     ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = GREATEST(consumer_positions.next_offset, EXCLUDED.next_offset), updated_at = now()`,
    [group, topic, [...last.keys()], [...last.values()].map(String)],
  );
}
