import { IsIn, IsOptional, IsString, IsUUID, MaxLength, validateSync, ValidationError } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { FieldError, LABEL_MAX, PROVIDERS, ProviderId, ProviderSpec } from '@keystream/credentials';

export type RequestShape = 'add' | 'edit' | 'remove';

/** Keys every request body may carry besides the provider's own fields. */
export const ENVELOPE_KEYS = ['op', 'id', 'provider', 'label'] as const;

const CODES: Record<string, string> = {
  whitelistValidation: 'unknown_field',
  isString: 'invalid_type',
  maxLength: 'too_long',
  isIn: 'invalid_value',
  isUuid: 'invalid_id',
};

const MESSAGES: Record<string, string> = {
  unknown_field: 'is not a known field',
  invalid_type: 'must be a string',
  too_long: 'is too long',
  invalid_value: 'has an unexpected value',
  invalid_id: 'must be a credential id (UUID)',
};

/**
 * class-validator request classes, generated from each provider's field table so the table stays the one
 * source of truth. They check shape (known fields, strings, lengths); the domain table checks meaning.
 */
function buildDto(spec: ProviderSpec, shape: RequestShape, inBatch: boolean): new () => object {
  class Dto {}
  const on = (name: string, ...ds: PropertyDecorator[]) => ds.forEach((d) => d(Dto.prototype, name));
  if (inBatch) on('op', IsIn([shape]));
  if (shape !== 'add') on('id', IsUUID('all'));
  if (shape === 'remove') return Dto;
  on('provider', ...(shape === 'edit' ? [IsOptional()] : []), IsIn([spec.id]));
  on('label', IsOptional(), IsString(), MaxLength(LABEL_MAX));
  for (const f of spec.fields) on(f.name, IsOptional(), IsString(), MaxLength(f.maxLength));
  return Dto;
}

const cache = new Map<string, new () => object>();

export function dtoFor(provider: ProviderId, shape: RequestShape, inBatch: boolean): new () => object {
  const key = `${provider}/${shape}/${inBatch}`;
  let dto = cache.get(key);
  if (!dto) cache.set(key, (dto = buildDto(PROVIDERS[provider], shape, inBatch)));
  return dto;
}

/** Runs class-validator with unknown properties rejected by name, never silently stripped. */
export function shapeErrors(dto: new () => object, body: Record<string, unknown>, prefix: string): FieldError[] {
  const instance = plainToInstance(dto, body, { enableImplicitConversion: false, excludeExtraneousValues: false });
  const errors = validateSync(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
  });
  return errors.map((e) => toFieldError(e, prefix));
}

function toFieldError(e: ValidationError, prefix: string): FieldError {
  const constraint = Object.keys(e.constraints ?? {})[0] ?? 'invalid';
  const code = CODES[constraint] ?? constraint;
  return { field: `${prefix}${e.property}`, code, message: MESSAGES[code] ?? 'is invalid' };
}
