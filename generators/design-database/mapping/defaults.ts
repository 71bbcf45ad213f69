/** Spec `default` values → column `DEFAULT`s, kept only when the value fits the column. */
import type { DefaultIR, SqlType } from '../../core/db/types.js';
import { isObject, type Obj } from '../../core/json.js';
import { INT32_MAX, INT32_MIN, MAX_VARCHAR } from './column-types.js';
import { compareStrings } from './order.js';

type LiteralValue = Extract<DefaultIR, { kind: 'literal' }>['value'];

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A `DEFAULT` for a spec default that fits the column (else none: a bad default must not break a migration). */
export function defaultFor(value: unknown, type: SqlType, values: readonly (string | number)[] | undefined): DefaultIR | undefined {
  if (value === undefined || value === null) return undefined;
  if (values !== undefined && !values.includes(value as string | number)) return undefined;
  if (type.name === 'jsonb' && !type.array) {
    const json = toJson(value);
    return json === undefined || json === null ? undefined : { kind: 'literal', value: json as LiteralValue };
  }
  if (type.array) {
    if (!Array.isArray(value) || !value.every((v) => fitsScalar(v, { name: type.name, ...(type.length !== undefined ? { length: type.length } : {}) }))) return undefined;
    return { kind: 'literal', value: [...value] };
  }
  return fitsScalar(value, type) ? { kind: 'literal', value: value as string | number | boolean } : undefined;
}

function fitsScalar(v: unknown, type: SqlType): boolean {
  switch (type.name) {
    case 'text':
      return typeof v === 'string' && !v.includes('\u0000');
    case 'varchar':
      return typeof v === 'string' && !v.includes('\u0000') && [...v].length <= (type.length ?? MAX_VARCHAR);
    case 'uuid':
      return typeof v === 'string' && UUID_RE.test(v);
    case 'date':
      return typeof v === 'string' && DATE_RE.test(v) && !Number.isNaN(Date.parse(v));
    case 'timestamptz':
      return typeof v === 'string' && DATE_TIME_RE.test(v) && !Number.isNaN(Date.parse(v));
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
    case 'bigint':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'double precision':
    case 'numeric':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return false;
  }
}

/** A plain JSON copy (objects, arrays, strings without NUL, finite numbers, booleans, null); undefined otherwise. */
function toJson(value: unknown, depth = 0): unknown {
  if (depth > 64) return undefined;
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return value.includes('\u0000') ? undefined : value;
  if (Array.isArray(value)) {
    const out = value.map((v) => toJson(v, depth + 1));
    return out.some((v) => v === undefined) ? undefined : out;
  }
  if (isObject(value)) {
    const out: Obj = {};
    for (const k of Object.keys(value).sort(compareStrings)) {
      if (k.includes('\u0000')) return undefined;
      const v = toJson(value[k], depth + 1);
      if (v === undefined) return undefined;
      out[k] = v;
    }
    return out;
  }
  return undefined;
}
