/**
 * Sample values for converted schemas (see `json-schema.ts`): one the schema accepts and one it rejects, as
 * fastify's request validation sees them. Every answer is checked with an Ajv instance configured like
 * fastify's, so a sample is never a guess: when no candidate passes the check the answer is `ok: false` with
 * the reason.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { JsonSchema } from './json-schema.js';

export type Sample = { ok: true; value: unknown } | { ok: false; reason: string };

/** The `$id` under which `defs` are registered (as `$defs`) in the validator. */
export const SAMPLES_SCHEMA_ID = 'backdev-schemas';

const addFormats = addFormatsModule.default;

type SchemaObject = { [keyword: string]: unknown };

// ---------------------------------------------------------------------------------------------------------
// Validator

interface Compiler {
  compile(schema: JsonSchema): ValidateFunction;
}

const compilers = new WeakMap<object, Compiler>();

function compilerFor(defs: Record<string, JsonSchema>): Compiler {
  const cached = compilers.get(defs);
  if (cached) return cached;
  // fastify 5's defaults (@fastify/ajv-compiler) + all ajv-formats; strict mode stays on. Only the logger is
  // silenced (strict "log" findings such as union types are not errors).
  const ajv = new Ajv({
    coerceTypes: 'array',
    useDefaults: true,
    removeAdditional: true,
    // As the generated server validates bodies: `required` and `properties` look at a body's own keys only.
    ownProperties: true,
    addUsedSchema: false,
    allErrors: false,
    logger: false,
    // These validators run a handful of times each: compiling fast matters more than running fast (code
    // optimisation was most of the time on specs with thousands of operations).
    code: { optimize: false },
  });
  addFormats(ajv);
  ajv.addSchema({ $id: SAMPLES_SCHEMA_ID, $defs: defs });
  const byObject = new WeakMap<object, ValidateFunction>();
  const byBoolean = new Map<boolean, ValidateFunction>();
  const byText = new Map<string, ValidateFunction>();
  const compiler: Compiler = {
    compile(schema) {
      if (typeof schema === 'boolean') {
        let fn = byBoolean.get(schema);
        if (!fn) byBoolean.set(schema, (fn = ajv.compile(schema)));
        return fn;
      }
      let fn = byObject.get(schema);
      if (!fn) {
        // Equal schemas met as different objects (each operation converts its own) compile once.
        const key = JSON.stringify(schema);
        fn = byText.get(key);
        if (fn) {
          byObject.set(schema, fn);
          return fn;
        }
        // A root `default` never applies and Ajv's strict mode rejects it; it does not change what is valid.
        let root = schema;
        if (Object.prototype.hasOwnProperty.call(schema, 'default')) {
          root = { ...schema };
          delete root['default'];
        }
        fn = ajv.compile(root);
        byObject.set(schema, fn);
        byText.set(key, fn);
      }
      return fn;
    },
  };
  compilers.set(defs, compiler);
  return compiler;
}

/**
 * A validator configured like fastify's request validation (Ajv 8, `coerceTypes: 'array'`, `useDefaults`,
 * `removeAdditional`, ajv-formats, strict mode) with `defs` registered under `$id: 'backdev-schemas'` as
 * `$defs`; cached per `defs` object. Values are validated as a `structuredClone` (Ajv mutates what it checks).
 * Throws when the schema does not compile.
 */
export function createValidator(defs: Record<string, JsonSchema>): (schema: JsonSchema, value: unknown) => boolean {
  const compiler = compilerFor(defs);
  return (schema, value) => compiler.compile(schema)(structuredClone(value)) === true;
}

const COMPILE_ERROR = 'the schema does not compile';

type Check = { valid: true } | { valid: false; message: string };

