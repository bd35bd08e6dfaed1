import { FieldError } from './errors';
import { checkLabel, LONE_SURROGATE } from './label';
import { DEFAULT_INPUT_POLICY, FieldSpec, InputPolicy, ProviderSpec } from './providers';

/** Raw values from the edge: a string, `null` (clear an optional field on edit) or anything a client sent. */
export type RawValues = Readonly<Record<string, unknown>>;

// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are rejected
const CONTROL = /[\u0000-\u001f\u007f]/;
const ANY_SPACE = /\s/;

/** Checks every value of one add/edit against its provider's table. Error messages never echo a secret. */
export function validateCredentialInput(
  spec: ProviderSpec,
  label: unknown,
  values: RawValues,
  mode: 'add' | 'edit',
  prefix = '',
  policy: InputPolicy = DEFAULT_INPUT_POLICY,
): FieldError[] {
  const errors: FieldError[] = [];
  const at = (name: string) => `${prefix}${name}`;
  if (label !== undefined || mode === 'add') {
    const problem = checkLabel(label);
    if (problem) errors.push({ field: at('label'), ...problem });
  }
  const known = new Set(spec.fields.map((f) => f.name));
  for (const name of Object.keys(values)) {
    if (!known.has(name)) {
      errors.push({ field: at(name), code: 'unknown_field', message: `is not a field of ${spec.section}` });
    }
  }
  for (const f of spec.fields) {
    const problem = checkValue(f, values[f.name], mode, policy);
    if (problem) errors.push({ field: at(f.name), ...problem });
  }
  return errors;
}

function checkValue(
  f: FieldSpec,
  value: unknown,
  mode: 'add' | 'edit',
  policy: InputPolicy,
): { code: string; message: string } | undefined {
  if (value === undefined || value === null) {
    if (mode === 'add' && f.required) return { code: 'required', message: 'is required' };
    if (value === null && f.required) return { code: 'required', message: 'is required and cannot be cleared' };
    return undefined;
  }
  if (typeof value !== 'string') return { code: 'invalid_type', message: 'must be a string' };
  if (value.length === 0) return { code: 'empty', message: 'must not be empty (omit it or send null to clear it)' };
  if (value.length > f.maxLength) return { code: 'too_long', message: `must be at most ${f.maxLength} characters` };
  if (value.trim() !== value)
    return { code: 'whitespace', message: 'must not start or end with whitespace (check the paste)' };
  if (f.secret && ANY_SPACE.test(value)) return { code: 'whitespace', message: 'must not contain whitespace' };
  if (CONTROL.test(value)) return { code: 'invalid_characters', message: 'must not contain control characters' };
  if (LONE_SURROGATE.test(value))
    return { code: 'invalid_characters', message: 'must not contain unpaired surrogates (not valid Unicode text)' };
  for (const rule of f.rules) {
    const problem = rule(value, policy);
    if (problem) return problem;
  }
  return undefined;
}
