/**
 * Values for converted schemas (see schema.ts): random valid ones (seeded), "hostile but valid" ones (NUL
 * bytes, long strings, unicode, extreme dates and numbers), and invalid ones that break exactly one rule.
 * Every value is checked with the strict validator before it is used: a "valid" value the schema rejects is
 * never sent as valid, an "invalid" one it accepts never as invalid.
 */
import { validSample } from '../../../generators/create-api/samples/index.js';
import type { JsonSchema } from '../../../generators/core/ir/json-schema.js';
import type { Rng } from './rng.js';
import { DEFS_PREFIX, type Schema, type SchemaSet } from './schema.js';
import { isObject, type Obj } from '../../../generators/core/json.js';

function has(value: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(value, key);
}

function setKey(target: Obj, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export interface GenOptions {
  /** Prefer edge values (NUL bytes, long strings, unicode, extreme dates and numbers). */
  hostile: boolean;
  /** Only characters a header value can carry (printable ASCII). */
  headerSafe?: boolean;
}

const HOSTILE_STRINGS = [
  'a\u0000b',
  '\u0000',
  'é漢字🙂\u2028\u2029\u202e',
  `'"\`\${x}*/--;`,
  '../../etc/passwd',
  '<script>alert(1)</script>',
  ' ',
  '%00%zz',
  '\ud83d\ude00'.repeat(3),
  'DROP TABLE x; --',
];
const HEADER_STRINGS = [`'"\`\${x}*/--;`, '../../etc/passwd', '<script>', ' x ', 'DROP TABLE x; --', '%00%zz'];

const HOSTILE_DATES = ['0000-01-01', '0001-01-01', '9999-12-31', '1970-01-01', '2000-02-29', '4713-01-01'];
const HOSTILE_DATE_TIMES = [
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '1970-01-01T00:00:00+14:00',
  '2000-02-29T12:00:00.123456Z',
  '0001-01-01T00:00:00-12:00',
];

function randomDate(rng: Rng): string {
  const y = rng.int(1971, 2099);
  const m = rng.int(1, 12);
  const d = rng.int(1, 28);
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function randomTime(rng: Rng): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(rng.int(0, 23))}:${two(rng.int(0, 59))}:${two(rng.int(0, 59))}Z`;
}

function hex(rng: Rng, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += '0123456789abcdef'[rng.int(0, 15)];
  return out;
}

function uuid(rng: Rng): string {
  return `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-${rng.pick(['8', '9', 'a', 'b'])}${hex(rng, 3)}-${hex(rng, 12)}`;
}

function word(rng: Rng, min: number, max: number): string {
  const n = rng.int(min, max);
  let out = '';
  for (let i = 0; i < n; i++) out += 'abcdefghijklmnopqrstuvwxyz0123456789'[rng.int(0, 35)];
  return out;
}

function base64(text: string): string {
  return Buffer.from(text).toString('base64');
}

function formatValue(format: string, rng: Rng, opts: GenOptions): string | undefined {
  const hostile = opts.hostile && !opts.headerSafe;
  switch (format) {
    case 'date':
      return hostile && rng.chance(0.5) ? rng.pick(HOSTILE_DATES) : randomDate(rng);
    case 'date-time':
      return hostile && rng.chance(0.5) ? rng.pick(HOSTILE_DATE_TIMES) : `${randomDate(rng)}T${randomTime(rng)}`;
    case 'time':
      return randomTime(rng);
    case 'uuid':
      return uuid(rng);
    case 'email':
      return `${word(rng, 1, 10)}@example.com`;
    case 'uri':
    case 'url':
    case 'uri-reference':
    case 'iri':
    case 'iri-reference':
      return `https://example.com/${word(rng, 0, 10)}`;
    case 'hostname':
      return `${word(rng, 1, 10)}.example.com`;
    case 'ipv4':
      return `${rng.int(1, 254)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
    case 'ipv6':
      return `2001:db8::${hex(rng, 4)}`;
    case 'byte':
      return base64(word(rng, 0, 20));
    case 'duration':
      return `P${rng.int(1, 30)}D`;
    case 'int32':
    case 'int64':
    case 'float':
    case 'double':
      return undefined;
    default:
      return undefined;
  }
}

/** Truncates or pads to the length bounds (counted in code points, as JSON Schema does). */
function fitLength(text: string, min: number, max: number, rng: Rng): string {
  let points = [...text];
  if (points.length > max) points = points.slice(0, max);
  while (points.length < min) points.push('abcdefghij'[rng.int(0, 9)]!);
  return points.join('');
}

export class ValueGenerator {
  /** Fallbacks to the deterministic sampler (patterns, compositions this generator gives up on). */
  fallbacks = 0;
  private samplerDefs: Record<string, JsonSchema> | undefined;

  constructor(readonly schemas: SchemaSet) {}

  /** A value `schema` accepts, or `undefined` when none was found. */
  valid(schema: Schema, rng: Rng, opts: GenOptions): { value: unknown } | undefined {
    for (let attempt = 0; attempt < 6; attempt++) {
      const value = this.gen(schema, rng, { ...opts, hostile: opts.hostile && attempt < 3 }, 0);
      if (value !== NONE && this.schemas.valid(schema, value)) return { value };
    }
    // The deterministic sampler knows patterns and compositions this one does not.
    this.fallbacks++;
    try {
      this.samplerDefs ??= { ...(this.schemas.defs as Record<string, JsonSchema>) };
      const sample = validSample(schema as JsonSchema, this.samplerDefs, DEFS_PREFIX);
      if (sample.ok && this.schemas.valid(schema, sample.value)) return { value: sample.value };
    } catch {
      // no sample
    }
    return undefined;
  }

  private resolve(schema: Schema, depth: number): Schema {
    let s = schema;
    for (let i = 0; i < 10 && isObject(s) && typeof s['$ref'] === 'string' && Object.keys(s).length === 1; i++) {
      s = this.schemas.target(s['$ref']) ?? {};
    }
    return depth > 40 ? {} : s;
  }

  /** allOf parts (through $refs) merged into one schema, for objects mostly. */
  private merge(s: Obj, depth: number): Obj {
    const parts: Schema[] = [];
    const collect = (x: Schema, d: number) => {
      const r = this.resolve(x, depth + d);
      if (!isObject(r)) return;
      const own = { ...r };
      delete own['allOf'];
      parts.push(own);
      if (Array.isArray(r['allOf']) && d < 10) for (const p of r['allOf'] as Schema[]) collect(p, d + 1);
    };
    collect(s, 0);
    const out: Obj = {};
    const properties: Obj = {};
    const required = new Set<string>();
    for (const p of parts) {
      if (!isObject(p)) continue;
      for (const [k, v] of Object.entries(p)) {
        if (k === 'properties' && isObject(v)) {
          for (const [name, ps] of Object.entries(v)) {
            if (has(properties, name)) setKey(properties, name, { allOf: [properties[name], ps] });
            else setKey(properties, name, ps);
          }
        } else if (k === 'required' && Array.isArray(v)) {
          for (const r of v) required.add(String(r));
        } else if (k === 'additionalProperties' && v !== false && has(out, k)) {
          // keep the stricter one
        } else if (k === '$ref') {
          // resolved above
        } else {
          setKey(out, k, v);
        }
      }
    }
    if (Object.keys(properties).length > 0) out['properties'] = properties;
    if (required.size > 0) out['required'] = [...required];
    return out;
  }

  private gen(schema: Schema, rng: Rng, opts: GenOptions, depth: number): unknown {
    if (depth > 12) return NONE;
    if (schema === true) return this.gen({ type: rng.pick(['string', 'integer', 'boolean']) }, rng, opts, depth + 1);
    if (schema === false) return NONE;
    let s: Obj = schema;
    if (typeof s['$ref'] === 'string' || Array.isArray(s['allOf'])) s = this.merge(s, depth);
    if (Array.isArray(s['oneOf']) || Array.isArray(s['anyOf'])) {
      const branches = (Array.isArray(s['oneOf']) ? s['oneOf'] : s['anyOf']) as Schema[];
      const rest = { ...s };
      delete rest['oneOf'];
      delete rest['anyOf'];
      const branch = rng.pick(branches);
      const merged = this.merge({ allOf: [rest, branch] }, depth);
      return this.gen(merged, rng, opts, depth + 1);
    }
    if (has(s, 'const')) return s['const'];
    if (Array.isArray(s['enum']) && s['enum'].length > 0) {
      const nonNull = s['enum'].filter((v) => v !== null);
      if (nonNull.length > 0 && !(opts.hostile && rng.chance(0.1))) return rng.pick(nonNull);
      return rng.pick(s['enum']);
    }
    let types: string[];
    if (typeof s['type'] === 'string') types = [s['type']];
    else if (Array.isArray(s['type'])) types = s['type'].filter((t): t is string => typeof t === 'string');
    else types = inferTypes(s);
    if (types.length === 0) return NONE;
    const nonNull = types.filter((t) => t !== 'null');
    const type = nonNull.length === 0 || (types.includes('null') && rng.chance(opts.hostile ? 0.3 : 0.1)) ? 'null' : rng.pick(nonNull);
    switch (type) {
      case 'null':
        return null;
      case 'boolean':
        return rng.chance(0.5);
      case 'integer':
      case 'number':
        return this.number(s, type === 'integer', rng, opts);
      case 'string':
        return this.string(s, rng, opts);
      case 'array':
        return this.array(s, rng, opts, depth);
      case 'object':
        return this.object(s, rng, opts, depth);
      default:
        return NONE;
    }
  }

  private number(s: Obj, integer: boolean, rng: Rng, opts: GenOptions): unknown {
    const format = typeof s['format'] === 'string' ? s['format'] : undefined;
    let lo = -1e308;
    let hi = 1e308;
    if (integer || format === 'int64') {
      lo = Number.MIN_SAFE_INTEGER;
      hi = Number.MAX_SAFE_INTEGER;
    }
    if (format === 'int32') {
      lo = -2147483648;
      hi = 2147483647;
    }
    if (typeof s['minimum'] === 'number') lo = Math.max(lo, s['minimum']);
    if (typeof s['maximum'] === 'number') hi = Math.min(hi, s['maximum']);
    const step = integer ? 1 : 0.5;
    if (typeof s['exclusiveMinimum'] === 'number') lo = Math.max(lo, s['exclusiveMinimum'] + step);
    if (typeof s['exclusiveMaximum'] === 'number') hi = Math.min(hi, s['exclusiveMaximum'] - step);
    if (integer) {
      lo = Math.ceil(lo);
      hi = Math.floor(hi);
    }
    if (lo > hi) return NONE;
    const multipleOf = typeof s['multipleOf'] === 'number' && s['multipleOf'] > 0 ? s['multipleOf'] : undefined;
    let value: number;
    if (opts.hostile && rng.chance(0.6)) {
      value = rng.pick([lo, hi, 0, 1, -1, 2147483647, -2147483648, Number.MAX_SAFE_INTEGER, 1e308, -1e308, 5e-324, 0.1 + 0.2, 1e21]);
    } else {
      const a = Math.max(lo, -1000);
      const b = Math.min(hi, 1000);
      const [x, y] = a <= b ? [a, b] : [lo, hi];
      value = integer ? Math.floor(x + rng.next() * (y - x + 1)) : Math.round((x + rng.next() * (y - x)) * 100) / 100;
    }
    if (integer) value = Math.round(value);
    value = Math.min(hi, Math.max(lo, value));
    if (multipleOf !== undefined) {
      value = Math.ceil(lo / multipleOf) * multipleOf + multipleOf * rng.int(0, 5);
      if (value > hi) value = Math.ceil(lo / multipleOf) * multipleOf;
    }
    if (Object.is(value, -0)) value = 0;
    return value;
  }

  private string(s: Obj, rng: Rng, opts: GenOptions): unknown {
    const min = typeof s['minLength'] === 'number' ? s['minLength'] : 0;
    const max = typeof s['maxLength'] === 'number' ? s['maxLength'] : Infinity;
    if (typeof s['pattern'] === 'string') return this.patternString(s['pattern'], min, max);
    const format = typeof s['format'] === 'string' ? s['format'] : undefined;
    if (format !== undefined) {
      const v = formatValue(format, rng, opts);
      if (v !== undefined) return v;
    }
    let text: string;
    if (opts.hostile && rng.chance(0.7)) {
      // Long and incompressible (a unique index on it must still hold it).
      if (rng.chance(0.25)) text = word(rng, Math.min(max, 3000), Math.min(max, 3000));
      else text = rng.pick(opts.headerSafe ? HEADER_STRINGS : HOSTILE_STRINGS);
    } else {
      text = word(rng, Math.max(1, min), Math.min(max, min + 12));
    }
    return fitLength(text, min, max, rng);
  }

  private readonly patterns = new Map<string, unknown>();

  /** A string matching `pattern` within the bounds, from the deterministic sampler (cached). */
  private patternString(pattern: string, min: number, max: number): unknown {
    const key = `${min} ${max} ${pattern}`;
    if (!this.patterns.has(key)) {
      const schema: JsonSchema = {
        type: 'string',
        pattern,
        ...(min > 0 ? { minLength: min } : {}),
        ...(Number.isFinite(max) ? { maxLength: max } : {}),
      };
      let value: unknown = NONE;
      try {
        const sample = validSample(schema, {}, DEFS_PREFIX);
        if (sample.ok) value = sample.value;
      } catch {
        // none
      }
      this.patterns.set(key, value);
    }
    return this.patterns.get(key);
  }

  private array(s: Obj, rng: Rng, opts: GenOptions, depth: number): unknown {
    const min = typeof s['minItems'] === 'number' ? s['minItems'] : 0;
    const max = typeof s['maxItems'] === 'number' ? s['maxItems'] : Infinity;
    const prefix = Array.isArray(s['prefixItems']) ? (s['prefixItems'] as Schema[]) : [];
    const items = s['items'] === undefined ? {} : (s['items'] as Schema);
    const n = Math.min(max, min + rng.int(0, depth > 3 ? 0 : 3), Math.max(min, 30));
    const out: unknown[] = [];
    const seen = new Set<string>();
    for (let i = 0, tries = 0; out.length < n && tries < n * 4 + 4; tries++) {
      const v = this.gen(i < prefix.length ? prefix[i]! : items, rng, opts, depth + 1);
      if (v === NONE) return out.length >= min ? out : NONE;
      if (s['uniqueItems'] === true) {
        const key = JSON.stringify(v);
        if (seen.has(key)) continue;
        seen.add(key);
      }
      out.push(v);
      i++;
    }
    return out;
  }

  private object(s: Obj, rng: Rng, opts: GenOptions, depth: number): unknown {
    const properties = isObject(s['properties']) ? s['properties'] : {};
    const required = Array.isArray(s['required']) ? (s['required'] as unknown[]).map(String) : [];
    const maxProperties = typeof s['maxProperties'] === 'number' ? s['maxProperties'] : Infinity;
    const minProperties = typeof s['minProperties'] === 'number' ? s['minProperties'] : 0;
    const out: Obj = {};
    for (const name of required) {
      const v = this.gen(
        has(properties, name) ? (properties[name] as Schema) : s['additionalProperties'] === undefined ? {} : (s['additionalProperties'] as Schema),
        rng,
        opts,
        depth + 1,
      );
      if (v === NONE) return NONE;
      setKey(out, name, v);
    }
    const optional = Object.keys(properties).filter((n) => !required.includes(n));
    const p = depth > 4 ? 0 : depth > 2 ? 0.2 : 0.6;
    for (const name of optional) {
      if (Object.keys(out).length >= maxProperties) break;
      const needed = Object.keys(out).length < minProperties;
      if (!needed && !rng.chance(p)) continue;
      const v = this.gen(properties[name] as Schema, rng, opts, depth + 1);
      if (v !== NONE) setKey(out, name, v);
    }
    return out;
  }
}

const NONE = Symbol('none');

function inferTypes(s: Obj): string[] {
  const keys = Object.keys(s);
  if (keys.some((k) => ['properties', 'required', 'additionalProperties', 'patternProperties', 'minProperties', 'maxProperties'].includes(k)))
    return ['object'];
  if (keys.some((k) => ['items', 'prefixItems', 'minItems', 'maxItems', 'uniqueItems'].includes(k))) return ['array'];
  if (keys.some((k) => ['minLength', 'maxLength', 'pattern', 'format'].includes(k))) return ['string'];
  if (keys.some((k) => ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'].includes(k))) return ['number'];
  if (keys.length === 0 || keys.every((k) => ['not', 'if', 'then', 'else'].includes(k))) return ['string', 'integer', 'boolean', 'object'];
  return ['string'];
}

/** A schema's top-level facts, through `$ref` and `allOf`, for building one-rule violations. */
export interface Facts {
  types: Set<string>;
  enumerated: boolean;
  format: string | undefined;
  minLength: number | undefined;
  maxLength: number | undefined;
  pattern: string | undefined;
  minimum: number | undefined;
  maximum: number | undefined;
  properties: Obj;
  required: string[];
  closed: boolean;
  maxItems: number | undefined;
  minItems: number | undefined;
  items: Schema | undefined;
}

export function facts(schemas: SchemaSet, schema: Schema): Facts {
  const f: Facts = {
    types: new Set(),
    enumerated: false,
    format: undefined,
    minLength: undefined,
    maxLength: undefined,
    pattern: undefined,
    minimum: undefined,
    maximum: undefined,
    properties: {},
    required: [],
    closed: false,
    maxItems: undefined,
    minItems: undefined,
    items: undefined,
  };
  const visit = (x: Schema, depth: number) => {
    if (!isObject(x) || depth > 10) return;
    if (typeof x['$ref'] === 'string') visit(schemas.target(x['$ref']) ?? {}, depth + 1);
    if (Array.isArray(x['allOf'])) for (const p of x['allOf'] as Schema[]) visit(p, depth + 1);
    const t = x['type'];
    for (const name of typeof t === 'string' ? [t] : Array.isArray(t) ? t : []) f.types.add(String(name));
    if (Array.isArray(x['enum']) || has(x, 'const')) f.enumerated = true;
    if (typeof x['format'] === 'string') f.format ??= x['format'];
    if (typeof x['minLength'] === 'number') f.minLength ??= x['minLength'];
    if (typeof x['maxLength'] === 'number') f.maxLength ??= x['maxLength'];
    if (typeof x['pattern'] === 'string') f.pattern ??= x['pattern'];
    if (typeof x['minimum'] === 'number') f.minimum ??= x['minimum'];
    if (typeof x['exclusiveMinimum'] === 'number') f.minimum ??= x['exclusiveMinimum'];
    if (typeof x['maximum'] === 'number') f.maximum ??= x['maximum'];
    if (typeof x['exclusiveMaximum'] === 'number') f.maximum ??= x['exclusiveMaximum'];
    if (typeof x['maxItems'] === 'number') f.maxItems ??= x['maxItems'];
    if (typeof x['minItems'] === 'number') f.minItems ??= x['minItems'];
    if (x['items'] !== undefined && typeof x['items'] !== 'boolean') f.items ??= x['items'] as Schema;
    if (isObject(x['properties'])) for (const [k, v] of Object.entries(x['properties'])) if (!has(f.properties, k)) setKey(f.properties, k, v);
    if (Array.isArray(x['required'])) f.required.push(...(x['required'] as unknown[]).map(String));
    if (x['additionalProperties'] === false || x['unevaluatedProperties'] === false) f.closed = true;
  };
  visit(schema, 0);
  return f;
}

export interface Violation {
  value: unknown;
  /** What rule it breaks, e.g. `wrong type (string for integer)`. */
  what: string;
}

/**
 * Scalar candidates that break one rule of `schema` (checked by the caller against the whole value): wrong
 * type, null, enum, length, pattern, format, range.
 */
export function scalarViolations(schemas: SchemaSet, schema: Schema): Violation[] {
  const f = facts(schemas, schema);
  const out: Violation[] = [];
  const types = [...f.types];
  if (f.enumerated) out.push({ value: 'zz-not-in-enum', what: 'not one of the enum values' });
  if (types.includes('string') || types.length === 0) {
    if (f.maxLength !== undefined) out.push({ value: 'x'.repeat(f.maxLength + 1), what: `longer than maxLength ${f.maxLength}` });
    if (f.minLength !== undefined && f.minLength > 0) out.push({ value: 'x'.repeat(f.minLength - 1), what: `shorter than minLength ${f.minLength}` });
    if (f.pattern !== undefined)
      for (const v of ['!', ' ', '~~~ ~~~', '']) out.push({ value: v, what: `does not match pattern ${f.pattern.slice(0, 30)}` });
    if (f.format !== undefined && !['password', 'binary'].includes(f.format)) {
      out.push({ value: `not-a-${f.format}`, what: `not a valid ${f.format}` });
      if (f.format === 'date')
        out.push({ value: '2024-02-30', what: 'not a valid date (Feb 30)' }, { value: '12345-01-01', what: 'not a valid date (5-digit year)' });
      if (f.format === 'date-time') out.push({ value: '2024-01-15', what: 'not a valid date-time (date only)' });
    }
  }
  if (types.includes('integer') || types.includes('number')) {
    if (f.maximum !== undefined) out.push({ value: f.maximum + 1, what: `above maximum ${f.maximum}` });
    if (f.minimum !== undefined) out.push({ value: f.minimum - 1, what: `below minimum ${f.minimum}` });
    if (types.includes('integer') && !types.includes('number')) out.push({ value: 1.5, what: 'not an integer' });
    if (f.format === 'int32') out.push({ value: 2147483648, what: 'outside int32' });
  }
  const wrong: unknown[] = [];
  for (const t of types) {
    if (t === 'string') wrong.push(12, true);
    if (t === 'integer' || t === 'number') wrong.push('12', true);
    if (t === 'boolean') wrong.push('true', 1);
    if (t === 'object') wrong.push([], 'x');
    if (t === 'array') wrong.push({}, 'x');
  }
  wrong.push({}, [], 'x', 7, false);
  for (const v of wrong) out.push({ value: v, what: `wrong type (${typeName(v)}${types.length ? ` for ${types.join('|')}` : ''})` });
  out.push({ value: null, what: 'null where not nullable' });
  return out;
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
