import type { Queryable } from './queryable';

/** Where a consumer group stands per partition of a topic: the next offset to read, stored by the consumer. */
export const consumerPositions = {
  /** Every stored partition of `topic` for `group` (offsets as bigint). */
  async all(q: Queryable, group: string, topic: string): Promise<Map<number, bigint>> {
    const rows: { partition: number; next_offset: string }[] = await q.query(
      'SELECT partition, next_offset::text FROM consumer_positions WHERE consumer_group = $1 AND topic = $2',
      [group, topic],
    );
    return new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
  },

  /** The next offset of one partition, as text; null when nothing is stored. */
  async next(q: Queryable, group: string, topic: string, partition: number): Promise<string | null> {
    const rows: { next_offset: string }[] = await q.query(
      'SELECT next_offset::text AS next_offset FROM consumer_positions WHERE consumer_group = $1 AND topic = $2 AND partition = $3',
      [group, topic, partition],
    );
    return rows.length > 0 ? rows[0].next_offset : null;
  },

  /** Stores `nextOffset` for one partition, whatever was there. */
  async store(q: Queryable, group: string, topic: string, partition: number, nextOffset: string): Promise<void> {
    await q.query(
      `INSERT INTO consumer_positions (consumer_group, topic, partition, next_offset) VALUES ($1, $2, $3, $4::bigint)
       ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()`,
      [group, topic, partition, nextOffset],
    );
  },
};
