import {
  AddChange,
  applyProblem,
  Change,
  changeOf,
  Credential,
  diffKeySets,
  draftFor,
  EditChange,
  KeySet,
  rebase,
  rebaseDraft,
  revalidate,
  rollout,
  rows,
  stage,
  toBatch,
  validateChange,
} from './model';

const OPENAI_KEY = 'sk-proj-FAKEFAKEFAKEFAKEFAKEFAKE0001';
const cred = (over: Partial<Credential> & Pick<Credential, 'id' | 'provider' | 'label'>): Credential => ({
  fields: {},
  secrets: {},
  version: 1,
  ...over,
});
const prod = cred({
  id: 'p',
  provider: 'openai',
  label: 'Prod',
  fields: { organization: 'org-FAKE000000' },
  secrets: { apiKey: { last4: '0001', fingerprint: 'f1' } },
});
const aws = cred({
  id: 'a',
  provider: 'bedrock-access',
  label: 'AWS',
  fields: { accessKeyId: 'AKIAFAKEFAKEFAKE0001', region: 'us-east-1' },
  secrets: { secretAccessKey: { last4: '0001', fingerprint: 'f2' } },
});
const base: KeySet = { version: 2, credentials: [prod, aws] };
const add = (label: string, over: Partial<AddChange> = {}): AddChange => ({
  kind: 'add',
  key: `new-${label}`,
  provider: 'openai',
  label,
  values: { apiKey: OPENAI_KEY },
  ...over,
});

