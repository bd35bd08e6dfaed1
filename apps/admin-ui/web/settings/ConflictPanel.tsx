import { diffKeySets, type KeySet } from '../model';
import { describeRemote } from '../ui-text';
import { plural } from './page-state';

interface Props {
  readonly base: KeySet;
  readonly remote: KeySet;
  /** Learned from a refused save (412) rather than by polling. */
  readonly refused: boolean;
  readonly pendingCount: number;
  readonly onReload: () => void;
  readonly onDiscard: () => void;
}

/** Another admin saved: what changed on the server, and the two ways on (reload on top, or discard mine). */
export function ConflictPanel({ base, remote, refused, pendingCount, onReload, onDiscard }: Props) {
  return (
    <section className="panel conflict" aria-labelledby="conflict-title">
      <h2 id="conflict-title" tabIndex={-1}>
        {refused ? 'Not saved: another admin saved first' : 'Another admin saved changes'}
      </h2>
      <p>
        The key set moved from version {base.version} to {remote.version}
        {pendingCount > 0 ? ` while you have ${plural(pendingCount, 'unsaved change')}` : ''}. What changed on the
        server:
      </p>
      <ul>
        {diffKeySets(base, remote).map((r) => (
          <li key={r.id}>{describeRemote(r)}</li>
        ))}
      </ul>
      <p>Reload takes in their changes and keeps yours, re-applied on top: nothing you typed is lost.</p>
      <div className="panel-actions">
        <button type="button" className="primary" onClick={onReload}>
          Reload
        </button>
        <button type="button" onClick={onDiscard}>
          Discard my changes
        </button>
      </div>
    </section>
  );
}

/** What a reload did to the pending changes, until dismissed. */
export function NotesPanel({
  notes,
  onDismiss,
}: {
  readonly notes: readonly string[];
  readonly onDismiss: () => void;
}) {
  return (
    <section className="panel notes" aria-labelledby="notes-title">
      <h2 id="notes-title" tabIndex={-1}>
        After reloading
      </h2>
      <ul>
        {notes.map((n) => (
          <li key={n}>{n}</li>
        ))}
      </ul>
      <button type="button" className="ghost small" onClick={onDismiss}>
        Dismiss
      </button>
    </section>
  );
}