function checker(defs: Record<string, JsonSchema>): (schema: JsonSchema, value: unknown) => Check {
  const compiler = compilerFor(defs);
  return (schema, value) => {
    let fn: ValidateFunction;
    try {
      fn = compiler.compile(schema);
    } catch (error) {
      return { valid: false, message: `${COMPILE_ERROR}: ${(error as Error).message}` };
    }
    if (fn(structuredClone(value)) === true) return { valid: true };
    return { valid: false, message: errorText(fn.errors) };
  };
}

function errorText(errors: ErrorObject[] | null | undefined): string {
  const first = errors?.[0];
  if (!first) return 'rejected';
  return `${first.instancePath === '' ? 'the value' : first.instancePath} ${first.message ?? 'is invalid'}`;
}

// ---------------------------------------------------------------------------------------------------------
// Valid samples

/** How many times one `$ref` may be open at once while generating (recursive schemas). */
const MAX_REF_DEPTH = 3;

interface Gen {
  defs: Record<string, JsonSchema>;
  refPrefix: string;
  check: (schema: JsonSchema, value: unknown) => Check;
  refs: string[];
}

/**
 * A value the converted schema accepts (validated with an Ajv instance configured like fastify's, with `defs`
 * registered under `$id: 'backdev-schemas'` as `$defs`). Minimal: only required properties.
 */
export function validSample(schema: JsonSchema, defs: Record<string, JsonSchema>, refPrefix: string): Sample {
  const g: Gen = { defs, refPrefix, check: checker(defs), refs: [] };
  const broken = compileError(schema, g);
  if (broken !== undefined) return { ok: false, reason: broken };
  let result: Sample;
  try {
    result = generate(schema, g, 0);
  } catch (error) {
    return { ok: false, reason: `no sample: ${(error as Error).message}` };
  }
  if (!result.ok) return result;
  const check = g.check(schema, result.value);
  if (!check.valid) return { ok: false, reason: `the generated value ${preview(result.value)} is rejected: ${check.message}` };
  return result;
}

/** A sample for `schema`; `variant` > 0 asks for a different value (for `uniqueItems`). */
function generate(schema: JsonSchema, g: Gen, variant: number): Sample {
  if (schema === true) return { ok: true, value: variant === 0 ? 'sample' : `sample ${variant}` };
  if (schema === false) return { ok: false, reason: 'the schema accepts no value' };
  const s = schema;

  // Candidates that need no construction.
  const literals: unknown[] = [];
  if (has(s, 'const')) literals.push(s['const']);
  if (Array.isArray(s['enum'])) {
    const values = s['enum'];
    const nonNull = values.filter((v) => v !== null);
    const pool = nonNull.length > 0 ? nonNull : values;
    if (pool.length > 0) literals.push(pool[variant % pool.length]);
  }
  if (has(s, 'default') && variant === 0) literals.push(s['default']);
  for (const value of literals) {
    if (accepts(s, value, g)) return { ok: true, value };
  }
  if (literals.length > 0 && (has(s, 'const') || has(s, 'enum'))) {
    return { ok: false, reason: `no value of ${has(s, 'const') ? 'const' : 'enum'} is accepted by the rest of the schema` };
  }

  // $ref (with any sibling keywords): the target, merged with the rest.
  if (typeof s['$ref'] === 'string') {
    const ref = s['$ref'];
    const open = g.refs.filter((r) => r === ref).length;
    if (open >= MAX_REF_DEPTH) {
      return { ok: false, reason: `$ref "${ref}" requires a value of itself (a required recursive property) — no finite sample` };
    }
    const target = resolveSampleRef(ref, g);
    if (!target.ok) return target;
    g.refs.push(ref);
    try {
      const rest = without(s, ['$ref']);
      return combine([target.value, ...(isEmptySchema(rest) ? [] : [rest])], s, g, variant);
    } finally {
      g.refs.pop();
    }
  }

  // allOf / anyOf / oneOf: samples of the branches merged with the schema's own keywords.
  const own = without(s, ['allOf', 'anyOf', 'oneOf']);
  const allOf = Array.isArray(s['allOf']) ? (s['allOf'] as JsonSchema[]) : [];
  const alternatives = [
    ...(Array.isArray(s['oneOf']) ? [s['oneOf'] as JsonSchema[]] : []),
    ...(Array.isArray(s['anyOf']) ? [s['anyOf'] as JsonSchema[]] : []),
  ];
  if (allOf.length > 0 || alternatives.length > 0) {
    const base = [...(isEmptySchema(own) ? [] : [own]), ...allOf];
    if (alternatives.length === 0) return combine(base, s, g, variant);
    const reasons: string[] = [];
    for (const picks of choices(alternatives)) {
      const result = combine([...base, ...picks], s, g, variant);
      if (result.ok) return result;
      reasons.push(result.reason);
    }
    return { ok: false, reason: `no branch of ${has(s, 'oneOf') ? 'oneOf' : 'anyOf'} gives an accepted value (${reasons[0] ?? 'no branch'})` };
  }

  return generatePlain(s, g, variant);
}

