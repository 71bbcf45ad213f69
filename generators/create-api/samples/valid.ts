/** A value a converted schema accepts, built from its keywords and checked with the fastify-like validator. */
import type { JsonSchema } from '../../core/ir/json-schema.js';
import { isObject } from '../../core/json.js';
import { checker } from './ajv-cache.js';
import { accepts, compileError, has, isEmptySchema, preview, resolveSampleRef, without, type Gen, type Sample, type SchemaObject } from './common.js';
import { testPattern } from './regex.js';
import { NUMBER_FORMATS, sampleNumber, sampleString } from './scalars.js';

/** How many times one `$ref` may be open at once while generating (recursive schemas). */
const MAX_REF_DEPTH = 3;
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
    } else if (isObject(merged) && isObject(sample.value)) {
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
  const properties = isObject(s['properties']) ? (s['properties'] as Record<string, JsonSchema>) : {};
  const required = Array.isArray(s['required']) ? (s['required'] as unknown[]).filter((r): r is string => typeof r === 'string') : [];
  const minProperties = typeof s['minProperties'] === 'number' ? s['minProperties'] : 0;
  const additional = s['additionalProperties'] as JsonSchema | undefined;
  const patternProperties = isObject(s['patternProperties']) ? (s['patternProperties'] as Record<string, JsonSchema>) : {};
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
