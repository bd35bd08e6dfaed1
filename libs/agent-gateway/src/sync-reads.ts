import type DataLoader from 'dataloader';
import { DataSource, readModel } from '@keystream/persistence';
import { ChangesMessage } from '@keystream/agent-protocol';
import { keySetHash } from '@keystream/credentials';
import { AgentKeySetReader, Head } from './agent-key-set.reader';
import { batched } from './batched';

/** Where an org stands for a sync: the projection's head and the log's last version (the projection may trail it). */
export interface OrgPosition {
  readonly head: Head;
  readonly logHead: number;
}

interface ChangesKey {
  readonly orgId: string;
  readonly epoch: number;
  readonly after: number;
  readonly limit: number;
}

/**
 * The reads of a sync, shared by the sockets syncing at the same moment (a reconnect storm): one query for the
 * positions of every org asked during the previous round trip, and one log read per org and version for every
 * socket resuming from it. Each batch starts after the requests it answers (see `batched`), so a socket never
 * gets a read older than its own request.
 */
export class SyncReads {
  private readonly positions: DataLoader<string, OrgPosition | undefined>;
  private readonly changes: DataLoader<ChangesKey, ChangesMessage[]>;

  constructor(
    ds: DataSource,
    readonly reader: AgentKeySetReader,
  ) {
    this.positions = batched(async (orgIds) => {
      const rows = await readModel.orgPositions(ds, orgIds);
      return orgIds.map((id) => {
        const r = rows.get(id);
        return (
          r && {
            head: { epoch: r.epoch ?? 1, version: r.version ?? 0, hash: r.hash ?? keySetHash([]) },
            logHead: r.logHead,
          }
        );
      });
    });
    this.changes = batched(async (keys) => {
      const reads = new Map<string, Promise<ChangesMessage[]>>();
      const read = (k: ChangesKey) => {
        const id = `${k.orgId}\0${k.epoch}\0${k.after}\0${k.limit}`;
        let p = reads.get(id);
        if (!p) reads.set(id, (p = reader.changesAfter(k.orgId, k.epoch, k.after, k.limit)));
        return p;
      };
      return Promise.all(
        keys.map((k) => read(k).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))),
      );
    });
  }

  /** Undefined when the org does not exist. */
  position(orgId: string): Promise<OrgPosition | undefined> {
    return this.positions.load(orgId);
  }

  /** Shared by every socket asking for the same read: the messages are not changed by their receivers. */
  changesAfter(orgId: string, epoch: number, after: number, limit: number): Promise<ChangesMessage[]> {
    return this.changes.load({ orgId, epoch, after, limit });
  }
}
