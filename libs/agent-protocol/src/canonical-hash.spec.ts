import { createHash } from 'node:crypto';
import { agentKeySetHash } from './agent-key-set';
import { AgentCredential } from './agent-protocol';

/**
 * The worked example of docs/agent-protocol.md ("Canonical hash"), checked against the server's own
 * function. If this spec fails, the document is wrong: fix the document, never just the number.
 */
const example: AgentCredential[] = [
  {
    id: 'f0e1d2c3-0000-4000-8000-000000000002',
    provider: 'gemini',
    label: 'Équipe Zürich 東京',
    fields: {},
    secrets: { apiKey: { value: 'AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAK0001', fingerprint: 'Zm9vYmFyYmF6cXV4MDAwMQ' } },
  },
  {
    id: '0a1b2c3d-0000-4000-8000-000000000001',
    provider: 'openai',
    label: 'Prod "main"',
    fields: { project: 'proj_FAKE', baseUrl: 'https://api.openai.com/v1' },
    secrets: { apiKey: { value: 'sk-proj-FAKEFAKEFAKEFAKEFAKEFAKE0001', fingerprint: 'c2stcHJvai1GQUtFMDAwMQ' } },
  },
];

const canonical =
  '[["0a1b2c3d-0000-4000-8000-000000000001","openai","Prod \\"main\\"",[["baseUrl","https://api.openai.com/v1"],["project","proj_FAKE"]],[["apiKey","c2stcHJvai1GQUtFMDAwMQ"]]],' +
  '["f0e1d2c3-0000-4000-8000-000000000002","gemini","Équipe Zürich 東京",[],[["apiKey","Zm9vYmFyYmF6cXV4MDAwMQ"]]]]';

describe('canonical key-set hash (docs/agent-protocol.md worked example)', () => {
  it('is SHA-256 of the documented canonical UTF-8 text', () => {
    const hex = createHash('sha256').update(Buffer.from(canonical, 'utf8')).digest('hex');
    expect(hex).toBe('b6022f18ff34a78b82d763c3d00210ecbf7faf8f5af36e4367278ce9dc3e7a89');
    expect(agentKeySetHash(example)).toBe(hex);
    expect(Buffer.byteLength(canonical, 'utf8')).toBe(287);
  });
  it('of the empty key set is SHA-256 of "[]"', () => {
    expect(agentKeySetHash([])).toBe(createHash('sha256').update('[]').digest('hex'));
    expect(agentKeySetHash([])).toBe('4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945');
  });
});
