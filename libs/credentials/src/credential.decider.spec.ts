import { AddCredential, CredentialChange, EditCredential, RemoveCredential, SaveCredentials } from './commands';
import { decide, MAX_CREDENTIALS_PER_SECTION } from './credential.decider';
import {
  CredentialExistsError,
  CredentialNotFoundError,
  DomainError,
  LabelTakenError,
  ProviderMismatchError,
  TooManyCredentialsError,
  ValidationFailedError,
  VersionConflictError,
} from './errors';
import { CredentialAdded, CredentialEdited, CredentialEvent } from './events';
import { emptyKeySet, evolve } from './key-set';
import { SealedSecret } from './sealed-secret';

let seals = 0;
/** Stand-in for libs/crypto: the fingerprint derives from the fake plaintext, every seal gets a fresh iv. */
function fakeSeal(plaintext: string): SealedSecret {
  seals += 1;
  return {
    alg: 'A256GCM',
    keyId: 'fake-kek',
    iv: `fake-iv-${seals}`,
    ciphertext: `fake-ct-${seals}`,
    tag: 'fake-tag',
    fingerprint: `fp(${plaintext})`,
    last4: plaintext.slice(-4),
  };
}

const OPENAI_KEY = 'sk-proj-FAKEFAKEFAKEFAKE0001';
const OTHER_OPENAI_KEY = 'sk-proj-FAKEFAKEFAKEFAKE0002';
const AKIA = 'AKIAFAKEFAKEFAKEFAKE';
const ASIA = 'ASIAFAKEFAKEFAKEFAKE';

const addOpenAi = (credentialId: string, label: string, apiKey = OPENAI_KEY): AddCredential => ({
  op: 'add',
  credentialId,
  provider: 'openai',
  label,
  fields: {},
  secrets: { apiKey: fakeSeal(apiKey) },
});
const addGemini = (credentialId: string, label: string): AddCredential => ({
  op: 'add',
  credentialId,
  provider: 'gemini',
  label,
  fields: {},
  secrets: { apiKey: fakeSeal('AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAK') },
});
const addBedrock = (
  credentialId: string,
  label: string,
  accessKeyId: string,
  sessionToken?: string,
): AddCredential => ({
  op: 'add',
  credentialId,
  provider: 'bedrock-access',
  label,
  fields: { accessKeyId, region: 'us-east-1' },
  secrets: {
    secretAccessKey: fakeSeal('FAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKEfake'),
    ...(sessionToken ? { sessionToken: fakeSeal(sessionToken) } : {}),
  },
});
const edit = (
  credentialId: string,
  patch: Partial<Omit<EditCredential, 'op' | 'credentialId'>> = {},
): EditCredential => ({
  op: 'edit',
  credentialId,
  fields: {},
  secrets: {},
  ...patch,
});
const remove = (credentialId: string): RemoveCredential => ({ op: 'remove', credentialId });

const metadata = (expectedVersion?: number) => ({
  orgId: 'org-decider-spec',
  actor: { userId: 'user-admin' },
  commandId: 'cmd-1',
  occurredAt: '2025-01-01T00:00:00.000Z',
  expectedVersion,
});
const save = (change: CredentialChange, expectedVersion?: number): SaveCredentials => ({
  changes: [change],
  batch: false,
  metadata: metadata(expectedVersion),
});
const batch = (...changes: CredentialChange[]): SaveCredentials => ({ changes, batch: true, metadata: metadata() });

const added = ({ credentialId, provider, label, fields, secrets }: AddCredential): CredentialAdded => ({
  type: 'CredentialAdded',
  data: { credentialId, provider, label, fields, secrets },
});
const edited = (data: CredentialEdited['data']): CredentialEdited => ({ type: 'CredentialEdited', data });

