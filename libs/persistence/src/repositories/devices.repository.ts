import { DataSource } from 'typeorm';

export interface DevicePosition {
  readonly orgId: string;
  readonly deviceId: string;
  readonly userId: string;
  /** Absent on a connect/disconnect: the device keeps the position it last acked. */
  readonly epoch?: number;
  readonly appliedVersion?: number;
  readonly connected: boolean;
  /**
   * When the gateway saw it (ms since epoch; default: the write's time). Presence follows the latest event, not the
   * latest write.
   */
  readonly at?: number;
}

export interface DeviceRow extends Required<DevicePosition> {
  readonly lastSeenAt: string;
}

/** The columns are int4. */
const MAX_INT4 = 2 ** 31 - 1;
const inRange = (v: number | undefined) => v === undefined || (Number.isSafeInteger(v) && v >= 0 && v <= MAX_INT4);

/** Why a row cannot be written, checked per row before any statement so it never fails the others. */
export function devicePositionProblem(r: DevicePosition): string | undefined {
  if (!inRange(r.epoch) || !inRange(r.appliedVersion)) return `epoch/appliedVersion out of range [0, ${MAX_INT4}]`;
  if ((r.epoch === undefined) !== (r.appliedVersion === undefined)) return 'epoch and appliedVersion go together';
  return undefined;
}

function tuples(rows: readonly DevicePosition[], withPosition: boolean): string {
  const n = withPosition ? 7 : 5;
  return rows
    .map((_, i) => {
      const p = (k: number) => `$${i * n + k}`;
      return withPosition
        ? `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}::int, ${p(5)}::int, ${p(6)}::boolean, ${seenAt(p(7))})`
        : `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}::boolean, ${seenAt(p(5))})`;
    })
    .join(', ');
}

function params(rows: readonly DevicePosition[], withPosition: boolean): unknown[] {
  const at = (r: DevicePosition) => (r.at !== undefined && Number.isFinite(r.at) ? r.at : null);
  return rows.flatMap((r) =>
    withPosition
      ? [r.orgId, r.deviceId, r.userId, r.epoch, r.appliedVersion, r.connected, at(r)]
      : [r.orgId, r.deviceId, r.userId, r.connected, at(r)],
  );
}

const seenAt = (param: string) => `coalesce(to_timestamp(${param}::double precision / 1000), now())`;

/**
 * A disconnect flushed late (e.g. by a gateway shutting down) must not mark offline a device that has since
 * reconnected through another gateway: presence is taken only from an event at least as recent as the row's.
 */
const PRESENCE = `connected = CASE WHEN EXCLUDED.last_seen_at >= devices.last_seen_at THEN EXCLUDED.connected ELSE devices.connected END,
           last_seen_at = GREATEST(devices.last_seen_at, EXCLUDED.last_seen_at)`;

/** Only for a live org (its row share-locked): a device that disconnects because its org was deleted leaves no row. */
const LIVE_ORG = 'EXISTS (SELECT 1 FROM organizations o WHERE o.id = v.org_id AND o.deleted_at IS NULL FOR SHARE)';

export class DevicesRepository {
  /**
   * Positions (acks) in one statement, presence (connect, disconnect) in another: a position never moves
   * backwards within an epoch, and presence never touches it. Rows that cannot be stored are returned, not written.
   */
  async upsert(ds: DataSource, rows: readonly DevicePosition[]): Promise<{ rejected: DevicePosition[] }> {
    const rejected = rows.filter((r) => devicePositionProblem(r) !== undefined);
    const ok = rows.filter((r) => devicePositionProblem(r) === undefined);
    const moves = ok.filter((r) => r.epoch !== undefined);
    const presence = ok.filter((r) => r.epoch === undefined);
    if (moves.length > 0) {
      await ds.query(
        `INSERT INTO devices (org_id, device_id, user_id, epoch, applied_version, connected, last_seen_at)
         SELECT v.* FROM (VALUES ${tuples(moves, true)}) AS v(org_id, device_id, user_id, epoch, applied_version, connected, last_seen_at)
         WHERE ${LIVE_ORG}
         ON CONFLICT (org_id, device_id) DO UPDATE SET
           user_id = EXCLUDED.user_id, ${PRESENCE}, epoch = EXCLUDED.epoch,
           applied_version = CASE WHEN EXCLUDED.epoch = devices.epoch THEN GREATEST(devices.applied_version, EXCLUDED.applied_version) ELSE EXCLUDED.applied_version END`,
        params(moves, true),
      );
    }
    if (presence.length > 0) {
      await ds.query(
        `INSERT INTO devices (org_id, device_id, user_id, connected, last_seen_at)
         SELECT v.* FROM (VALUES ${tuples(presence, false)}) AS v(org_id, device_id, user_id, connected, last_seen_at)
         WHERE ${LIVE_ORG}
         ON CONFLICT (org_id, device_id) DO UPDATE SET user_id = EXCLUDED.user_id, ${PRESENCE}`,
        params(presence, false),
      );
    }
    return { rejected };
  }

  async list(ds: DataSource, orgId: string): Promise<DeviceRow[]> {
    return ds.query(
      `SELECT org_id AS "orgId", device_id AS "deviceId", user_id AS "userId", epoch, applied_version AS "appliedVersion",
              connected, to_char(last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "lastSeenAt"
       FROM devices WHERE org_id = $1 ORDER BY device_id`,
      [orgId],
    );
  }
}

export const devices = new DevicesRepository();
