import pg from 'pg';
import type { DataSource } from 'typeorm';

/**
 * The pg pool behind a DataSource this library opened. A few paths need the driver itself, not the ORM: the group
 * commit (multi-statement round trips, a connection destroyed when its state is unknown), LISTEN connections and
 * COPY. TypeORM keeps its pool private, so persistence makes the pool: TypeORM's public `driver` option takes the
 * pg module to build it from, and the module given here records the one pool it builds. One pool, one set of
 * settings (timeouts, error listener) for ORM and driver paths alike.
 */
const pools = new WeakMap<DataSource, pg.Pool>();

/** The pg module for TypeORM's `driver` option: pg itself, with a Pool that reports itself once made. */
export function pgDriverFor(onPool: (pool: pg.Pool) => void): typeof pg {
  class RecordedPool extends pg.Pool {
    constructor(config?: pg.PoolConfig) {
      super(config);
      onPool(this);
    }
  }
  // A prototype link, not a spread: pg's lazy `native` getter stays untouched unless TypeORM asks for it.
  return Object.assign(Object.create(pg) as typeof pg, { Pool: RecordedPool });
}

export function recordPool(ds: DataSource, pool: pg.Pool): void {
  pools.set(ds, pool);
}

/** The initialized DataSource's pool; only for DataSources made by createDataSource/openDatabase. */
export function pgPool(ds: DataSource): pg.Pool {
  const pool = pools.get(ds);
  if (!pool) throw new Error('no pg pool: the DataSource was not made by createDataSource, or is not initialized');
  return pool;
}

export type PgClient = pg.PoolClient;

export interface Listener {
  /** Destroys the connection rather than returning it to the pool still listening. */
  close(): void;
}

export interface ListenHandlers {
  readonly notify: (payload: string | undefined) => void;
  /** The connection failed or ended (not called after close()). */
  readonly lost: (e?: Error) => void;
}

/** LISTEN `channel` on a dedicated pooled connection. The caller decides how to retry after `lost`. */
export async function listen(ds: DataSource, channel: string, h: ListenHandlers): Promise<Listener> {
  // Our channels are plain lower-case identifiers, sent unquoted (the statement operators see in pg_stat_activity).
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a plain channel name: ${channel}`);
  const client = await pgPool(ds).connect();
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    client.release(true);
  };
  client.on('notification', (m) => m.channel === channel && h.notify(m.payload));
  const lost = (e?: Error): void => {
    if (closed) return;
    close();
    h.lost(e);
  };
  client.on('error', (e) => lost(e));
  client.on('end', () => lost());
  try {
    await client.query(`LISTEN ${channel}`);
  } catch (e) {
    close();
    throw e;
  }
  return { close };
}
