import { ChangeFeed, CommitListener, CommittedSave } from './change-feed.port';

export class InProcessChangeFeedAdapter implements ChangeFeed {
  private readonly listeners = new Set<CommitListener>();

  subscribe(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called after the transaction commits. A throwing listener never affects the writer or the other listeners. */
  publish(save: CommittedSave): void {
    for (const l of this.listeners) {
      try {
        l(save);
      } catch (e) {
        process.stderr.write(`change listener failed: ${(e as Error).name}\n`);
      }
    }
  }
}