/** A value all of `parts` accept, checked against `whole` (so that oneOf's "exactly one" holds). */
function combine(parts: JsonSchema[], whole: SchemaObject, g: Gen, variant: number): Sample {
  let merged: unknown;
  let first = true;
  for (const part of parts) {
    const sample = generate(part, g, variant);
    if (!sample.ok) return sample;
    if (first) {
      merged = sample.value;
      first = false;
    } else if (isPlainObject(merged) && isPlainObject(sample.value)) {
      merged = { ...merged, ...sample.value };
    } else if (!accepts(part, merged, g)) {
      // Two scalar parts disagree: keep the later one if it also satisfies the earlier parts.
      merged = sample.value;
    }
  }
  if (first) merged = 'sample';
  const check = g.check(whole, merged);
  if (check.valid) return { ok: true, value: merged };
  return { ok: false, reason: `${preview(merged)} is rejected: ${check.message}` };
}

/** Every way to pick one branch of each alternative list (first branches first). */
function* choices(lists: JsonSchema[][]): Generator<JsonSchema[]> {
  const [head, ...tail] = lists;
  if (head === undefined) {
    yield [];
    return;
  }
  for (const branch of head) for (const rest of choices(tail)) yield [branch, ...rest];
}

function resolveSampleRef(ref: string, g: Gen): { ok: true; value: JsonSchema } | { ok: false; reason: string } {
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
    else if (isPlainObject(node) && has(node, token)) node = node[token];
    else return { ok: false, reason: `$ref "${ref}" points at nothing` };
  }
  if (typeof node !== 'boolean' && !isPlainObject(node)) return { ok: false, reason: `$ref "${ref}" does not point at a schema` };
  return { ok: true, value: node };
}

function generatePlain(s: SchemaObject, g: Gen, variant: number): Sample {
  const types = typesOf(s);
  const reasons: string[] = [];
  for (const type of types) {
    const sample = byType(type, s, g, variant);
    if (sample.ok) {
      const check = g.check(s, sample.value);
      if (check.valid) return sample;
      reasons.push(`${preview(sample.value)} is rejected: ${check.message}`);
    } else {
      reasons.push(sample.reason);
    }
  }
  return { ok: false, reason: reasons[0] ?? 'no type to sample' };
}

