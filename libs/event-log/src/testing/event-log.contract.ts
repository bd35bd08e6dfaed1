import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@keystream/credentials';
import type { EventLogPort, LogRecord } from '../event-log.port';

export interface ContractSubject {
  readonly log: EventLogPort;
  /** Whatever the adapter needs before events of an org can be appended (e.g. the org row). */
  prepareOrg(orgId: string): Promise<void>;
  close(): Promise<void>;
}

let n = 0;
const orgId = () => `contract-${process.pid}-${Date.now().toString(36)}-${++n}`;

function event(org: string, version: number): EventEnvelope {
  return {
    eventId: randomUUID(),
    type: 'CredentialRemoved',
    schemaVersion: 1,
    orgId: org,
    version,
    occurredAt: new Date(0).toISOString(),
    actor: { userId: 'contract' },
    commandId: randomUUID(),
    data: { credentialId: randomUUID(), provider: 'gemini', label: `l${version}` },
  };
}

class Collector {
  readonly records: LogRecord[] = [];
  readonly onBatch = async (batch: readonly LogRecord[]) => void this.records.push(...batch);
  versions(org: string): number[] {
    return this.records.filter((r) => r.envelope?.orgId === org).map((r) => r.envelope!.version);
  }
  async until(pred: () => boolean, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out with ${this.records.length} records`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

const firstSeen = (versions: number[]) => versions.filter((v, i) => versions.indexOf(v) === i);

/** The one suite every event-log adapter passes: order, resumption, redelivery, start position. */
export function eventLogContract(name: string, subject: () => Promise<ContractSubject>): void {
  describe(`${name} satisfies the event-log contract`, () => {
    let s: ContractSubject;
    beforeAll(async () => (s = await subject()));
    afterAll(() => s.close());

    async function orgs(k: number): Promise<string[]> {
      const ids = Array.from({ length: k }, orgId);
      for (const id of ids) await s.prepareOrg(id);
      return ids;
    }

    it('delivers every appended event, each org in version order', async () => {
      const ids = await orgs(3);
      for (let v = 1; v <= 10; v += 2) await s.log.append(ids.flatMap((id) => [event(id, v), event(id, v + 1)]));
      const c = new Collector();
      const consumer = await s.log.consume({ groupId: `g-${randomUUID()}`, fromBeginning: true }, c.onBatch);
      await c.until(() => ids.every((id) => new Set(c.versions(id)).size === 10));
      await consumer.stop();
      for (const id of ids) expect(firstSeen(c.versions(id))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(c.records.every((r) => r.key === r.envelope?.orgId && /^\d+$/.test(r.offset))).toBe(true);
    });

    it('resumes a group after a stop with what came since, not what it already committed', async () => {
      const [id] = await orgs(1);
      const group = `g-${randomUUID()}`;
      await s.log.append([event(id, 1), event(id, 2)]);
      const first = new Collector();
      const c1 = await s.log.consume({ groupId: group, fromBeginning: true }, first.onBatch);
      await first.until(() => first.versions(id).length >= 2);
      await c1.stop();
      await s.log.append([event(id, 3), event(id, 4)]);
      const second = new Collector();
      const c2 = await s.log.consume({ groupId: group, fromBeginning: true }, second.onBatch);
      await second.until(() => second.versions(id).includes(4));
      await c2.stop();
      expect(second.versions(id)).toEqual([3, 4]);
    });

    it('redelivers a batch whose handler failed, never skipping it', async () => {
      const [id] = await orgs(1);
      await s.log.append([event(id, 1)]);
      let failures = 0;
      const c = new Collector();
      const consumer = await s.log.consume({ groupId: `g-${randomUUID()}`, fromBeginning: true }, async (batch) => {
        if (batch.some((r) => r.envelope?.orgId === id) && failures < 2) {
          failures += 1;
          throw new Error('handler down');
        }
        await c.onBatch(batch);
      });
      await c.until(() => c.versions(id).includes(1));
      await consumer.stop();
      expect(failures).toBe(2);
    });

    it('a new group not from the beginning starts at the end: it sees what is appended after it joined', async () => {
      const [id] = await orgs(1);
      await s.log.append([event(id, 1)]);
      const c = new Collector();
      const consumer = await s.log.consume({ groupId: `g-${randomUUID()}`, fromBeginning: false }, c.onBatch);
      await s.log.append([event(id, 2)]);
      await c.until(() => c.versions(id).includes(2));
      await consumer.stop();
      expect(c.versions(id)).toEqual([2]);
    });
  });
}
