/** Labels: what a label may contain, and the one rule that decides when two labels are "the same". */

export const LABEL_MAX = 64;

type Problem = { code: string; message: string };

// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are rejected
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Unpaired UTF-16 surrogates: JSON can carry them, Postgres (text and jsonb) cannot store them. */
export const LONE_SURROGATE = /\p{Cs}/u;
/** Marks and overrides that reorder how text is displayed (Trojan Source): a label could show as another one. */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/**
 * Characters that render as nothing: format characters (zero-width space/joiners, word joiner, BOM, soft hyphen,
 * tags), line/paragraph separators, the combining grapheme joiner and the Hangul fillers. Two labels that look
 * identical must be one label.
 */
const INVISIBLE = /[\p{Cf}\p{Zl}\p{Zp}\u034f\u115f\u1160\u3164\uffa0]/u;

/**
 * The one case-folding rule for label uniqueness, used by the decider and stored as `label_key` under the unique
 * index (no collation-dependent `lower()` in SQL, so code and index can never disagree): compatibility
 * normalization (full-width, ligatures) then the locale-independent Unicode lower case. "İrepro" folds to
 * "i̇repro", "irepro" to itself: two different labels for both.
 */
export function labelKey(label: string): string {
  return label.normalize('NFKC').toLowerCase().normalize('NFKC');
}

/** Why a label cannot be used, or nothing. */
export function checkLabel(label: unknown): Problem | undefined {
  if (label === undefined || label === null) return { code: 'required', message: 'is required' };
  if (typeof label !== 'string') return { code: 'invalid_type', message: 'must be a string' };
  if (label.length === 0) return { code: 'empty', message: 'must not be empty' };
  if (label.trim() !== label) return { code: 'whitespace', message: 'must not start or end with whitespace' };
  if (label.length > LABEL_MAX) return { code: 'too_long', message: `must be at most ${LABEL_MAX} characters` };
  if (CONTROL.test(label)) return { code: 'invalid_characters', message: 'must not contain control characters' };
  if (LONE_SURROGATE.test(label))
    return { code: 'invalid_characters', message: 'must not contain unpaired surrogates (not valid Unicode text)' };
  if (BIDI.test(label)) return { code: 'bidi_control', message: 'must not contain bidirectional control characters' };
  if (INVISIBLE.test(label))
    return { code: 'invisible_characters', message: 'must not contain invisible or zero-width characters' };
  return undefined;
}
