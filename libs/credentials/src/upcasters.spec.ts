import { RawEnvelope, upcast, Upcasters } from './upcasters';

/** The seam for schemaVersion: a chain of pure steps, each tested; a newer shape is read additively. */
describe('upcast', () => {
  const v1Added: RawEnvelope = {
    type: 'CredentialAdded',
    schemaVersion: 1,
    orgId: 'org-upcast-spec',
    version: 7,
    data: { credentialId: 'c1', provider: 'gemini', name: 'Old label field', fields: {}, secrets: {} },
  };
  // A hypothetical v2 that renamed data.name to data.label, and a v3 that added data.tags.
  const chain: Upcasters = {
    current: 3,
    steps: {
      1: (e) => {
        const { name, ...rest } = e.data;
        return { ...e, data: { ...rest, label: name } };
      },
      2: (e) => ({ ...e, data: { ...e.data, tags: [] } }),
    },
  };

  it('lifts an older shape step by step to the current version', () => {
    const { envelope, error } = upcast(v1Added, chain);
    expect(error).toBeUndefined();
    expect(envelope).toEqual({
      ...v1Added,
      schemaVersion: 3,
      data: { credentialId: 'c1', provider: 'gemini', label: 'Old label field', fields: {}, secrets: {}, tags: [] },
    });
    expect(v1Added.data.name).toBe('Old label field'); // pure: the input is untouched
  });

  it('reads a newer shape as the current one, keeping fields it does not know', () => {
    const v4 = { ...v1Added, schemaVersion: 4, data: { ...v1Added.data, label: 'x', rotation: { days: 30 } } };
    expect(upcast(v4, chain).envelope).toBe(v4);
  });

  it('names the missing step instead of guessing', () => {
    expect(upcast({ ...v1Added, schemaVersion: 1 }, { current: 3, steps: { 2: (e) => e } }).error).toBe(
      'no upcaster from schemaVersion 1 of CredentialAdded',
    );
  });

  it('is the identity for this build (version 1 is current)', () => {
    expect(upcast(v1Added).envelope).toBe(v1Added);
  });
});
