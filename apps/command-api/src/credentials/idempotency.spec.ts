import type { StoredResponse } from '@keystream/persistence';
import { IdempotencyLedger, OUTCOME_RECORD, outcomeOf } from './idempotency';
import type { SaveOutcome } from './save-command';

const view = (id: string, label: string) => ({
  id,
  provider: 'gemini' as const,
  label,
  fields: {},
  secrets: { apiKey: { last4: 'FAKE', fingerprint: 'fp-1' } },
  version: 3,
});
const ID_A = '00000000-0000-4000-8000-00000000000a';
const ID_B = '00000000-0000-4000-8000-00000000000b';

describe('IdempotencyLedger', () => {
  const outcome: SaveOutcome = { version: 3, results: [{ id: ID_A, credential: view(ID_A, 'main') }] };

  it('a key never seen is new; a recorded key with the same request replays its outcome; another request is refused', () => {
    const ledger = new IdempotencyLedger(new Map());
    expect(ledger.check('org-1', { key: 'k', requestHash: 'h1' })).toEqual({ kind: 'new' });
    ledger.record('org-1', { key: 'k', requestHash: 'h1' }, outcome);
    expect(ledger.check('org-1', { key: 'k', requestHash: 'h1' })).toEqual({ kind: 'replay', outcome });
    expect(ledger.check('org-1', { key: 'k', requestHash: 'h2' })).toEqual({ kind: 'reused' });
  });

  it('keys are per org: the same key in another org is new', () => {
    const ledger = new IdempotencyLedger(new Map());
    ledger.record('org-1', { key: 'k', requestHash: 'h1' }, outcome);
    expect(ledger.check('org-2', { key: 'k', requestHash: 'h1' })).toEqual({ kind: 'new' });
  });

  it('writes only the records this batch made, as outcome records; stored ones are read, not written again', () => {
    const stored = new Map<string, StoredResponse>([
      [`org-1\u0000old`, { requestHash: 'h0', status: OUTCOME_RECORD, body: outcome }],
    ]);
    const ledger = new IdempotencyLedger(stored);
    expect(ledger.check('org-1', { key: 'old', requestHash: 'h0' })).toEqual({ kind: 'replay', outcome });
    ledger.record('org-1', { key: 'new', requestHash: 'h1' }, { version: 4, results: [] });
    expect(ledger.writes).toEqual([
      {
        orgId: 'org-1',
        key: 'new',
        response: { requestHash: 'h1', status: OUTCOME_RECORD, body: { version: 4, results: [] } },
      },
    ]);
    expect(stored.size).toBe(1); // the caller's map is not changed
  });
});

describe('outcomeOf: rows stored as HTTP responses (before outcomes were stored) replay as the outcome they showed', () => {
  it('an add or edit response { credential, version }', () => {
    expect(outcomeOf({ requestHash: 'h', status: 201, body: { credential: view(ID_A, 'main'), version: 7 } })).toEqual({
      version: 7,
      results: [{ id: ID_A, credential: view(ID_A, 'main') }],
    });
  });

  it('a remove response { version }', () => {
    expect(outcomeOf({ requestHash: 'h', status: 200, body: { version: 8 } })).toEqual({ version: 8, results: [] });
  });

  it('a batch response { version, credentials } with a removed entry', () => {
    expect(
      outcomeOf({
        requestHash: 'h',
        status: 200,
        body: { version: 9, credentials: [view(ID_A, 'a'), { id: ID_B, removed: true }] },
      }),
    ).toEqual({
      version: 9,
      results: [
        { id: ID_A, credential: view(ID_A, 'a') },
        { id: ID_B, removed: true },
      ],
    });
  });
});