/** The JSON types to try for a schema without `const`/`enum`/composition, most useful first. */
function typesOf(s: SchemaObject): string[] {
  const declared = typeof s['type'] === 'string' ? [s['type']] : Array.isArray(s['type']) ? (s['type'] as unknown[]) : [];
  const names = declared.filter((t): t is string => typeof t === 'string');
  if (names.length > 0) {
    const nonNull = names.filter((t) => t !== 'null');
    return [...nonNull, ...names.filter((t) => t === 'null')];
  }
  if (['properties', 'required', 'additionalProperties', 'patternProperties', 'minProperties', 'maxProperties', 'propertyNames'].some((k) => has(s, k))) return ['object'];
  if (['items', 'minItems', 'maxItems', 'uniqueItems', 'contains', 'additionalItems'].some((k) => has(s, k))) return ['array'];
  if (['minLength', 'maxLength', 'pattern'].some((k) => has(s, k))) return ['string'];
  if (typeof s['format'] === 'string') return NUMBER_FORMATS.has(s['format']) ? ['number'] : ['string'];
  if (['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'].some((k) => has(s, k))) return ['number'];
  return ['string', 'integer', 'boolean', 'object', 'array', 'null'];
}

function byType(type: string, s: SchemaObject, g: Gen, variant: number): Sample {
  switch (type) {
    case 'string':
      return sampleString(s, variant);
    case 'integer':
    case 'number':
      return sampleNumber(s, type === 'integer', variant);
    case 'boolean':
      return { ok: true, value: variant % 2 === 0 };
    case 'null':
      return { ok: true, value: null };
    case 'array':
      return sampleArray(s, g, variant);
    case 'object':
      return sampleObject(s, g, variant);
    default:
      return { ok: false, reason: `unknown type "${type}"` };
  }
}

const NUMBER_FORMATS: ReadonlySet<string> = new Set(['int32', 'int64', 'float', 'double']);

const FORMAT_SAMPLES: Readonly<Record<string, string>> = {
  email: 'user@example.com',
  uuid: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
  date: '2024-01-15',
  time: '10:00:00Z',
  'date-time': '2024-01-15T10:00:00Z',
  'iso-time': '10:00:00Z',
  'iso-date-time': '2024-01-15T10:00:00Z',
  duration: 'P1D',
  uri: 'https://example.com',
  'uri-reference': 'https://example.com/path',
  'uri-template': 'https://example.com/{id}',
  url: 'https://example.com',
  hostname: 'example.com',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
  regex: '^[a-z]+$',
  'json-pointer': '/path/0',
  'json-pointer-uri-fragment': '#/path/0',
  'relative-json-pointer': '0/path',
  byte: 'c2FtcGxl',
  password: 'password',
  binary: 'binary',
};

function sampleString(s: SchemaObject, variant: number): Sample {
  const minLength = typeof s['minLength'] === 'number' ? s['minLength'] : 0;
  const maxLength = typeof s['maxLength'] === 'number' ? s['maxLength'] : Infinity;
  const format = typeof s['format'] === 'string' ? s['format'] : undefined;
  const pattern = typeof s['pattern'] === 'string' ? s['pattern'] : undefined;
  const fits = (v: string) => {
    const length = [...v].length;
    return length >= minLength && length <= maxLength;
  };
  if (format !== undefined && FORMAT_SAMPLES[format] !== undefined && !NUMBER_FORMATS.has(format)) {
    const base = FORMAT_SAMPLES[format];
    const candidates = variant === 0 ? [base] : [formatVariant(format, base, variant), base];
    for (const c of candidates) {
      if (fits(c) && (pattern === undefined || testPattern(pattern, c))) return { ok: true, value: c };
    }
    return { ok: false, reason: `no sample for format "${format}" within the length bounds${pattern ? ' and pattern' : ''}` };
  }
  if (pattern !== undefined) {
    const candidates = patternCandidates(pattern, minLength, variant);
    for (const c of candidates) {
      if (fits(c) && testPattern(pattern, c)) return { ok: true, value: c };
    }
    return { ok: false, reason: `no simple string matches the pattern ${JSON.stringify(pattern)}` };
  }
  let value = variant === 0 ? 'string' : `string${variant}`;
  if ([...value].length < minLength) value = value + 'x'.repeat(minLength - [...value].length);
  if ([...value].length > maxLength) value = [...value].slice(0, maxLength).join('');
  if (variant > 0 && maxLength < 8) {
    // Short strings: vary the characters instead of appending.
    const alphabet = 'abcdefghijklmnopqrstuvwxyz';
    value = [...value].map((ch, i) => (i === 0 ? alphabet[variant % alphabet.length] ?? ch : ch)).join('');
  }
  return fits(value) ? { ok: true, value } : { ok: false, reason: `minLength ${minLength} is greater than maxLength ${maxLength}` };
}