describe('admin UI model: pending changes over the key set', () => {
  it('validates with the API rules: wrong-provider keys, labels unique per section (case-insensitively, pending ones included)', () => {
    expect(
      validateChange(add('New', { values: { apiKey: 'sk-ant-api03-FAKEFAKEFAKEFAKEFAKEFAKE0001' } }), base, []),
    ).toEqual({
      apiKey: 'looks like an Anthropic API key (Claude Configuration), not OpenAI API key',
    });
    expect(validateChange(add('prod'), base, []).label).toContain('already used');
    const first = add('Twin');
    const second = add('twin', { key: 'new-2' });
    expect(validateChange(second, base, [first, second]).label).toContain('already used');
    // A label freed by a pending remove in the same save can be taken.
    const removeProd: Change = { kind: 'remove', key: 'p', id: 'p', provider: 'openai', label: 'Prod' };
    expect(validateChange(add('Prod'), base, [removeProd])).toEqual({});
  });

  it('runs cross-field rules on the merged credential, as the decider does (an edit to an ASIA key needs a session token)', () => {
    const edit: EditChange = {
      kind: 'edit',
      key: 'a',
      id: 'a',
      provider: 'bedrock-access',
      shownLabel: 'AWS',
      values: { accessKeyId: 'ASIAFAKEFAKEFAKE0001' },
    };
    expect(validateChange(edit, base, [edit])).toEqual({
      sessionToken: 'is required with a temporary (ASIA…) access key',
    });
    expect(
      validateChange(
        { ...edit, values: { ...edit.values, sessionToken: 'FAKEsessionTOKENfakeSESSIONtoken0001' } },
        base,
        [],
      ),
    ).toEqual({});
  });

  it('turns an edit form into only what changed: a blank secret is omitted, a cleared optional field is null', () => {
    const row = rows(base, []).find((r) => r.key === 'p')!;
    const d = draftFor(row, 'edit-p');
    expect(d.values).toEqual({ apiKey: '', organization: 'org-FAKE000000', project: '', baseUrl: '' });
    const { change, errors } = changeOf(
      { ...d, label: 'Production', values: { ...d.values, organization: '' } },
      base,
      [],
    );
    expect(errors).toEqual({});
    expect(change).toEqual({
      kind: 'edit',
      key: 'p',
      id: 'p',
      provider: 'openai',
      shownLabel: 'Prod',
      label: 'Production',
      values: { organization: null },
    });
    expect(changeOf(d, base, []).change).toBeNull(); // untouched: nothing to save
    expect(changeOf({ ...d, values: { ...d.values, apiKey: ' sk-x' } }, base, []).errors.apiKey).toContain(
      'whitespace',
    );
  });

  it('builds one batch in order and maps changes[i].field errors back to the change and field', () => {
    const edit: EditChange = {
      kind: 'edit',
      key: 'p',
      id: 'p',
      provider: 'openai',
      shownLabel: 'Prod',
      values: { organization: 'org-FAKE000001' },
    };
    const pending: Change[] = [
      add('New'),
      edit,
      { kind: 'remove', key: 'a', id: 'a', provider: 'bedrock-access', label: 'AWS' },
    ];
    const { body, keys } = toBatch(pending);
    expect(body.changes).toEqual([
      { op: 'add', provider: 'openai', label: 'New', apiKey: OPENAI_KEY },
      { op: 'edit', id: 'p', organization: 'org-FAKE000001' },
      { op: 'remove', id: 'a' },
    ]);
    const mapped = applyProblem(pending, keys, {
      status: 422,
      detail: '2 field(s) failed validation',
      errors: [
        { field: 'changes[0].apiKey', code: 'invalid_format', message: 'is not a valid OpenAI API key' },
        { field: 'changes[2].id', code: 'credential_not_found', message: 'no credential with id a' },
        { field: 'Idempotency-Key', code: 'reused', message: 'was already used' },
      ],
    });
    expect(mapped.pending[0].errors).toEqual({ apiKey: 'is not a valid OpenAI API key' });
    expect(mapped.pending[1].errors).toBeUndefined();
    expect(mapped.pending[2].flag).toEqual({ kind: 'removed-remotely' });
    expect(mapped.general).toEqual(['Idempotency-Key was already used']);
    expect(mapped.firstKey).toBe('new-New');
  });

  it('re-bases pending changes onto a newer key set without losing what was typed', () => {
    const renamedProd = { ...prod, label: 'Prod (theirs)', version: 3 };
    const after: KeySet = {
      version: 4,
      credentials: [renamedProd, cred({ id: 'g', provider: 'gemini', label: 'New gemini', version: 4 })],
    };
    expect(diffKeySets(base, after)).toEqual([
      { kind: 'edited', id: 'p', provider: 'openai', label: 'Prod (theirs)', previousLabel: 'Prod', fields: ['label'] },
      { kind: 'added', id: 'g', provider: 'gemini', label: 'New gemini', fields: [] },
      { kind: 'removed', id: 'a', provider: 'bedrock-access', label: 'AWS', fields: [] },
    ]);
    const pending: Change[] = [
      add('Mine'),
      {
        kind: 'edit',
        key: 'p',
        id: 'p',
        provider: 'openai',
        shownLabel: 'Prod',
        values: { organization: 'org-FAKE000009', apiKey: OPENAI_KEY },
      },
      {
        kind: 'edit',
        key: 'a',
        id: 'a',
        provider: 'bedrock-access',
        shownLabel: 'AWS',
        label: 'AWS renamed',
        values: {},
      },
    ];
    const { pending: next, notes } = rebase(pending, base, after);
    expect(next[0]).toMatchObject({ kind: 'add', label: 'Mine', values: { apiKey: OPENAI_KEY } });
    expect(next[1]).toMatchObject({
      kind: 'edit',
      values: { organization: 'org-FAKE000009', apiKey: OPENAI_KEY },
      flag: { kind: 'edited-remotely', fields: ['label'] },
    });
    expect(next[1].errors).toBeUndefined();
    expect(next[2]).toMatchObject({ kind: 'edit', flag: { kind: 'removed-remotely' } });
    expect(notes).toEqual([
      '"AWS renamed" (Bedrock Access Credentials) was removed by another admin: your edit of it cannot be saved.',
    ]);
    expect(rows(after, next).find((r) => r.key === 'p')).toMatchObject({
      label: 'Prod (theirs)',
      status: 'edited',
      fields: { organization: 'org-FAKE000009' },
    });
    expect(rows(after, next).find((r) => r.key === 'a')?.status).toBe('orphaned');
  });

  it('drops removes of credentials already gone and edits that now match, and flags label clashes created remotely', () => {
    const after: KeySet = {
      version: 5,
      credentials: [
        { ...prod, fields: { organization: 'org-FAKE000009' } },
        cred({ id: 'x', provider: 'openai', label: 'Mine' }),
      ],
    };
    const pending: Change[] = [
      { kind: 'remove', key: 'a', id: 'a', provider: 'bedrock-access', label: 'AWS' },
      {
        kind: 'edit',
        key: 'p',
        id: 'p',
        provider: 'openai',
        shownLabel: 'Prod',
        values: { organization: 'org-FAKE000009' },
      },
      add('mine'),
    ];
    const { pending: next, notes } = rebase(pending, base, after);
    expect(next.map((c) => c.key)).toEqual(['new-mine']);
    expect(next[0].errors?.label).toContain('already used');
    expect(notes).toHaveLength(2);
    expect(revalidate(next, after)[0].errors?.label).toBeDefined();
  });

  it('carries an open edit form onto a newer version: untouched fields take the new values, typed ones stay', () => {
    const d = draftFor(rows(base, []).find((r) => r.key === 'p')!, 'edit-p');
    const typed = { ...d, values: { ...d.values, baseUrl: 'https://proxy.example.com' } };
    const after: KeySet = {
      version: 3,
      credentials: [{ ...prod, label: 'Prod 2', fields: { organization: 'org-FAKE000007' } }],
    };
    const moved = rebaseDraft(typed, base, after);
    expect(moved).toMatchObject({
      label: 'Prod 2',
      values: { organization: 'org-FAKE000007', baseUrl: 'https://proxy.example.com' },
    });
    expect(changeOf(moved, after, []).change).toMatchObject({ values: { baseUrl: 'https://proxy.example.com' } });
    expect(rebaseDraft(typed, base, { version: 3, credentials: [] }).errors._form).toContain(
      'removed by another admin',
    );
  });

  it('counts the devices holding a credential’s latest version (same epoch, applied at or past it)', () => {
    const devices = {
      version: 9,
      epoch: 2,
      devices: [
        { deviceId: 'a', userId: 'u', appliedVersion: 9, epoch: 2, connected: true, upToDate: true },
        { deviceId: 'b', userId: 'u', appliedVersion: 5, epoch: 2, connected: true, upToDate: false },
        { deviceId: 'c', userId: 'u', appliedVersion: 9, epoch: 1, connected: false, upToDate: false },
      ],
    };
    expect(rollout({ ...prod, version: 5 }, devices)).toEqual({ upToDate: 2, total: 3 });
    expect(rollout({ ...prod, version: 8 }, devices)).toEqual({ upToDate: 1, total: 3 });
  });

  it('stages one change per credential: a replacement keeps its place, null drops it', () => {
    const a = add('A');
    const b = add('B');
    expect(stage([a, b], 'new-A', { ...a, label: 'A2' }).map((c) => (c as AddChange).label)).toEqual(['A2', 'B']);
    expect(stage([a, b], 'new-A', null)).toEqual([b]);
  });
});
