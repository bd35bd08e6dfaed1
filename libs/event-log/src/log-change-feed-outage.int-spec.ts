import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@keystream/credentials';
import { ScratchKafka } from '@keystream/testing';
import { KafkaEventLogAdapter } from './kafka-event-log.adapter';
import { LogChangeFeedAdapter } from './log-change-feed.adapter';

/**
 * Long enough for the feed's consumer to exhaust its retries and crash (issue #13 used 30 s against the whole stack).
 */
const OUTAGE_MS = Number(process.env.KS_FEED_OUTAGE_MS ?? 20_000);

const removed = (orgId: string, version: number): EventEnvelope => ({
  eventId: randomUUID(),
  schemaVersion: 1,
  orgId,
  version,
  occurredAt: new Date().toISOString(),
  actor: { userId: 'feed-outage-test' },
  commandId: randomUUID(),
  type: 'CredentialRemoved',
  data: { credentialId: randomUUID(), provider: 'gemini', label: `v${version}` },
});

/**
 * Issue #13: the gateway's feed on a broker of this spec's own, stopped for longer than the consumer's retries and
 * started again. The feed must deliver again, every version of every org in order, and say why it stopped.
 */
describe('LogChangeFeedAdapter across a broker outage (real Kafka, stopped and started)', () => {
  let kafka: ScratchKafka;
  let log: KafkaEventLogAdapter;
  let feed: LogChangeFeedAdapter;
  const errors: unknown[] = [];
  beforeAll(async () => {
    kafka = await ScratchKafka.start('kafka-feed-outage');
    log = new KafkaEventLogAdapter({
      brokers: kafka.brokers.split(','),
      clientId: 'feed-outage-test',
      topic: `feed-outage-${randomUUID()}`,
      partitions: 3,
    });
    await log.init();
    feed = new LogChangeFeedAdapter(log, 'feed-outage-test', (e) => errors.push(e));
    await feed.start();
  }, 120_000);
  afterAll(async () => {
    await feed?.stop().catch(() => undefined);
    await log?.close().catch(() => undefined);
    await kafka?.destroy();
  });

  it(`delivers again, gapless, after the broker was down ${OUTAGE_MS / 1000} s`, async () => {
    const orgs = [0, 1, 2, 3, 4, 5].map(() => `org-${randomUUID()}`);
    const seen = new Map<string, number[]>(orgs.map((o) => [o, []]));
    feed.subscribe((s) => seen.get(s.orgId)?.push(...s.events.map((e) => e.version)));
    const appendUntilAccepted = async (version: number) => {
      for (const end = Date.now() + 60_000; ; ) {
        try {
          return await log.append(orgs.map((o) => removed(o, version)));
        } catch (e) {
          if (Date.now() > end) throw e;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    };
    const delivered = async (upTo: number, ms: number) => {
      for (
        const end = Date.now() + ms;
        orgs.some((o) => (seen.get(o)!.at(-1) ?? 0) < upTo);
        await new Promise((r) => setTimeout(r, 50))
      ) {
        if (Date.now() > end)
          throw new Error(
            `feed stalled: wanted v${upTo}, has ${JSON.stringify(orgs.map((o) => seen.get(o)!.at(-1) ?? 0))}; errors: ${errors.map(String).join(' | ')}`,
          );
      }
    };
    for (let v = 1; v <= 3; v++) await appendUntilAccepted(v);
    await delivered(3, 15_000);

    await kafka.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await kafka.start();
    for (let v = 4; v <= 8; v++) await appendUntilAccepted(v);
    await delivered(8, 60_000);

    // Every version once or more (at least once), never out of order: versions only go up, one by one.
    for (const o of orgs) {
      const firsts = seen.get(o)!.filter((v, i, all) => i === 0 || v > all[i - 1]);
      expect(firsts).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    }
    // The outage was heard: the consumer crashed (retries exhausted) and said why.
    expect(errors.length).toBeGreaterThan(0);
  }, 240_000);
});
