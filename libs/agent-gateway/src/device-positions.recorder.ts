import { DataSource, DevicePosition, devices, isDatabaseUnavailable } from '@keystream/persistence';

/**
 * Acks arrive per device per save; writing each one would multiply the write load by the fleet size.
 * Positions are coalesced in memory and flushed as one statement on a short interval. A flush that fails
 * is retried row by row, so one bad row never loses the others; every row lost is reported (`onError`).
 */
export class DevicePositionsRecorder {
  private pending = new Map<string, DevicePosition>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly ds: DataSource,
    private readonly intervalMs = 250,
    private readonly onError: (e: unknown, rows: number) => void = () => undefined,
    /**
     * After a flush found the database away or its pool exhausted (a reconnect storm): the next try waits this long.
     */
    private readonly retryMs = 1000,
  ) {}

  record(p: DevicePosition): void {
    if (this.closed) return; // shutting down: the database may be gone; a device keeps its last position
    const key = `${p.orgId}\0${p.deviceId}`;
    this.pending.set(key, merge(this.pending.get(key), p));
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  async flush(): Promise<void> {
    this.timer = undefined;
    const rows = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = this.flushing.then(async () => {
      for (let i = 0; i < rows.length; i += 500) await this.write(rows.slice(i, i + 500));
    });
    await this.flushing;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.flush();
  }

  private async write(rows: DevicePosition[]): Promise<void> {
    try {
      const { rejected } = await devices.upsert(this.ds, rows);
      if (rejected.length > 0) this.onError(new Error('device position out of range'), rejected.length);
    } catch (batchError) {
      // The database is away or busy, not a row's fault: one row at a time would be up to 500 commits queueing for the
      // same pool. The rows wait for the next flush instead (merged under anything newer), unless shutting down.
      if (isDatabaseUnavailable(batchError) && !this.closed) return this.requeue(rows);
      if (rows.length === 1) return this.onError(batchError, 1);
      for (const row of rows) await this.write([row]);
    }
  }

  private requeue(rows: DevicePosition[]): void {
    for (const row of rows) {
      const key = `${row.orgId}\0${row.deviceId}`;
      const newer = this.pending.get(key);
      this.pending.set(key, newer ? merge(row, newer) : row);
    }
    this.timer ??= setTimeout(() => void this.flush(), this.retryMs);
  }
}

/**
 * The latest presence; the highest position within an epoch, or the newer epoch's; a presence-only row keeps the
 * position.
 */
function merge(prev: DevicePosition | undefined, p: DevicePosition): DevicePosition {
  if (!prev || prev.epoch === undefined) return p;
  if (p.epoch === undefined) return { ...p, epoch: prev.epoch, appliedVersion: prev.appliedVersion };
  if (p.epoch !== prev.epoch) return p;
  return { ...p, appliedVersion: Math.max(prev.appliedVersion!, p.appliedVersion!) };
}
