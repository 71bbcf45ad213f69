/** What the valid- and invalid-sample builders share: the result type, the generation state and small helpers. */
import type { JsonSchema } from '../../core/ir/json-schema.js';
import { isObject } from '../../core/json.js';
import { COMPILE_ERROR, type Check } from './ajv-cache.js';

export type Sample = { ok: true; value: unknown } | { ok: false; reason: string };
export type SchemaObject = { [keyword: string]: unknown };
export interface Gen {
  defs: Record<string, JsonSchema>;
  refPrefix: string;
  check: (schema: JsonSchema, value: unknown) => Check;
  refs: string[];
}
export function resolveSampleRef(ref: string, g: Gen): { ok: true; value: JsonSchema } | { ok: false; reason: string } {
  if (!ref.startsWith(g.refPrefix)) {
    return { ok: false, reason: `$ref "${ref}" does not point into the shared schemas (${g.refPrefix}…)` };
  }
  const tokens = ref
    .slice(g.refPrefix.length)
    .split('/')
    .map((t) => {
      let decoded = t;
      try {
        decoded = decodeURIComponent(t);
      } catch {
        // keep it literal
      }
      return decoded.replace(/~1/g, '/').replace(/~0/g, '~');
    });
  let node: unknown = g.defs;
  for (const token of tokens) {
    if (Array.isArray(node) && /^(0|[1-9][0-9]*)$/.test(token)) node = node[Number(token)];
    else if (isObject(node) && has(node, token)) node = node[token];
    else return { ok: false, reason: `$ref "${ref}" points at nothing` };
  }
  if (typeof node !== 'boolean' && !isObject(node)) return { ok: false, reason: `$ref "${ref}" does not point at a schema` };
  return { ok: true, value: node };
}
/** Why the schema does not compile, if it does not. */
export function compileError(schema: JsonSchema, g: Gen): string | undefined {
  const check = g.check(schema, null);
  return !check.valid && check.message.startsWith(COMPILE_ERROR) ? check.message : undefined;
}
export function accepts(schema: JsonSchema, value: unknown, g: Gen): boolean {
  return g.check(schema, value).valid;
}

export function has(value: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(value, key);
}
export function without(s: SchemaObject, keys: string[]): SchemaObject {
  const out: SchemaObject = {};
  for (const key of Object.keys(s)) {
    if (!keys.includes(key)) Object.defineProperty(out, key, { value: s[key], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Has no keyword that constrains the value (annotations only). */
export function isEmptySchema(s: SchemaObject): boolean {
  return Object.keys(s).every((k) => ['default', 'readOnly', 'writeOnly', 'deprecated', '$defs', 'title', 'description'].includes(k));
}

export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return `a ${typeof value}`;
}

export function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
