/** A value a converted schema rejects, with a short reason (a missing required property, a wrong type …). */
import type { JsonSchema } from '../../core/ir/json-schema.js';
import { isObject } from '../../core/json.js';
import { checker } from './ajv-cache.js';
import { compileError, has, jsonType, resolveSampleRef, type Gen, type Sample } from './common.js';
import { validSample } from './valid.js';

/**
 * A value the schema rejects, with a short description of what is wrong: e.g. `{ ok: true, value: {…},
 * reason: 'missing required property "name"', field: 'name' }`. `ok: false` if every value tried is accepted.
 */
export function invalidSample(
  schema: JsonSchema,
  defs: Record<string, JsonSchema>,
  refPrefix: string,
): Sample & { reason: string; field?: string } {
  const g: Gen = { defs, refPrefix, check: checker(defs), refs: [] };
  const broken = compileError(schema, g);
  if (broken !== undefined) return { ok: false, reason: broken };
  const rejected = (value: unknown) => !g.check(schema, value).valid;

  const view = flatten(schema, g, 0);
  // 1. A valid object without one of its required properties.
  const valid = validSample(schema, defs, refPrefix);
  if (valid.ok && isObject(valid.value)) {
    for (const name of Object.keys(valid.value)) {
      if (!view.required.has(name)) continue;
      const value: Record<string, unknown> = { ...valid.value };
      delete value[name];
      if (rejected(value)) return { ok: true, value, reason: `missing required property "${name}"`, field: name };
    }
  }

  const types = [...view.types];
  const candidates: Array<{ value: unknown; reason: string }> = [];
  // 2. Enumerations: a value of the right type that is not listed.
  if (view.enumerated) {
    candidates.push({ value: 'not-one-of-the-allowed-values', reason: 'not one of the allowed values' });
    candidates.push({ value: -987654321, reason: 'not one of the allowed values' });
  }
  // 3. Constrained strings: a string that breaks the constraint (a scalar, usable in a URL).
  if (types.includes('string') || types.length === 0) {
    if (view.format !== undefined) candidates.push({ value: 'not-a-valid-value!', reason: `not a valid ${view.format}` });
    if (view.minLength !== undefined && view.minLength > 0) candidates.push({ value: '', reason: `shorter than ${view.minLength} characters` });
    if (view.pattern !== undefined) candidates.push({ value: '!@#$%^&*() ~', reason: `does not match the pattern ${view.pattern}` });
  }
  // 4. A value of a type the schema does not accept and that coerceTypes: 'array' cannot turn into one.
  const expected = types.length > 0 ? types.join(' or ') : undefined;
  const wrong = (value: unknown) => ({ value, reason: expected ? `expected ${expected}, got ${jsonType(value)}` : `${jsonType(value)} is not accepted` });
  for (const type of types) {
    if (type === 'string') candidates.push(wrong({}));
    else if (type === 'integer' || type === 'number') candidates.push(wrong('not-a-number'));
    else if (type === 'boolean') candidates.push(wrong('not-a-boolean'));
    else if (type === 'array') candidates.push(wrong({}));
    else if (type === 'object') candidates.push(wrong('not-an-object'));
    else if (type === 'null') candidates.push(wrong({}));
  }
  candidates.push(wrong({}), wrong('not-a-number'), wrong([]), wrong([{}]), wrong(true), wrong(-1e21), wrong(null));
  for (const c of candidates) {
    if (rejected(c.value)) return { ok: true, value: c.value, reason: c.reason };
  }
  return { ok: false, reason: 'every value tried is accepted' };
}
interface View {
  types: Set<string>;
  /** Property names some branch requires. */
  required: Set<string>;
  enumerated: boolean;
  format: string | undefined;
  minLength: number | undefined;
  pattern: string | undefined;
}

/** What the schema says about the top-level value, through $ref and allOf/anyOf/oneOf. */
function flatten(schema: JsonSchema, g: Gen, depth: number): View {
  const view: View = { types: new Set(), required: new Set(), enumerated: false, format: undefined, minLength: undefined, pattern: undefined };
  if (typeof schema === 'boolean' || depth > 8) return view;
  const s = schema;
  const t = s['type'];
  for (const name of typeof t === 'string' ? [t] : Array.isArray(t) ? t : []) if (typeof name === 'string') view.types.add(name);
  if (Array.isArray(s['enum']) || has(s, 'const')) view.enumerated = true;
  if (Array.isArray(s['required'])) for (const name of s['required']) if (typeof name === 'string') view.required.add(name);
  if (typeof s['format'] === 'string') view.format = s['format'];
  if (typeof s['minLength'] === 'number') view.minLength = s['minLength'];
  if (typeof s['pattern'] === 'string') view.pattern = s['pattern'];
  const parts: JsonSchema[] = [];
  if (typeof s['$ref'] === 'string') {
    const target = resolveSampleRef(s['$ref'], g);
    if (target.ok) parts.push(target.value);
  }
  for (const k of ['allOf', 'anyOf', 'oneOf']) if (Array.isArray(s[k])) parts.push(...(s[k] as JsonSchema[]));
  for (const part of parts) {
    const sub = flatten(part, g, depth + 1);
    for (const type of sub.types) view.types.add(type);
    for (const name of sub.required) view.required.add(name);
    view.enumerated ||= sub.enumerated;
    view.format ??= sub.format;
    view.minLength ??= sub.minLength;
    view.pattern ??= sub.pattern;
  }
  return view;
}
