/**
 * For a field that takes a secret (an API key, a token): no autofill, autocorrect or spell-check (which may send the
 * text to a service), and the password managers told to keep out, so a pasted key is neither offered nor stored.
 */
export const NO_AUTOFILL = {
  autoComplete: 'off',
  autoCorrect: 'off',
  autoCapitalize: 'off',
  spellCheck: false,
  'data-1p-ignore': '',
  'data-lpignore': 'true',
} as const;