function formatVariant(format: string, base: string, variant: number): string {
  switch (format) {
    case 'email':
      return `user${variant}@example.com`;
    case 'uuid':
      return `3fa85f64-5717-4562-b3fc-${(0x2c963f66afa6 + variant).toString(16).padStart(12, '0').slice(-12)}`;
    case 'date':
      return `2024-01-${String(15 + (variant % 14)).padStart(2, '0')}`;
    case 'date-time':
    case 'iso-date-time':
      return `2024-01-${String(15 + (variant % 14)).padStart(2, '0')}T10:00:00Z`;
    case 'uri':
    case 'url':
    case 'uri-reference':
      return `https://example.com/${variant}`;
    case 'hostname':
      return `host${variant}.example.com`;
    case 'ipv4':
      return `192.0.2.${(variant % 254) + 1}`;
    default:
      return base;
  }
}

function testPattern(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(value);
  } catch {
    return false;
  }
}

function patternCandidates(pattern: string, minLength: number, variant: number): string[] {
  const out: string[] = [];
  for (let extra = 0; extra <= Math.max(3, minLength); extra++) {
    const built = buildFromPattern(pattern, extra);
    if (built !== undefined) out.push(built);
  }
  const simple = ['sample', 'a', 'abc', 'A', 'ABC', 'Abc', '1', '123', 'a1', 'abc123', 'A1', 'a-b', 'a_b', 'a.b', 'x@y.z', ''];
  out.push(...simple);
  if (variant > 0) return [...new Set(out.map((c) => varyMatching(pattern, c, variant)).concat(out))];
  return [...new Set(out)];
}

/** Tries to change a matching candidate for uniqueItems (`a` → `b`…), keeping it matching. */
function varyMatching(pattern: string, candidate: string, variant: number): string {
  const chars = [...candidate];
  for (let i = chars.length - 1; i >= 0; i--) {
    const ch = chars[i] as string;
    const pool = /[0-9]/.test(ch) ? '0123456789' : /[a-z]/.test(ch) ? 'abcdefghijklmnopqrstuvwxyz' : /[A-Z]/.test(ch) ? 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' : '';
    if (pool === '') continue;
    const next = pool[(pool.indexOf(ch) + variant) % pool.length] as string;
    const copy = [...chars];
    copy[i] = next;
    const text = copy.join('');
    if (testPattern(pattern, text)) return text;
  }
  return candidate;
}

/**
 * A string for a simple regular expression: literals, escapes (\d \w \s \. …), classes, groups with
 * alternatives (first one), quantifiers (their minimum, plus `extra` for open-ended ones). `undefined` for
 * anything else (look-arounds, back-references).
 */
