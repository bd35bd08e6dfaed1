import fc from 'fast-check';
import { AddCredential, CredentialChange, EditCredential, SaveCredentials } from './commands';
import { decide } from './credential.decider';
import { DomainError } from './errors';
import { CredentialEvent } from './events';
import { emptyKeySet, evolve, KeySet, keySetHash } from './key-set';
import { PROVIDER_IDS, ProviderId } from './providers';
import { SealedSecret } from './sealed-secret';

/** Labels from a small pool that differ only in case, so label collisions are common. */
const LABELS = ['Prod', 'prod', 'PROD', 'Dev', 'Staging'] as const;
const MAIN_SECRET: Record<ProviderId, string> = {
  openai: 'apiKey',
  gemini: 'apiKey',
  anthropic: 'apiKey',
  'bedrock-access': 'secretAccessKey',
  'bedrock-api-key': 'apiKey',
  'azure-openai': 'apiKey',
};

type Intent =
  | { kind: 'add'; provider: ProviderId; label: string; key: number; temporary: boolean; withToken: boolean }
  | { kind: 'edit'; target: number; label?: string; key?: number; clearToken: boolean; claim?: ProviderId }
  | { kind: 'remove'; target: number };
interface Step {
  readonly intents: Intent[];
  readonly batch: boolean;
  readonly expected: 'none' | 'current' | 'stale';
}

const addArb = fc.record({
  kind: fc.constant('add' as const),
  provider: fc.constantFrom(...PROVIDER_IDS),
  label: fc.constantFrom(...LABELS),
  key: fc.nat({ max: 3 }),
  temporary: fc.boolean(),
  withToken: fc.boolean(),
});
/** `target` indexes the credentials present when the step starts; past the end it names an unknown id. */
const editArb = fc.record(
  {
    kind: fc.constant('edit' as const),
    target: fc.nat({ max: 6 }),
    label: fc.constantFrom(...LABELS),
    key: fc.nat({ max: 3 }),
    clearToken: fc.boolean(),
    claim: fc.constantFrom(...PROVIDER_IDS),
  },
  { requiredKeys: ['kind', 'target', 'clearToken'] },
);
const removeArb = fc.record({ kind: fc.constant('remove' as const), target: fc.nat({ max: 6 }) });
const intentArb: fc.Arbitrary<Intent> = fc.oneof(
  { arbitrary: addArb, weight: 3 },
  { arbitrary: editArb, weight: 2 },
  { arbitrary: removeArb, weight: 1 },
);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    intents: fc.tuple(intentArb).map((t) => [...t]),
    batch: fc.constant(false),
    expected: fc.constantFrom('none' as const, 'current' as const, 'stale' as const),
  }),
  fc.record({
    intents: fc.array(intentArb, { minLength: 1, maxLength: 4 }),
    batch: fc.constant(true),
    expected: fc.constant('none' as const),
  }),
);
const stepsArb = fc.array(stepArb, { maxLength: 30 });

const fakeSeal = (plaintext: string): SealedSecret => ({
  alg: 'A256GCM',
  keyId: 'fake-kek',
  iv: `fake-iv-${plaintext}`,
  ciphertext: `fake-ct-${plaintext}`,
  tag: 'fake-tag',
  fingerprint: `fp(${plaintext})`,
  last4: plaintext.slice(-4),
});

function toAdd(intent: Extract<Intent, { kind: 'add' }>, credentialId: string): AddCredential {
  const { provider, label, key } = intent;
  const secrets: Record<string, SealedSecret> = { [MAIN_SECRET[provider]]: fakeSeal(`FAKE-${provider}-${key}`) };
  const fields: Record<string, string> = {};
  if (provider === 'bedrock-access') {
    fields.accessKeyId = intent.temporary ? 'ASIAFAKEFAKEFAKEFAKE' : 'AKIAFAKEFAKEFAKEFAKE';
    // withToken is independent of temporary, so both cross-field rules reject some adds.
    if (intent.withToken) secrets.sessionToken = fakeSeal(`FAKE-session-${key}`);
  }
  if (provider === 'bedrock-access' || provider === 'bedrock-api-key') fields.region = 'us-east-1';
  if (provider === 'azure-openai')
    Object.assign(fields, {
      endpoint: 'https://fake.openai.azure.com',
      deployment: 'gpt-4o',
      apiVersion: '2024-10-21',
    });
  return { op: 'add', credentialId, provider, label, fields, secrets };
}

function toEdit(intent: Extract<Intent, { kind: 'edit' }>, state: KeySet, id: string): EditCredential {
  const provider = state.credentials.get(id)?.provider ?? 'openai';
  const secrets: Record<string, SealedSecret | null> = {};
  if (intent.key !== undefined) secrets[MAIN_SECRET[provider]] = fakeSeal(`FAKE-${provider}-${intent.key}`);
  if (intent.clearToken) secrets.sessionToken = null;
  return { op: 'edit', credentialId: id, provider: intent.claim, label: intent.label, fields: {}, secrets };
}