/** given(history).when(command).then(events) / .thenThrows(ErrorClass, field code, field path). */
function given(...history: CredentialEvent[]) {
  const state = history.reduce((s, e) => evolve(s, e, s.version + 1), emptyKeySet());
  return {
    when: (command: SaveCredentials) => ({
      then: (expected: CredentialEvent[]) => expect(decide(command, state)).toEqual(expected),
      thenThrows: (ErrorClass: new (...args: never[]) => DomainError, code: string, field: string): DomainError => {
        let thrown: unknown;
        try {
          decide(command, state);
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(ErrorClass);
        expect((thrown as DomainError).errors).toContainEqual(expect.objectContaining({ field, code }));
        return thrown as DomainError;
      },
    }),
  };
}

const prod = addOpenAi('cred-openai-prod', 'Prod');
const dev = addOpenAi('cred-openai-dev', 'Dev', OTHER_OPENAI_KEY);

describe('decide: add', () => {
  it('records a CredentialAdded with the sealed secrets as given', () => {
    given()
      .when(save(prod))
      .then([added(prod)]);
  });

  it('rejects a label already used in the same section, ignoring case', () => {
    given(added(prod))
      .when(save(addOpenAi('cred-2', 'PROD')))
      .thenThrows(LabelTakenError, 'label_taken', 'label');
  });

  it('accepts a label that is only used in another section', () => {
    const gemini = addGemini('cred-gemini', 'Prod');
    given(added(prod))
      .when(save(gemini))
      .then([added(gemini)]);
  });

  it(`rejects an add once the section holds ${MAX_CREDENTIALS_PER_SECTION} credentials`, () => {
    const full = Array.from({ length: MAX_CREDENTIALS_PER_SECTION }, (_, i) =>
      added(addOpenAi(`cred-${i}`, `Key ${i}`)),
    );
    given(...full)
      .when(save(addOpenAi('cred-extra', 'Extra')))
      .thenThrows(TooManyCredentialsError, 'too_many_credentials', 'provider');
  });

  it('still accepts an add in another section when one section is full', () => {
    const full = Array.from({ length: MAX_CREDENTIALS_PER_SECTION }, (_, i) =>
      added(addOpenAi(`cred-${i}`, `Key ${i}`)),
    );
    const gemini = addGemini('cred-gemini', 'Key 0');
    given(...full)
      .when(save(gemini))
      .then([added(gemini)]);
  });

  it('rejects a stale expected version', () => {
    const error = given(added(prod)).when(save(dev, 0)).thenThrows(VersionConflictError, 'stale_version', 'If-Match');
    expect(error.code).toBe('version_conflict');
  });

  it('accepts the current expected version', () => {
    given(added(prod))
      .when(save(dev, 1))
      .then([added(dev)]);
  });

  it('rejects an add that reuses an existing credential id', () => {
    given(added(prod))
      .when(save(addOpenAi(prod.credentialId, 'Other')))
      .thenThrows(CredentialExistsError, 'credential_exists', 'id');
  });

  it('rejects a temporary ASIA access key without a session token', () => {
    given()
      .when(save(addBedrock('cred-aws', 'AWS', ASIA)))
      .thenThrows(ValidationFailedError, 'session_token_required', 'sessionToken');
  });

  it('accepts a temporary ASIA access key with a session token', () => {
    const aws = addBedrock('cred-aws', 'AWS', ASIA, 'FAKEsessionTOKENfakeSESSIONtoken');
    given()
      .when(save(aws))
      .then([added(aws)]);
  });

  it('rejects a session token next to a long-term AKIA access key', () => {
    given()
      .when(save(addBedrock('cred-aws', 'AWS', AKIA, 'FAKEsessionTOKENfakeSESSIONtoken')))
      .thenThrows(ValidationFailedError, 'session_token_unexpected', 'sessionToken');
  });
});

describe('decide: edit', () => {
  const withOrg = addOpenAi('cred-openai-org', 'Org');
  const orgHistory = [added({ ...withOrg, fields: { organization: 'org-FAKE000000' } })];

  it('records only the values that changed', () => {
    const command = save(edit(prod.credentialId, { label: 'Production', fields: { project: 'proj_FAKE000000' } }));
    given(added(prod))
      .when(command)
      .then([
        edited({
          credentialId: prod.credentialId,
          provider: 'openai',
          label: 'Production',
          fields: { project: 'proj_FAKE000000' },
        }),
      ]);
  });

  it('yields no events when nothing actually changes', () => {
    given(...orgHistory)
      .when(
        save(edit(withOrg.credentialId, { label: 'Org', fields: { organization: 'org-FAKE000000', project: null } })),
      )
      .then([]);
  });

  it('treats a re-sealed secret with the same fingerprint as unchanged', () => {
    given(added(prod))
      .when(save(edit(prod.credentialId, { secrets: { apiKey: fakeSeal(OPENAI_KEY) } })))
      .then([]);
  });

  it('leaves a same-fingerprint secret out of an edit that changes something else', () => {
    const command = save(edit(prod.credentialId, { label: 'Renamed', secrets: { apiKey: fakeSeal(OPENAI_KEY) } }));
    given(added(prod))
      .when(command)
      .then([edited({ credentialId: prod.credentialId, provider: 'openai', label: 'Renamed' })]);
  });

  it('records a secret whose fingerprint differs', () => {
    const rotated = fakeSeal(OTHER_OPENAI_KEY);
    given(added(prod))
      .when(save(edit(prod.credentialId, { secrets: { apiKey: rotated } })))
      .then([edited({ credentialId: prod.credentialId, provider: 'openai', secrets: { apiKey: rotated } })]);
  });

  it('records null for an optional value that is cleared', () => {
    given(...orgHistory)
      .when(save(edit(withOrg.credentialId, { fields: { organization: null } })))
      .then([edited({ credentialId: withOrg.credentialId, provider: 'openai', fields: { organization: null } })]);
  });

  it('accepts a change of case in its own label', () => {
    given(added(prod))
      .when(save(edit(prod.credentialId, { label: 'PROD' })))
      .then([edited({ credentialId: prod.credentialId, provider: 'openai', label: 'PROD' })]);
  });

  it('rejects a label used by another credential of the section, ignoring case', () => {
    given(added(prod), added(dev))
      .when(save(edit(dev.credentialId, { label: 'prod' })))
      .thenThrows(LabelTakenError, 'label_taken', 'label');
  });

  it('rejects an unknown credential id', () => {
    given(added(prod))
      .when(save(edit('cred-missing', { label: 'X' })))
      .thenThrows(CredentialNotFoundError, 'credential_not_found', 'id');
  });

  it('rejects a provider other than the credential’s', () => {
    given(added(prod))
      .when(save(edit(prod.credentialId, { provider: 'anthropic', label: 'X' })))
      .thenThrows(ProviderMismatchError, 'provider_mismatch', 'provider');
  });

  it('rejects clearing the session token of an ASIA credential', () => {
    const aws = addBedrock('cred-aws', 'AWS', ASIA, 'FAKEsessionTOKENfakeSESSIONtoken');
    given(added(aws))
      .when(save(edit(aws.credentialId, { secrets: { sessionToken: null } })))
      .thenThrows(ValidationFailedError, 'session_token_required', 'sessionToken');
  });

  it('rejects switching to an ASIA access key without a session token', () => {
    const aws = addBedrock('cred-aws', 'AWS', AKIA);
    given(added(aws))
      .when(save(edit(aws.credentialId, { fields: { accessKeyId: ASIA } })))
      .thenThrows(ValidationFailedError, 'session_token_required', 'sessionToken');
  });

  it('accepts switching to an ASIA access key together with a session token', () => {
    const aws = addBedrock('cred-aws', 'AWS', AKIA);
    const token = fakeSeal('FAKEsessionTOKENfakeSESSIONtoken');
    given(added(aws))
      .when(save(edit(aws.credentialId, { fields: { accessKeyId: ASIA }, secrets: { sessionToken: token } })))
      .then([
        edited({
          credentialId: aws.credentialId,
          provider: 'bedrock-access',
          fields: { accessKeyId: ASIA },
          secrets: { sessionToken: token },
        }),
      ]);
  });
});

describe('decide: remove', () => {
  it('records the removed credential with its provider and label', () => {
    given(added(prod))
      .when(save(remove(prod.credentialId)))
      .then([
        { type: 'CredentialRemoved', data: { credentialId: prod.credentialId, provider: 'openai', label: 'Prod' } },
      ]);
  });

  it('rejects an unknown credential id', () => {
    given(added(prod))
      .when(save(remove('cred-missing')))
      .thenThrows(CredentialNotFoundError, 'credential_not_found', 'id');
  });
});

describe('decide: batch', () => {
  it('decides changes in order against the evolving key set', () => {
    const gemini = addGemini('cred-gemini', 'Gemini');
    given(added(prod))
      .when(batch(gemini, edit(gemini.credentialId, { label: 'Gemini Prod' }), remove(prod.credentialId)))
      .then([
        added(gemini),
        edited({ credentialId: gemini.credentialId, provider: 'gemini', label: 'Gemini Prod' }),
        { type: 'CredentialRemoved', data: { credentialId: prod.credentialId, provider: 'openai', label: 'Prod' } },
      ]);
  });

  it('rejects the whole batch when its third change fails, naming that change', () => {
    const gemini = addGemini('cred-gemini', 'Gemini');
    given(added(prod))
      .when(batch(gemini, edit(prod.credentialId, { label: 'Renamed' }), remove('cred-missing')))
      .thenThrows(CredentialNotFoundError, 'credential_not_found', 'changes[2].id');
  });

  it('names the change of an unknown id in an edit', () => {
    given(added(prod))
      .when(batch(remove(prod.credentialId), edit(prod.credentialId, { label: 'Gone' })))
      .thenThrows(CredentialNotFoundError, 'credential_not_found', 'changes[1].id');
  });

  it('prefixes other errors with the change index too', () => {
    given(added(prod))
      .when(batch(dev, addOpenAi('cred-3', 'dev')))
      .thenThrows(LabelTakenError, 'label_taken', 'changes[1].label');
    given()
      .when(batch(prod, addBedrock('cred-aws', 'AWS', ASIA)))
      .thenThrows(ValidationFailedError, 'session_token_required', 'changes[1].sessionToken');
    given(added(prod))
      .when(batch(edit(prod.credentialId, { provider: 'gemini' })))
      .thenThrows(ProviderMismatchError, 'provider_mismatch', 'changes[0].provider');
  });

  it('counts adds earlier in the batch towards the section limit', () => {
    const almostFull = Array.from({ length: MAX_CREDENTIALS_PER_SECTION - 1 }, (_, i) =>
      added(addOpenAi(`cred-${i}`, `Key ${i}`)),
    );
    given(...almostFull)
      .when(batch(addOpenAi('cred-a', 'A'), addOpenAi('cred-b', 'B')))
      .thenThrows(TooManyCredentialsError, 'too_many_credentials', 'changes[1].provider');
  });

  it('lets a remove earlier in the batch free a place in a full section', () => {
    const full = Array.from({ length: MAX_CREDENTIALS_PER_SECTION }, (_, i) =>
      added(addOpenAi(`cred-${i}`, `Key ${i}`)),
    );
    const extra = addOpenAi('cred-extra', 'Extra');
    given(...full)
      .when(batch(remove('cred-0'), extra))
      .then([
        { type: 'CredentialRemoved', data: { credentialId: 'cred-0', provider: 'openai', label: 'Key 0' } },
        added(extra),
      ]);
  });

  it('lets an edit take a label freed by an earlier remove in the same batch', () => {
    given(added(prod), added(dev))
      .when(batch(remove(prod.credentialId), edit(dev.credentialId, { label: 'Prod' })))
      .then([
        { type: 'CredentialRemoved', data: { credentialId: prod.credentialId, provider: 'openai', label: 'Prod' } },
        edited({ credentialId: dev.credentialId, provider: 'openai', label: 'Prod' }),
      ]);
  });

  it('swaps two labels through a temporary label', () => {
    given(added(prod), added(dev))
      .when(
        batch(
          edit(prod.credentialId, { label: 'tmp' }),
          edit(dev.credentialId, { label: 'Prod' }),
          edit(prod.credentialId, { label: 'Dev' }),
        ),
      )
      .then([
        edited({ credentialId: prod.credentialId, provider: 'openai', label: 'tmp' }),
        edited({ credentialId: dev.credentialId, provider: 'openai', label: 'Prod' }),
        edited({ credentialId: prod.credentialId, provider: 'openai', label: 'Dev' }),
      ]);
  });

  // Labels are unique in the saved result; a save-all screen lets an admin swap two labels directly.
  it('swaps two labels directly (A->B, B->A), since the saved result has unique labels', () => {
    given(added(prod), added(dev))
      .when(batch(edit(prod.credentialId, { label: 'Dev' }), edit(dev.credentialId, { label: 'Prod' })))
      .then([
        edited({ credentialId: prod.credentialId, provider: 'openai', label: 'Dev' }),
        edited({ credentialId: dev.credentialId, provider: 'openai', label: 'Prod' }),
      ]);
  });
});
