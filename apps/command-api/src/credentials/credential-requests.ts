import {
  checkLabel,
  DEFAULT_INPUT_POLICY,
  FieldError,
  InputPolicy,
  isProviderId,
  PROVIDER_IDS,
  PROVIDERS,
  ProviderId,
  RawValues,
  validateCredentialInput,
  ValidationFailedError,
} from '@keystream/credentials';
import { badRequest } from '../http/problem';
import { dtoFor, ENVELOPE_KEYS, RequestShape, shapeErrors } from './request-dtos';
import type { PlainAdd, PlainEdit, PlainRemove } from './save-command';

export const MAX_BATCH_CHANGES = 100;
export function asObject(body: unknown, field = 'body'): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('invalid_body', `${field} must be a JSON object`, [
      { field, code: 'invalid_type', message: 'must be a JSON object' },
    ]);
  }
  return body as Record<string, unknown>;
}

function valuesOf(body: Record<string, unknown>): RawValues {
  return Object.fromEntries(Object.entries(body).filter(([k]) => !(ENVELOPE_KEYS as readonly string[]).includes(k)));
}

/** Shape errors first; meaning errors only for fields whose shape was right, so each field gets one clear reason. */
function check(
  provider: ProviderId,
  shape: RequestShape,
  body: Record<string, unknown>,
  prefix: string,
  inBatch: boolean,
  policy: InputPolicy = DEFAULT_INPUT_POLICY,
): FieldError[] {
  const errors = shapeErrors(dtoFor(provider, shape, inBatch), body, prefix);
  if (shape === 'remove') return errors;
  const flagged = new Set(errors.map((e) => e.field));
  const meaning = validateCredentialInput(
    PROVIDERS[provider],
    body.label,
    valuesOf(body),
    shape,
    prefix,
    policy,
  ).filter((e) => !flagged.has(e.field));
  return [...errors, ...meaning];
}

export function parseAdd(
  body: Record<string, unknown>,
  policy: InputPolicy,
  prefix = '',
  inBatch = false,
): { change?: PlainAdd; errors: FieldError[] } {
  if (!isProviderId(body.provider)) {
    return {
      errors: [
        { field: `${prefix}provider`, code: 'unknown_provider', message: `must be one of ${PROVIDER_IDS.join(', ')}` },
      ],
    };
  }
  const errors = check(body.provider, 'add', body, prefix, inBatch, policy);
  if (errors.length > 0) return { errors };
  return {
    change: {
      op: 'add',
      provider: body.provider,
      label: body.label as string,
      values: valuesOf(body) as Record<string, string>,
    },
    errors,
  };
}

export function parseEdit(
  id: string,
  provider: ProviderId,
  body: Record<string, unknown>,
  policy: InputPolicy,
  prefix = '',
  inBatch = false,
): { change?: PlainEdit; errors: FieldError[] } {
  // A wrong provider is the decider's provider_mismatch; validate the values against the credential's real provider.
  const claimed = isProviderId(body.provider) ? body.provider : undefined;
  const errors = check(
    provider,
    'edit',
    { ...body, provider: claimed === undefined ? body.provider : provider, id },
    prefix,
    inBatch,
    policy,
  );
  if (errors.length > 0) return { errors };
  const label = body.label as string | undefined;
  return {
    change: {
      op: 'edit',
      id,
      provider,
      claimedProvider: claimed,
      label,
      values: valuesOf(body) as Record<string, string | null>,
    },
    errors,
  };
}

export function parseRemove(
  id: string,
  body: Record<string, unknown>,
  prefix = '',
  inBatch = false,
): { change?: PlainRemove; errors: FieldError[] } {
  const errors = check('openai', 'remove', { ...body, id }, prefix, inBatch);
  return errors.length > 0 ? { errors } : { change: { op: 'remove', id }, errors };
}

/** Every provider field name: the largest length any provider allows, and whether any provider lets it be cleared. */
export const ANY_PROVIDER_FIELDS: ReadonlyMap<string, { readonly maxLength: number; readonly clearable: boolean }> =
  new Map(
    PROVIDER_IDS.flatMap((id) => PROVIDERS[id].fields.map((f) => f.name)).map((name) => {
      const specs = PROVIDER_IDS.flatMap((id) => PROVIDERS[id].fields.filter((f) => f.name === name));
      return [
        name,
        { maxLength: Math.max(...specs.map((f) => f.maxLength)), clearable: specs.some((f) => !f.required) },
      ];
    }),
  );

/**
 * What an edit can be refused for without knowing the credential, checked before the version lookup: a bad body
 * is a 422 whatever If-Match says (RFC 9110 §13.2.1 — preconditions only decide requests that would otherwise
 * succeed). The provider's own rules run after the lookup, in parseEdit.
 */
export function editShapeErrors(body: Record<string, unknown>, prefix = '', inBatch = false): FieldError[] {
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(body)) {
    const field = `${prefix}${key}`;
    const spec = ANY_PROVIDER_FIELDS.get(key);
    if (key === 'label') {
      const p = checkLabel(value);
      if (p) errors.push({ field, ...p });
    } else if (key === 'provider') {
      if (!isProviderId(value))
        errors.push({ field, code: 'invalid_value', message: `must be one of ${PROVIDER_IDS.join(', ')}` });
    } else if (inBatch && (key === 'op' || key === 'id')) {
      continue; // the batch envelope, checked by the batch controller
    } else if (spec === undefined) {
      errors.push({ field, code: 'unknown_field', message: 'is not a known field' });
    } else if (value === null && !spec.clearable) {
      errors.push({ field, code: 'required', message: 'is required and cannot be cleared' });
    } else if (value !== null && typeof value !== 'string') {
      errors.push({ field, code: 'invalid_type', message: 'must be a string, or null to clear the field' });
    } else if (value === '') {
      errors.push({ field, code: 'empty', message: 'must not be empty (omit it or send null to clear it)' });
    } else if (typeof value === 'string' && value.length > spec.maxLength) {
      errors.push({ field, code: 'too_long', message: `must be at most ${spec.maxLength} characters` });
    }
  }
  return errors;
}

export function throwIfAny(errors: FieldError[]): void {
  if (errors.length > 0) throw new ValidationFailedError(errors);
}