function buildFromPattern(pattern: string, extra: number): string | undefined {
  let i = 0;
  const src = [...pattern];

  function parseAlternatives(): string | undefined {
    const first = parseSequence();
    if (first === undefined) return undefined;
    // skip the other alternatives
    while (src[i] === '|') {
      i++;
      if (parseSequence() === undefined) return undefined;
    }
    return first;
  }

  function parseSequence(): string | undefined {
    let out = '';
    while (i < src.length && src[i] !== '|' && src[i] !== ')') {
      const atom = parseAtom();
      if (atom === undefined) return undefined;
      const q = parseQuantifier();
      if (q === undefined) return undefined;
      out += atom.repeat(q);
    }
    return out;
  }

  function parseQuantifier(): number | undefined {
    const ch = src[i];
    let count = 1;
    if (ch === '?') {
      i++;
      count = 0;
    } else if (ch === '*') {
      i++;
      count = extra;
    } else if (ch === '+') {
      i++;
      count = 1 + extra;
    } else if (ch === '{') {
      const rest = src.slice(i).join('');
      const m = /^\{(\d+)(,(\d*))?\}/.exec(rest);
      if (!m) return 1; // a literal "{"
      i += [...m[0]].length;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' || m[3] === undefined ? Infinity : Number(m[3]);
      count = Math.min(max, min + extra);
    }
    if (src[i] === '?') i++; // lazy
    return count;
  }

  function parseAtom(): string | undefined {
    const ch = src[i];
    if (ch === undefined) return undefined;
    if (ch === '^' || ch === '$') {
      i++;
      return '';
    }
    if (ch === '(') {
      i++;
      if (src[i] === '?') {
        if (src[i + 1] === ':') i += 2;
        else return undefined; // look-around or named group
      }
      const inner = parseAlternatives();
      if (inner === undefined || src[i] !== ')') return undefined;
      i++;
      return inner;
    }
    if (ch === '[') return parseClass();
    if (ch === '\\') {
      const next = src[i + 1];
      i += 2;
      switch (next) {
        case 'd':
          return '1';
        case 'w':
          return 'a';
        case 's':
          return ' ';
        case 'D':
        case 'W':
        case 'S':
          return next === 'D' ? 'a' : next === 'W' ? '-' : 'a';
        case undefined:
          return undefined;
        default:
          if (/[0-9bBpPuxck]/.test(next)) return undefined;
          return next;
      }
    }
    if (ch === '.') {
      i++;
      return 'a';
    }
    i++;
    return ch;
  }

  function parseClass(): string | undefined {
    i++; // [
    const negated = src[i] === '^';
    if (negated) i++;
    const members: string[] = [];
    let first = true;
    while (i < src.length && (src[i] !== ']' || first)) {
      first = false;
      let ch = src[i] as string;
      if (ch === '\\') {
        const next = src[i + 1];
        i += 2;
        if (next === 'd') members.push('0-9');
        else if (next === 'w') members.push('a-z');
        else if (next === 's') members.push(' ');
        else if (next === undefined || /[pPuxck]/.test(next)) return undefined;
        else members.push(next);
        continue;
      }
      i++;
      if (src[i] === '-' && src[i + 1] !== undefined && src[i + 1] !== ']') {
        const end = src[i + 1] as string;
        i += 2;
        members.push(`${ch}-${end}`);
        continue;
      }
      ch = ch as string;
      members.push(ch);
    }
    if (src[i] !== ']') return undefined;
    i++;
    if (negated) {
      for (const candidate of ['a', 'x', '1', 'A', '_', '-']) {
        if (!members.some((m) => inMember(m, candidate))) return candidate;
      }
      return undefined;
    }
    return members[0]?.[0];
  }

  function inMember(member: string, ch: string): boolean {
    if (member.length === 3 && member[1] === '-') return ch >= (member[0] as string) && ch <= (member[2] as string);
    return member === ch;
  }

  const result = parseAlternatives();
  if (result === undefined || i < src.length) return undefined;
  return result;
}

