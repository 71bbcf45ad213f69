/**
 * TypeScript type expressions as data. Generators build a type from these parts (a fixed vocabulary of
 * keywords and generic names, plus literal values) and templates print it once with `{{type x}}`; a type
 * is never made by editing the text of another one, so a literal such as `'Date'` or `'string | number'`
 * stays a literal. Literal strings go through `stringLiteral`.
 */
import { stringLiteral } from './escape.js';

export type TsKeyword = 'string' | 'number' | 'boolean' | 'unknown' | 'null' | 'undefined' | 'never' | 'Date';

export type TsType =
  | { readonly kind: 'keyword'; readonly name: TsKeyword }
  | { readonly kind: 'literal'; readonly value: string | number | boolean }
  | { readonly kind: 'array'; readonly of: TsType }
  | { readonly kind: 'union'; readonly of: readonly TsType[] }
  | { readonly kind: 'generic'; readonly name: 'Generated' | 'ColumnType'; readonly args: readonly TsType[] };

export const tsKeyword = (name: TsKeyword): TsType => ({ kind: 'keyword', name });
export const tsLiteral = (value: string | number | boolean): TsType => ({ kind: 'literal', value });
export const tsArray = (of: TsType): TsType => ({ kind: 'array', of });
export const tsGeneric = (name: 'Generated' | 'ColumnType', args: readonly TsType[]): TsType => ({ kind: 'generic', name, args });

/** A union of the parts (nested unions flattened, repeated parts once); a single part is itself. */
export function tsUnion(...parts: readonly TsType[]): TsType {
  const flat: TsType[] = [];
  const seen = new Set<string>();
  for (const part of parts) {
    for (const p of part.kind === 'union' ? part.of : [part]) {
      const id = printType(p);
      if (seen.has(id)) continue;
      seen.add(id);
      flat.push(p);
    }
  }
  if (flat.length === 0) return tsKeyword('never');
  return flat.length === 1 ? flat[0]! : { kind: 'union', of: flat };
}

/** The type with `null` added (once). */
export const tsNullable = (t: TsType): TsType => tsUnion(t, tsKeyword('null'));

/** The type with its `null` part removed. */
export function tsNonNull(t: TsType): TsType {
  if (t.kind === 'keyword' && t.name === 'null') return tsKeyword('never');
  if (t.kind !== 'union') return t;
  return tsUnion(...t.of.filter((p) => !(p.kind === 'keyword' && p.name === 'null')));
}

/** Replaces the keyword `from` (never a literal that reads the same) with `by`, at every depth. */
export function tsMapKeyword(t: TsType, from: TsKeyword, by: TsType): TsType {
  switch (t.kind) {
    case 'keyword':
      return t.name === from ? by : t;
    case 'literal':
      return t;
    case 'array':
      return tsArray(tsMapKeyword(t.of, from, by));
    case 'union':
      return tsUnion(...t.of.map((p) => tsMapKeyword(p, from, by)));
    case 'generic':
      return tsGeneric(t.name, t.args.map((a) => tsMapKeyword(a, from, by)));
  }
}

/** TypeScript source for the type. */
export function printType(t: TsType): string {
  switch (t.kind) {
    case 'keyword':
      return t.name;
    case 'literal':
      if (typeof t.value === 'string') return stringLiteral(t.value);
      if (typeof t.value === 'number') return Number.isFinite(t.value) ? String(t.value) : 'number';
      return String(t.value);
    case 'array': {
      const inner = printType(t.of);
      return t.of.kind === 'union' ? `(${inner})[]` : `${inner}[]`;
    }
    case 'union':
      return t.of.map(printType).join(' | ');
    case 'generic':
      return `${t.name}<${t.args.map(printType).join(', ')}>`;
  }
}

/** Whether a value is a `TsType` (the `type` template helper refuses anything else). */
export function isTsType(value: unknown): value is TsType {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { kind?: unknown };
  return v.kind === 'keyword' || v.kind === 'literal' || v.kind === 'array' || v.kind === 'union' || v.kind === 'generic';
}
