import { DataSource } from 'typeorm';

export interface DevicePosition {
  readonly orgId: string;
  readonly deviceId: string;
  readonly userId: string;
  readonly epoch: number;
  readonly appliedVersion: number;
  readonly connected: boolean;
}

export interface DeviceRow extends DevicePosition {
  readonly lastSeenAt: string;
}

export class DevicesRepository {
  /** One statement for many devices; a position never moves backwards within an epoch. */
  async upsert(ds: DataSource, rows: readonly DevicePosition[]): Promise<void> {
    if (rows.length === 0) return;
    const values: unknown[] = [];
    const tuples = rows.map((r, i) => {
      values.push(r.orgId, r.deviceId, r.userId, r.epoch, r.appliedVersion, r.connected);
      const o = i * 6;
      return `($${o + 1}, $${o + 2}, $${o + 3}, $${o + 4}::int, $${o + 5}::int, $${o + 6}::boolean, now())`;
    });
    await ds.query(
      // Only for a live org (its row share-locked): a device that disconnects because its org was deleted leaves no row.
      `INSERT INTO devices (org_id, device_id, user_id, epoch, applied_version, connected, last_seen_at)
       SELECT v.* FROM (VALUES ${tuples.join(', ')}) AS v(org_id, device_id, user_id, epoch, applied_version, connected, last_seen_at)
       WHERE EXISTS (SELECT 1 FROM organizations o WHERE o.id = v.org_id AND o.deleted_at IS NULL FOR SHARE)
       ON CONFLICT (org_id, device_id) DO UPDATE SET
         user_id = EXCLUDED.user_id,
         connected = EXCLUDED.connected,
         last_seen_at = now(),
         epoch = EXCLUDED.epoch,
         applied_version = CASE WHEN EXCLUDED.epoch = devices.epoch THEN GREATEST(devices.applied_version, EXCLUDED.applied_version) ELSE EXCLUDED.applied_version END`,
      values,
    );
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
