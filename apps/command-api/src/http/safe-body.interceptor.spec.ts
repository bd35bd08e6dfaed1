import { bodyErrors, MAX_BODY_DEPTH } from './safe-body.interceptor';

const nest = (depth: number): unknown => (depth === 0 ? 'leaf' : { a: nest(depth - 1) });

describe('bodyErrors', () => {
  it('accepts ordinary bodies, emoji included', () => {
    expect(
      bodyErrors({ provider: 'gemini', label: 'prod 🔑', changes: [{ op: 'add', n: 1, ok: true, none: null }] }),
    ).toEqual([]);
    expect(bodyErrors(undefined)).toEqual([]);
  });

  it('bounds nesting without recursing (200,000 levels)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(bodyErrors(deep)[0].code).toBe('too_deep');
    expect(bodyErrors(nest(MAX_BODY_DEPTH - 1))).toEqual([]);
    expect(bodyErrors(nest(MAX_BODY_DEPTH + 1))[0]).toMatchObject({
      code: 'too_deep',
      field: Array(MAX_BODY_DEPTH).fill('a').join('.'),
    });
  });

  it.each([
    ['a lone high surrogate', { label: 'x\uD800' }, 'label'],
    ['a lone low surrogate deep down', { changes: [{ label: '\uDC00' }] }, 'changes[0].label'],
    ['a NUL', { apiKey: 'a\u0000b' }, 'apiKey'],
    ['a NUL in a key', { ['a\u0000']: 'b' }, 'body'],
  ])('refuses %s, naming where', (_name, body, field) => {
    expect(bodyErrors(body)).toEqual([expect.objectContaining({ field, code: 'invalid_characters' })]);
  });

  it('refuses prototype keys', () => {
    expect(bodyErrors(JSON.parse('{"changes":[{"__proto__":{}}]}'))).toEqual([
      expect.objectContaining({ field: 'changes[0].__proto__', code: 'forbidden_key' }),
    ]);
  });
});
