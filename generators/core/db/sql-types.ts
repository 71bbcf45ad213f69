/** PostgreSQL column types as the migration planner sees them: equality, which casts exist, which lose data. */
import type { SqlType } from './types.js';

const STRINGS = new Set(['text', 'varchar']);
const NUMBERS = new Set(['integer', 'bigint', 'double precision', 'numeric']);

/** The same column type: name, varchar length and array-ness all equal (an absent length is not a length). */
export function sameType(a: SqlType, b: SqlType): boolean {
  return a.name === b.name && (a.length ?? null) === (b.length ?? null) && (a.array ?? false) === (b.array ?? false);
}

/** Can `ALTER COLUMN … TYPE` (with a USING cast where needed) convert from → to? Else the column is rebuilt. */
export function castable(from: SqlType, to: SqlType): boolean {
  const fromArray = from.array ?? false;
  const toArray = to.array ?? false;
  if (fromArray !== toArray) return (!toArray && STRINGS.has(to.name)) || (!fromArray && STRINGS.has(from.name));
  const a = from.name;
  const b = to.name;
  if (a === b || STRINGS.has(a) || STRINGS.has(b)) return true;
  if (NUMBERS.has(a) && NUMBERS.has(b)) return true;
  if ((a === 'integer' && b === 'boolean') || (a === 'boolean' && b === 'integer')) return true;
  if ((a === 'date' && b === 'timestamptz') || (a === 'timestamptz' && b === 'date')) return true;
  return a === 'jsonb' && !fromArray && ['integer', 'bigint', 'double precision', 'numeric', 'boolean'].includes(b);
}

/** Does the conversion need `USING col::type` (no assignment cast)? */
export function needsUsing(from: SqlType, to: SqlType): boolean {
  const fromArray = from.array ?? false;
  const toArray = to.array ?? false;
  if (!toArray && STRINGS.has(to.name)) return false;
  if (fromArray !== toArray) return true;
  const a = from.name;
  const b = to.name;
  if (STRINGS.has(a) && STRINGS.has(b)) return false;
  if (NUMBERS.has(a) && NUMBERS.has(b)) return false;
  if ((a === 'date' && b === 'timestamptz') || (a === 'timestamptz' && b === 'date')) return false;
  return true;
}

/** Can the conversion fail on existing values or lose information? */
export function narrows(from: SqlType, to: SqlType): boolean {
  if (sameType(from, to)) return false;
  const fromArray = from.array ?? false;
  const toArray = to.array ?? false;
  if (!toArray && to.name === 'text') return false;
  if (fromArray !== toArray) return true;
  const a = from.name;
  const b = to.name;
  if (b === 'text') return false;
  if (b === 'varchar') return !(a === 'varchar' && (from.length ?? Infinity) <= (to.length ?? Infinity));
  if (a === 'integer' && (b === 'bigint' || b === 'numeric' || b === 'double precision')) return false;
  if (a === 'bigint' && b === 'numeric') return false;
  if (a === 'date' && b === 'timestamptz') return false;
  return true;
}
