/** JSON Schema → PostgreSQL column types: strings, integers, enum CHECK values. */
import type { SqlType } from '../../core/db/types.js';
import type { Obj } from '../../core/json.js';
import { compareStrings } from './order.js';

/** PostgreSQL's largest varchar length; a longer maxLength is stored as text. */
export const MAX_VARCHAR = 10485760;
export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

export function isReferenceCapable(type: SqlType): boolean {
  return !type.array && ['uuid', 'text', 'varchar', 'integer', 'bigint'].includes(type.name);
}

export function isCheckable(type: SqlType): boolean {
  return !type.array && ['text', 'varchar', 'integer', 'bigint', 'double precision', 'numeric'].includes(type.name);
}

export function stringType(node: Obj): SqlType {
  if (node['x-backdev-type'] === 'text') return { name: 'text' };
  switch (node.format) {
    case 'uuid':
      return { name: 'uuid' };
    case 'date':
      return { name: 'date' };
    case 'date-time':
      return { name: 'timestamptz' };
  }
  const max = node.maxLength;
  if (typeof max === 'number' && Number.isInteger(max) && max >= 1 && max <= MAX_VARCHAR) return { name: 'varchar', length: max };
  return { name: 'text' };
}

export function integerType(node: Obj): SqlType {
  if (node.format === 'int64') return { name: 'bigint' };
  if (node.format === 'int32') return { name: 'integer' };
  const outside = (v: unknown) => typeof v === 'number' && (v < INT32_MIN || v > INT32_MAX);
  if (outside(node.minimum) || outside(node.maximum) || outside(node.exclusiveMinimum) || outside(node.exclusiveMaximum)) return { name: 'bigint' };
  return { name: 'integer' };
}

/** Enum values usable in `CHECK (col IN (…))` for this type, sorted and unique; undefined when not. */
export function checkValues(values: unknown[], type: SqlType): readonly (string | number)[] | undefined {
  if (values.length === 0 || !isCheckable(type)) return undefined;
  if (type.name === 'text' || type.name === 'varchar') {
    if (!values.every((v): v is string => typeof v === 'string' && !v.includes('\u0000'))) return undefined;
  } else if (!values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    return undefined;
  }
  return sortValues(values as (string | number)[]);
}

export function sortValues(values: (string | number)[]): (string | number)[] {
  return [...new Set(values)].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : compareStrings(String(a), String(b))));
}
