import { randomBytes } from 'node:crypto';
import { escapeLiteral } from 'pg';

/**
 * SQL literals for statements sent several to a round trip (the simple query protocol takes no parameters): the
 * command side's group commit and the outbox statement.
 */

/**
 * This process's dollar-quote tag. Safety does not rest on it being unknown: a text containing it is escaped instead.
 */
export const DOLLAR_TAG = `$ks${randomBytes(9).toString('hex')}$`;

/**
 * A string as a SQL literal. Dollar quoting copies the text as is (no per-character escaping loop over kilobytes
 * of JSON, and independent of standard_conforming_strings); the rare text that contains the tag falls back to
 * pg's escapeLiteral.
 */
export function sqlText(s: string): string {
  // The quote closes at the first tag after the opening one: it must be the closing tag itself (a text ending in the
  // tag minus its last '$' would otherwise close one character early).
  return `${s}${DOLLAR_TAG}`.indexOf(DOLLAR_TAG) === s.length ? `${DOLLAR_TAG}${s}${DOLLAR_TAG}` : escapeLiteral(s);
}

/** A value as a `jsonb` SQL literal. */
export const jsonb = (v: unknown): string => `${sqlText(JSON.stringify(v))}::jsonb`;

/**
 * An array literal. Joins go through `unnest` of these rather than `jsonb_to_recordset`: the planner knows how many
 * rows a constant array unnests to (and uses the primary keys), while a function's rows are guessed at 100 and a
 * join against them scans the whole table.
 */
export function sqlArray(values: readonly (string | number)[], type: 'text' | 'uuid' | 'integer'): string {
  const items = values.map((v) => {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new Error(`not an integer: ${v}`);
      return String(v);
    }
    return escapeLiteral(v);
  });
  return `ARRAY[${items.join(',')}]::${type}[]`;
}