function sampleNumber(s: SchemaObject, integer: boolean, variant: number): Sample {
  const num = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : undefined);
  const min = num('minimum');
  const max = num('maximum');
  const exMin = num('exclusiveMinimum');
  const exMax = num('exclusiveMaximum');
  const multipleOf = num('multipleOf');
  const format = typeof s['format'] === 'string' ? s['format'] : undefined;
  let lo = -Infinity;
  let hi = Infinity;
  let loOpen = false;
  let hiOpen = false;
  if (min !== undefined) lo = min;
  if (exMin !== undefined && exMin >= lo) {
    lo = exMin;
    loOpen = true;
  }
  if (max !== undefined) hi = max;
  if (exMax !== undefined && exMax <= hi) {
    hi = exMax;
    hiOpen = true;
  }
  if (format === 'int32') {
    lo = Math.max(lo, -2147483648);
    hi = Math.min(hi, 2147483647);
  }
  const inRange = (v: number) => (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
  const step = multipleOf ?? 1;
  const okValue = (v: number) =>
    Number.isFinite(v) && inRange(v) && (!integer || Number.isInteger(v)) && (multipleOf === undefined || Number.isInteger(v / multipleOf));

  // Where to start: 1 when unconstrained (a friendlier sample than 0), else the lower bound.
  let start: number;
  if (Number.isFinite(lo)) start = lo;
  else if (Number.isFinite(hi)) start = Math.min(hi, 1);
  else start = 1;
  const candidates: number[] = [];
  if (multipleOf !== undefined) {
    const k0 = Math.ceil(start / multipleOf);
    for (let k = k0; k < k0 + 50; k++) candidates.push(k * multipleOf);
    if (!Number.isFinite(lo)) for (let k = k0 - 1; k > k0 - 50; k--) candidates.push(k * multipleOf);
  } else {
    const base = integer ? Math.ceil(start) : start;
    candidates.push(base, base + 1, integer ? base : base + 0.5);
    if (!Number.isFinite(lo)) candidates.push(base - 1, Math.floor(hi), Math.floor(hi) - 1);
    if (Number.isFinite(lo) && Number.isFinite(hi)) candidates.push(integer ? Math.floor((lo + hi) / 2) : (lo + hi) / 2);
  }
  const valid = [...new Set(candidates)].filter(okValue);
  const first = valid[0];
  if (first !== undefined) {
    let v = valid[variant];
    if (v === undefined) v = okValue(first + step * variant) ? first + step * variant : first;
    return { ok: true, value: Object.is(v, -0) ? 0 : v };
  }
  return { ok: false, reason: `no ${integer ? 'integer' : 'number'} satisfies the bounds${multipleOf !== undefined ? ` and multipleOf ${multipleOf}` : ''}` };
}

function sampleArray(s: SchemaObject, g: Gen, variant: number): Sample {
  const minItems = typeof s['minItems'] === 'number' ? s['minItems'] : 0;
  const tuple = Array.isArray(s['items']) ? (s['items'] as JsonSchema[]) : undefined;
  const itemSchema: JsonSchema | undefined = tuple ? undefined : (s['items'] as JsonSchema | undefined);
  const additional = tuple ? (s['additionalItems'] as JsonSchema | undefined) : undefined;
  const unique = s['uniqueItems'] === true;
  const items: unknown[] = [];
  const count = Math.max(minItems, tuple ? tuple.length : 0, has(s, 'contains') && minItems === 0 ? 1 : 0);
  for (let i = 0; i < count; i++) {
    let schema: JsonSchema;
    if (tuple && i < tuple.length) schema = tuple[i] as JsonSchema;
    else if (tuple) schema = additional ?? true;
    else schema = itemSchema ?? true;
    if (i === 0 && has(s, 'contains') && !tuple) schema = { allOf: [schema, s['contains'] as JsonSchema] };
    const sample = generate(schema, g, unique ? i + variant : variant);
    if (!sample.ok) return { ok: false, reason: `item ${i}: ${sample.reason}` };
    items.push(sample.value);
  }
  return { ok: true, value: items };
}

