import { openDatabase, orgStreams } from '@keystream/persistence';
import { PostgresEventLogAdapter } from './postgres-event-log.adapter';
import { eventLogContract } from './testing/event-log.contract';

eventLogContract('PostgresEventLogAdapter (real Postgres)', async () => {
  const ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 6 });
  const log = new PostgresEventLogAdapter(ds, { pollMs: 20 });
  return {
    log,
    prepareOrg: (orgId) => ds.transaction((m) => orgStreams.ensureOrg(m, orgId)).then(() => undefined),
    close: async () => {
      await log.close();
      await ds.destroy();
    },
  };
});
