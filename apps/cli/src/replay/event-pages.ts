import { EventEnvelope } from '@keystream/credentials';
import { DataSource, eventLogScans, eventRows } from '@keystream/persistence';

/** Rows per page: large enough that round trips do not count, small enough that two pages in flight stay a few MB. */
export const PAGE_ROWS = 20_000;

/**
 * Every credential event of the events table up to its stable horizon, in position order, handed over page by page.
 * The next page is requested before the current one is handed over, so Postgres reads and sends it while we fold.
 */
export async function readAllPipelined(
  ds: DataSource,
  onEvent: (e: EventEnvelope) => void,
  pageRows = PAGE_ROWS,
): Promise<void> {
  const horizon = await eventRows.stableHorizon(ds.manager);
  type Page = Awaited<ReturnType<typeof eventLogScans.credentialPage>>;
  const page = (after: string): Promise<Page> => eventLogScans.credentialPage(ds.manager, after, horizon, pageRows);
  let next: Promise<Page> | undefined = page('0');
  try {
    while (next) {
      const { events, lastPosition }: Page = await next;
      // A short page is the last one: no round trip to learn that the table ends there.
      next = events.length === pageRows && lastPosition ? page(lastPosition) : undefined;
      for (const e of events) onEvent(e);
    }
  } finally {
    // A fold that throws leaves a page in flight: settle it so it is no unhandled rejection.
    await next?.catch(() => undefined);
  }
}