function sampleObject(s: SchemaObject, g: Gen, variant: number): Sample {
  const properties = isPlainObject(s['properties']) ? (s['properties'] as Record<string, JsonSchema>) : {};
  const required = Array.isArray(s['required']) ? (s['required'] as unknown[]).filter((r): r is string => typeof r === 'string') : [];
  const minProperties = typeof s['minProperties'] === 'number' ? s['minProperties'] : 0;
  const additional = s['additionalProperties'] as JsonSchema | undefined;
  const patternProperties = isPlainObject(s['patternProperties']) ? (s['patternProperties'] as Record<string, JsonSchema>) : {};
  const out: Record<string, unknown> = {};
  const schemaFor = (name: string): JsonSchema => {
    if (has(properties, name)) return properties[name] as JsonSchema;
    for (const pattern of Object.keys(patternProperties)) {
      if (testPattern(pattern, name)) return patternProperties[pattern] as JsonSchema;
    }
    return additional ?? true;
  };
  const add = (name: string): Sample | undefined => {
    const sample = generate(schemaFor(name), g, variant);
    if (!sample.ok) return { ok: false, reason: `property "${name}": ${sample.reason}` };
    Object.defineProperty(out, name, { value: sample.value, enumerable: true, writable: true, configurable: true });
    return undefined;
  };
  for (const name of required) {
    const failure = add(name);
    if (failure) return failure;
  }
  for (const name of Object.keys(properties)) {
    if (Object.keys(out).length >= minProperties) break;
    if (has(out, name)) continue;
    if (add(name) !== undefined) delete out[name];
  }
  for (let n = 1; Object.keys(out).length < minProperties && n <= minProperties + 10; n++) {
    if (additional === false) break;
    const name = `property${n}`;
    if (has(out, name)) continue;
    const failure = add(name);
    if (failure) return failure;
  }
  return { ok: true, value: out };
}

// ---------------------------------------------------------------------------------------------------------
// Invalid samples

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
  if (valid.ok && isPlainObject(valid.value)) {
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

/** Why the schema does not compile, if it does not. */
function compileError(schema: JsonSchema, g: Gen): string | undefined {
  const check = g.check(schema, null);
  return !check.valid && check.message.startsWith(COMPILE_ERROR) ? check.message : undefined;
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

// ---------------------------------------------------------------------------------------------------------
// What Fastify's JSON body parser refuses

/**
 * Why Fastify's JSON body parser refuses `value` (sent as JSON) before validation ever sees it, or undefined.
 * Its defaults, `onProtoPoisoning` and `onConstructorPoisoning: 'error'`, answer 400 for a body with an own
 * `__proto__` key, or a `constructor` key holding an object with a `prototype` key, at any depth: such a body
 * never reaches a handler, whatever the schema says. The reason names the key and where it is
 * (`the key "__proto__" at /`, a JSON pointer into the body).
 */
export function jsonParserRefusal(value: unknown): string | undefined {
  const seen = new Set<object>();
  const visit = (node: unknown, at: string): string | undefined => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return undefined;
    seen.add(node);
    const record = node as Record<string, unknown>;
    if (!Array.isArray(node)) {
      if (has(node, '__proto__')) return `the key "__proto__" at ${at || '/'}`;
      const ctor = has(node, 'constructor') ? record['constructor'] : undefined;
      if (ctor !== null && typeof ctor === 'object' && has(ctor, 'prototype')) return `the key "constructor" holding a "prototype" at ${at || '/'}`;
    }
    for (const key of Object.keys(node)) {
      const found = visit(record[key], `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      if (found) return found;
    }
    return undefined;
  };
  return visit(value, '');
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function accepts(schema: JsonSchema, value: unknown, g: Gen): boolean {
  return g.check(schema, value).valid;
}

function has(value: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(value, key);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function without(s: SchemaObject, keys: string[]): SchemaObject {
  const out: SchemaObject = {};
  for (const key of Object.keys(s)) {
    if (!keys.includes(key)) Object.defineProperty(out, key, { value: s[key], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Has no keyword that constrains the value (annotations only). */
function isEmptySchema(s: SchemaObject): boolean {
  return Object.keys(s).every((k) => ['default', 'readOnly', 'writeOnly', 'deprecated', '$defs', 'title', 'description'].includes(k));
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return `a ${typeof value}`;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
