import { checkLabel, labelKey } from './label';

describe('label rules', () => {
  it.each([
    ['a right-to-left override (Trojan Source)', 'prod\u202Eved', 'bidi_control'],
    ['a left-to-right isolate', '\u2066prod\u2069x', 'bidi_control'],
    ['a right-to-left mark', 'prod\u200F', 'bidi_control'],
    ['a zero-width space', 'pro\u200Bd', 'invisible_characters'],
    ['a zero-width joiner', 'pro\u200Dd', 'invisible_characters'],
    ['a byte-order mark', 'pro\uFEFFd', 'invisible_characters'],
    ['a soft hyphen', 'pro\u00ADd', 'invisible_characters'],
    ['a word joiner', 'pro\u2060d', 'invisible_characters'],
    ['a Hangul filler', 'prod\u3164x', 'invisible_characters'],
    ['a line separator', 'pro\u2028d', 'invisible_characters'],
    ['a lone high surrogate', 'prod\uD800', 'invalid_characters'],
    ['a lone low surrogate', '\uDC00prod', 'invalid_characters'],
    ['a NUL', 'pro\u0000d', 'invalid_characters'],
    ['a C1 control', 'pro\u0085d', 'invalid_characters'],
  ])('refuses %s', (_name, label, code) => {
    expect(checkLabel(label)?.code).toBe(code);
  });

  it.each(['Prod – EU (team α)', 'Équipe données', 'İstanbul', '東京 本番', 'prod 🔑', 'ʻokina'])(
    'accepts %s',
    (label) => {
      expect(checkLabel(label)).toBeUndefined();
    },
  );

  it('folds case with one locale-independent rule', () => {
    expect(labelKey('PROD')).toBe(labelKey('prod'));
    expect(labelKey('Équipe')).toBe(labelKey('équipe'));
    // Full-width letters and a decomposed é are the same label as their plain forms.
    expect(labelKey('ＰＲＯＤ')).toBe(labelKey('prod'));
    expect(labelKey('e\u0301quipe')).toBe(labelKey('équipe'));
  });

  it('keeps "İrepro" and "irepro" distinct (dotted capital I folds to i + combining dot)', () => {
    expect(labelKey('İrepro')).not.toBe(labelKey('irepro'));
    expect(labelKey('İrepro')).toBe(labelKey('i\u0307repro'));
  });
});