interface Run {
  readonly state: KeySet;
  readonly log: ReadonlyArray<{ version: number; event: CredentialEvent }>;
  /** Codes of the rejected saves, in order. */
  readonly rejections: readonly string[];
}

/** Decides every step against the evolving state; a rejected save must leave the state as it was. */
function run(steps: readonly Step[]): Run {
  let state = emptyKeySet();
  const log: { version: number; event: CredentialEvent }[] = [];
  const rejections: string[] = [];
  let nextId = 0;
  for (const step of steps) {
    const ids = [...state.credentials.keys()];
    const idAt = (target: number) => ids[target] ?? `cred-unknown-${target}`;
    const changes: CredentialChange[] = step.intents.map((intent) => {
      if (intent.kind === 'add') return toAdd(intent, `cred-${++nextId}`);
      if (intent.kind === 'edit') return toEdit(intent, state, idAt(intent.target));
      return { op: 'remove', credentialId: idAt(intent.target) };
    });
    const expectedVersion =
      step.expected === 'none' ? undefined : step.expected === 'current' ? state.version : state.version + 1;
    const command: SaveCredentials = {
      changes,
      batch: step.batch,
      metadata: {
        orgId: 'org-property',
        actor: { userId: 'user-admin' },
        commandId: `cmd-${log.length}`,
        occurredAt: '2025-01-01T00:00:00.000Z',
        expectedVersion,
      },
    };
    const hashBefore = keySetHash(state.credentials.values());
    try {
      for (const event of decide(command, state)) {
        const version = state.version + 1;
        state = evolve(state, event, version);
        log.push({ version, event });
      }
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      rejections.push(e.code);
      expect(keySetHash(state.credentials.values())).toBe(hashBefore);
    }
  }
  return { state, log, rejections };
}

const replay = (log: Run['log']) => log.reduce((s, { version, event }) => evolve(s, event, version), emptyKeySet());

/** What a projector does with an at-least-once stream: skip anything at or below the version it holds. */
const applyIdempotently = (s: KeySet, { version, event }: Run['log'][number]) =>
  version <= s.version ? s : evolve(s, event, version);

const PARAMS = { numRuns: 200 };

describe('key set under random command sequences', () => {
  it('replaying the accepted events from empty rebuilds the same key set and hash', () => {
    fc.assert(
      fc.property(stepsArb, (steps) => {
        const { state, log } = run(steps);
        const rebuilt = replay(log);
        expect(rebuilt.version).toBe(state.version);
        expect(rebuilt.credentials).toEqual(state.credentials);
        expect(keySetHash(rebuilt.credentials.values())).toBe(keySetHash(state.credentials.values()));
      }),
      PARAMS,
    );
  });

  it('assigns gapless versions 1..n', () => {
    fc.assert(
      fc.property(stepsArb, (steps) => {
        const { state, log } = run(steps);
        expect(log.map((e) => e.version)).toEqual(Array.from({ length: log.length }, (_, i) => i + 1));
        expect(state.version).toBe(log.length);
      }),
      PARAMS,
    );
  });

  it('keeps labels unique per section, ignoring case', () => {
    fc.assert(
      fc.property(stepsArb, (steps) => {
        const { state } = run(steps);
        const keys = [...state.credentials.values()].map((c) => `${c.provider}/${c.label.toLocaleLowerCase('en')}`);
        expect(new Set(keys).size).toBe(keys.length);
      }),
      PARAMS,
    );
  });

  it('gives the same key set when every event is delivered twice to an idempotent applier', () => {
    fc.assert(
      fc.property(stepsArb, (steps) => {
        const { state, log } = run(steps);
        const twice = [...log, ...log].reduce(applyIdempotently, emptyKeySet());
        const interleaved = log.flatMap((e) => [e, e]).reduce(applyIdempotently, emptyKeySet());
        for (const result of [twice, interleaved]) {
          expect(result.version).toBe(state.version);
          expect(result.credentials).toEqual(state.credentials);
        }
      }),
      PARAMS,
    );
  });

  it('generates sequences that exercise every kind of event and rejection', () => {
    const outcomes = fc.sample(stepsArb, { numRuns: 200, seed: 42 }).map((steps) => run(steps));
    const codes = new Set(outcomes.flatMap((o) => o.rejections));
    expect([...codes].sort()).toEqual([
      'credential_not_found',
      'label_taken',
      'provider_mismatch',
      'validation_failed',
      'version_conflict',
    ]);
    expect(outcomes.some((o) => o.log.length > 0)).toBe(true);
    expect(outcomes.some((o) => o.state.credentials.size > 1)).toBe(true);
    expect(outcomes.some((o) => o.log.some((e) => e.event.type === 'CredentialEdited'))).toBe(true);
    expect(outcomes.some((o) => o.log.some((e) => e.event.type === 'CredentialRemoved'))).toBe(true);
  });
});
