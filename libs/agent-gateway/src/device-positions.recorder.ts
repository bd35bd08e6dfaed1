import { DataSource } from 'typeorm';
import { DevicePosition, devices } from '@keystream/persistence';

/**
 * Acks arrive per device per save; writing each one would multiply the write load by the fleet size.
 * Positions are coalesced in memory and flushed as one statement on a short interval.
 */
export class DevicePositionsRecorder {
  private pending = new Map<string, DevicePosition>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly ds: DataSource, private readonly intervalMs = 250, private readonly onError: (e: unknown) => void = () => undefined) {}

  record(p: DevicePosition): void {
    const key = `${p.orgId}\0${p.deviceId}`;
    const prev = this.pending.get(key);
    const appliedVersion = prev && prev.epoch === p.epoch ? Math.max(prev.appliedVersion, p.appliedVersion) : p.appliedVersion;
    this.pending.set(key, { ...p, appliedVersion });
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  async flush(): Promise<void> {
    this.timer = undefined;
    const rows = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = this.flushing.then(async () => {
      for (let i = 0; i < rows.length; i += 500) {
        await devices.upsert(this.ds, rows.slice(i, i + 500)).catch(this.onError);
      }
    });
    await this.flushing;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.flush();
  }
}
