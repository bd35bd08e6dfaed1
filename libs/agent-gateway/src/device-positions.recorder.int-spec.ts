import { DataSource, QueryRunner } from 'typeorm';
import { DEFAULT_TIMEOUTS } from '@keystream/config';
import { devices, openDatabase, orgStreams } from '@keystream/persistence';
import { newOrgId } from '@keystream/testing';
import { DevicePositionsRecorder } from './device-positions.recorder';

/** Device positions against a real Postgres: one bad row never costs the others, presence never moves a position. */
describe('DevicePositionsRecorder (real Postgres)', () => {
  let ds: DataSource;
  beforeAll(async () => (ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 4 })));
  afterAll(() => ds.destroy());

  it('writes the good rows of a flush when one is out of range and another names an org that is gone', async () => {
    const [a, b, gone] = [newOrgId('dev'), newOrgId('dev'), newOrgId('gone')];
    await ds.transaction(async (m) => {
      await orgStreams.ensureOrg(m, a);
      await orgStreams.ensureOrg(m, b);
    });
    const errors: number[] = [];
    const rec = new DevicePositionsRecorder(ds, 10_000, (_e, rows) => errors.push(rows));
    rec.record({ orgId: a, deviceId: 'ok', userId: 'u', epoch: 1, appliedVersion: 5, connected: true });
    rec.record({ orgId: b, deviceId: 'overflow', userId: 'u', epoch: 1, appliedVersion: 2 ** 31, connected: true });
    rec.record({ orgId: gone, deviceId: 'orphan', userId: 'u', epoch: 1, appliedVersion: 1, connected: true });
    rec.record({ orgId: b, deviceId: 'fine', userId: 'u', epoch: 1, appliedVersion: 3, connected: true });
    await rec.close();
    expect((await devices.list(ds, a)).map((d) => [d.deviceId, d.appliedVersion])).toEqual([['ok', 5]]);
    expect((await devices.list(ds, b)).map((d) => [d.deviceId, d.appliedVersion])).toEqual([['fine', 3]]);
    // A device of an org that is gone (never created, or deleted) is skipped by the statement itself, not an error:
    // offboarding disconnects every agent of the org, and their last positions must not bring rows back.
    expect(await devices.list(ds, gone)).toEqual([]);
    expect(errors.reduce((x, y) => x + y, 0)).toBe(1); // the overflow, refused before the statement
  });

  it('keeps the acked position across disconnect and reconnect; a newer epoch replaces it, an older version never does', async () => {
    const a = newOrgId('dev');
    await ds.transaction((m) => orgStreams.ensureOrg(m, a));
    const rec = new DevicePositionsRecorder(ds, 10_000);
    const row = async () =>
      (await devices.list(ds, a)).map(({ epoch, appliedVersion, connected }) => ({
        epoch,
        appliedVersion,
        connected,
      }))[0];
    rec.record({ orgId: a, deviceId: 'd', userId: 'u', connected: true });
    await rec.flush();
    expect(await row()).toEqual({ epoch: 0, appliedVersion: 0, connected: true });
    rec.record({ orgId: a, deviceId: 'd', userId: 'u', epoch: 1, appliedVersion: 7, connected: true });
    rec.record({ orgId: a, deviceId: 'd', userId: 'u', connected: false }); // coalesced in the same flush
    await rec.flush();
    expect(await row()).toEqual({ epoch: 1, appliedVersion: 7, connected: false });
    rec.record({ orgId: a, deviceId: 'd', userId: 'u', connected: true });
    await rec.flush();
    rec.record({ orgId: a, deviceId: 'd', userId: 'u', epoch: 1, appliedVersion: 4, connected: true });
    await rec.flush();
    expect(await row()).toEqual({ epoch: 1, appliedVersion: 7, connected: true });
    rec.record({ orgId: a, deviceId: 'd', userId: 'u', epoch: 2, appliedVersion: 3, connected: true });
    await rec.close();
    expect(await row()).toEqual({ epoch: 2, appliedVersion: 3, connected: true });
  });
  it('a disconnect flushed after the device reconnected elsewhere does not mark it offline (presence follows the event time)', async () => {
    const org = newOrgId('dev');
    await ds.transaction((m) => orgStreams.ensureOrg(m, org));
    const [oldGateway, newGateway] = [new DevicePositionsRecorder(ds, 10_000), new DevicePositionsRecorder(ds, 10_000)];
    const t = Date.now();
    oldGateway.record({
      orgId: org,
      deviceId: 'lid',
      userId: 'u',
      epoch: 1,
      appliedVersion: 4,
      connected: true,
      at: t - 2000,
    });
    await oldGateway.flush();
    oldGateway.record({ orgId: org, deviceId: 'lid', userId: 'u', connected: false, at: t - 1000 }); // the socket dropped…
    newGateway.record({ orgId: org, deviceId: 'lid', userId: 'u', connected: true, at: t - 500 }); // …it reconnected through the other gateway
    await newGateway.close();
    await oldGateway.close(); // the old gateway's shutdown flush comes last
    expect(
      (await devices.list(ds, org)).map(({ appliedVersion, connected }) => ({ appliedVersion, connected })),
    ).toEqual([{ appliedVersion: 4, connected: true }]);
    const later = new DevicePositionsRecorder(ds, 10_000);
    later.record({ orgId: org, deviceId: 'lid', userId: 'u', connected: false, at: t });
    await later.close();
    expect(
      (await devices.list(ds, org)).map(({ appliedVersion, connected }) => ({ appliedVersion, connected })),
    ).toEqual([{ appliedVersion: 4, connected: false }]);
  });

  it('a flush that finds the pool exhausted keeps its rows for the next flush (merged under newer ones), not one commit per row', async () => {
    const org = newOrgId('dev');
    await ds.transaction((m) => orgStreams.ensureOrg(m, org));
    const small = await openDatabase({
      url: process.env.DATABASE_URL!,
      poolSize: 2,
      timeouts: { ...DEFAULT_TIMEOUTS, databaseConnectMs: 300 },
    });
    const held: QueryRunner[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const q = small.createQueryRunner();
        await q.connect();
        held.push(q);
      }
      const errors: unknown[] = [];
      const rec = new DevicePositionsRecorder(small, 10_000, (e) => errors.push(e), 200);
      rec.record({ orgId: org, deviceId: 'a', userId: 'u', epoch: 1, appliedVersion: 2, connected: true });
      rec.record({ orgId: org, deviceId: 'b', userId: 'u', epoch: 1, appliedVersion: 5, connected: true });
      await rec.flush(); // waits 300 ms for a connection, fails: the rows go back
      rec.record({ orgId: org, deviceId: 'a', userId: 'u', epoch: 1, appliedVersion: 3, connected: true }); // newer, same device
      rec.record({ orgId: org, deviceId: 'b', userId: 'u', connected: false }); // presence only: keeps b's position
      await Promise.all(held.splice(0).map((q) => q.release()));
      const rows = async () =>
        (await devices.list(ds, org))
          .map(({ deviceId, appliedVersion, connected }) => ({ deviceId, appliedVersion, connected }))
          .sort((x, y) => x.deviceId.localeCompare(y.deviceId));
      // the retry flush
      for (let i = 0; i < 50 && (await rows()).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await rows()).toEqual([
        { deviceId: 'a', appliedVersion: 3, connected: true },
        { deviceId: 'b', appliedVersion: 5, connected: false },
      ]);
      expect(errors).toEqual([]); // nothing was lost, so nothing was reported
      await rec.close();
    } finally {
      await Promise.all(held.map((q) => q.release()));
      await small.destroy();
    }
  });
});
