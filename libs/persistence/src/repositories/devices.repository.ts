import { DataSource } from 'typeorm';

export interface DevicePosition {
  readonly orgId: string;
  readonly deviceId: string;
  readonly userId: string;
  /** Absent on a connect/disconnect: the device keeps the position it last acked. */
  readonly epoch?: number;
  readonly appliedVersion?: number;
  readonly connected: boolean;
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
  const n = withPosition ? 6 : 4;
  return rows
    .map((_, i) => {
      const p = (k: number) => `$${i * n + k}`;
      return withPosition
        ? `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}::int, ${p(5)}::int, ${p(6)}::boolean, now())`
        : `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}::boolean, now())`;
    })
    .join(', ');
}

function params(rows: readonly DevicePosition[], withPosition: boolean): unknown[] {
  return rows.flatMap((r) => (withPosition ? [r.orgId, r.deviceId, r.userId, r.epoch, r.appliedVersion, r.connected] : [r.orgId, r.deviceId, r.userId, r.connected]));
}

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
           user_id = EXCLUDED.user_id, connected = EXCLUDED.connected, last_seen_at = now(), epoch = EXCLUDED.epoch,
           applied_version = CASE WHEN EXCLUDED.epoch = devices.epoch THEN GREATEST(devices.applied_version, EXCLUDED.applied_version) ELSE EXCLUDED.applied_version END`,
        params(moves, true),
      );
    }
    if (presence.length > 0) {
      await ds.query(
        `INSERT INTO devices (org_id, device_id, user_id, connected, last_seen_at)
         SELECT v.* FROM (VALUES ${tuples(presence, false)}) AS v(org_id, device_id, user_id, connected, last_seen_at)
         WHERE ${LIVE_ORG}
         ON CONFLICT (org_id, device_id) DO UPDATE SET user_id = EXCLUDED.user_id, connected = EXCLUDED.connected, last_seen_at = now()`,
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
