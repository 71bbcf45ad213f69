/**
 * The spec's schemas as JSON Schema 2020-12, validated with Ajv exactly as written: no type coercion, no
 * removal of extra properties, no defaults. Independent of backdev's own conversion (this is what checks it).
 *
 * OpenAPI 3.0 specifics: `nullable: true` adds `null` (to `type`, and to `enum` when there is one); boolean
 * `exclusiveMinimum`/`exclusiveMaximum` become the numeric form; siblings of `$ref` are ignored (a Reference
 * Object allows none). 3.1 schemas are JSON Schema 2020-12 already. Keywords that are annotations only
 * (`example`, `discriminator`, `xml`, `x-*` …) are dropped.
 *
 * Two views of each schema: `request` (properties marked `readOnly` are left out, as a client must not send
 * them) and `response` (a `writeOnly` property is not required).
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { isObject } from '../../../generators/core/json.js';

const addFormats = addFormatsModule.default;

export type Schema = boolean | { [keyword: string]: unknown };
export type Mode = 'request' | 'response';

/** `$id` of the document that holds every converted `$ref` target as `$defs`. */
export const DEFS_ID = 'urn:backdev:conformance:defs';
export const DEFS_PREFIX = `${DEFS_ID}#/$defs/`;

const SCALAR_KEYWORDS = [
  'type',
  'enum',
  'const',
  'multipleOf',
  'maximum',
  'minimum',
  'exclusiveMaximum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'maxContains',
  'minContains',
  'maxProperties',
  'minProperties',
  'required',
  'dependentRequired',
  'format',
  'readOnly',
  'writeOnly',
] as const;
const SCHEMA_KEYWORDS = [
  'additionalItems',
  'contains',
  'additionalProperties',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'unevaluatedProperties',
  'unevaluatedItems',
] as const;
const MAP_KEYWORDS = ['properties', 'patternProperties', 'dependentSchemas'] as const;
const LIST_KEYWORDS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const;

function has(value: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(value, key);
}

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Resolves a local `#/…` reference in `doc`. */
export function resolveRef(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const pointer = ref.slice(1);
  if (pointer === '') return doc;
  let node: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    let token = raw;
    try {
      token = decodeURIComponent(raw);
    } catch {
      // keep it literal
    }
    token = token.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node) && has(node, token)) node = node[token];
    else return undefined;
  }
  return node;
}

/** Follows `$ref`s of a non-schema object (parameter, request body, response) to the object itself. */
export function derefObject(doc: unknown, value: unknown): unknown {
  let node = value;
  for (let i = 0; i < 20 && isObject(node) && typeof node['$ref'] === 'string'; i++) node = resolveRef(doc, node['$ref']);
  return node;
}

/**
 * Converts schemas of one document and validates values against them. Create one per document; convert
 * every schema first, then validate (the `$defs` document is registered on first validation).
 */
export class SchemaSet {
  readonly defs: Record<string, Schema> = {};
  private readonly refNames = new Map<string, string>();
  private ajv: Ajv2020 | undefined;
  private readonly compiled = new WeakMap<object, ValidateFunction>();
  private frozen = false;

  constructor(
    readonly doc: Record<string, unknown>,
    readonly version: '3.0' | '3.1',
  ) {}

  /** The JSON Schema for a schema found in the spec, in a request or a response. */
  convert(schema: unknown, mode: Mode): Schema {
    if (this.frozen) throw new Error('SchemaSet: convert after validation started');
    return this.walk(schema, mode, 0);
  }

  /** Resolves a converted `$ref` (one made by `convert`) to its converted target. */
  target(ref: string): Schema | undefined {
    if (!ref.startsWith(DEFS_PREFIX)) return undefined;
    return this.defs[ref.slice(DEFS_PREFIX.length)];
  }

  private walk(schema: unknown, mode: Mode, depth: number): Schema {
    if (typeof schema === 'boolean') return schema;
    if (!isObject(schema) || depth > 200) return {};
    if (typeof schema['$ref'] === 'string') {
      const ref = this.refTo(schema['$ref'], mode);
      if (this.version === '3.0') return { $ref: ref };
      const rest = { ...schema };
      delete rest['$ref'];
      const converted = this.walk(rest, mode, depth + 1);
      if (converted === true || (isObject(converted) && Object.keys(converted).length === 0)) return { $ref: ref };
      return { allOf: [{ $ref: ref }, converted] };
    }
    const out: Record<string, unknown> = {};
    for (const key of SCALAR_KEYWORDS) if (has(schema, key)) setKey(out, key, schema[key]);
    for (const key of SCHEMA_KEYWORDS) if (has(schema, key)) setKey(out, key, this.walk(schema[key], mode, depth + 1));
    for (const key of MAP_KEYWORDS) {
      const map = schema[key];
      if (!isObject(map)) continue;
      const converted: Record<string, unknown> = {};
      for (const name of Object.keys(map)) setKey(converted, name, this.walk(map[name], mode, depth + 1));
      setKey(out, key, converted);
    }
    for (const key of LIST_KEYWORDS) {
      const list = schema[key];
      if (Array.isArray(list))
        setKey(
          out,
          key,
          list.map((s) => this.walk(s, mode, depth + 1)),
        );
    }
    if (has(schema, 'items')) {
      const items = schema['items'];
      if (Array.isArray(items)) {
        out['prefixItems'] = items.map((s) => this.walk(s, mode, depth + 1));
        if (has(schema, 'additionalItems')) {
          out['items'] = out['additionalItems'];
          delete out['additionalItems'];
        }
      } else {
        out['items'] = this.walk(items, mode, depth + 1);
      }
    }
    delete out['additionalItems'];
    if (typeof out['format'] !== 'string') delete out['format'];
    if (!(typeof out['pattern'] === 'string' && compiles(out['pattern']))) delete out['pattern'];
    if (!Array.isArray(out['required'])) delete out['required'];
    if (this.version === '3.0') {
      for (const [flag, bound] of [
        ['exclusiveMinimum', 'minimum'],
        ['exclusiveMaximum', 'maximum'],
      ] as const) {
        if (typeof out[flag] === 'boolean') {
          if (out[flag] === true && typeof out[bound] === 'number') {
            out[flag] = out[bound];
            delete out[bound];
          } else {
            delete out[flag];
          }
        }
      }
    }
    // readOnly / writeOnly properties.
    const properties = out['properties'];
    if (isObject(properties)) {
      const hidden = Object.keys(properties).filter((name) => {
        const raw = isObject(schema['properties']) ? schema['properties'][name] : undefined;
        const flags = this.flagsOf(raw);
        return mode === 'request' ? flags.readOnly : flags.writeOnly;
      });
      if (hidden.length > 0) {
        if (Array.isArray(out['required'])) out['required'] = (out['required'] as unknown[]).filter((r) => !hidden.includes(r as string));
        if (mode === 'request') for (const name of hidden) delete properties[name];
      }
    }
    delete out['readOnly'];
    delete out['writeOnly'];
    if (this.version === '3.0' && schema['nullable'] === true) return nullable(out);
    return out;
  }

  /** readOnly / writeOnly of a property schema, looking through one `$ref`. */
  private flagsOf(raw: unknown): { readOnly: boolean; writeOnly: boolean } {
    let node = raw;
    if (isObject(node) && typeof node['$ref'] === 'string') {
      const own = { readOnly: node['readOnly'] === true, writeOnly: node['writeOnly'] === true };
      if (own.readOnly || own.writeOnly) return own;
      node = resolveRef(this.doc, node['$ref']);
    }
    if (!isObject(node)) return { readOnly: false, writeOnly: false };
    return { readOnly: node['readOnly'] === true, writeOnly: node['writeOnly'] === true };
  }

  private refTo(ref: string, mode: Mode): string {
    const key = `${mode} ${ref}`;
    let name = this.refNames.get(key);
    if (name === undefined) {
      name = `${mode === 'request' ? 'q' : 's'}${this.refNames.size}`;
      this.refNames.set(key, name);
      this.defs[name] = {};
      const target = resolveRef(this.doc, ref);
      this.defs[name] = target === undefined ? {} : this.walk(target, mode, 0);
    }
    return DEFS_PREFIX + name;
  }

  private instance(): Ajv2020 {
    if (!this.ajv) {
      this.frozen = true;
      const ajv = new Ajv2020({ strict: false, allErrors: false, logger: false, validateFormats: true, code: { optimize: false } });
      addFormats(ajv);
      ajv.addSchema({ $id: DEFS_ID, $defs: this.defs });
      this.ajv = ajv;
    }
    return this.ajv;
  }

  private compile(schema: Schema): ValidateFunction {
    const ajv = this.instance();
    if (typeof schema === 'boolean') return ajv.compile(schema);
    let fn = this.compiled.get(schema);
    if (!fn) {
      fn = ajv.compile(schema);
      this.compiled.set(schema, fn);
    }
    return fn;
  }

  /** `undefined` when `value` is valid, else the first error as text (`/price must be number`). */
  check(schema: Schema, value: unknown): string | undefined {
    let fn: ValidateFunction;
    try {
      fn = this.compile(schema);
    } catch (error) {
      return `the schema does not compile: ${(error as Error).message}`;
    }
    if (fn(value) === true) return undefined;
    return errorText(fn.errors);
  }

  valid(schema: Schema, value: unknown): boolean {
    try {
      return this.compile(schema)(value) === true;
    } catch {
      return false;
    }
  }

  /** Whether the schema compiles (a spec whose schema does not is reported, not checked). */
  compiles(schema: Schema): boolean {
    try {
      this.compile(schema);
      return true;
    } catch {
      return false;
    }
  }
}

function nullable(out: Record<string, unknown>): Schema {
  if (typeof out['type'] === 'string') {
    out['type'] = [out['type'], 'null'];
    if (Array.isArray(out['enum']) && !out['enum'].includes(null)) out['enum'] = [...out['enum'], null];
    return out;
  }
  if (Array.isArray(out['type'])) {
    if (!out['type'].includes('null')) out['type'] = [...out['type'], 'null'];
    if (Array.isArray(out['enum']) && !out['enum'].includes(null)) out['enum'] = [...out['enum'], null];
    return out;
  }
  return { anyOf: [out, { type: 'null' }] };
}

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

function errorText(errors: ErrorObject[] | null | undefined): string {
  const first = errors?.[0];
  if (!first) return 'rejected';
  const where = first.instancePath === '' ? 'the value' : first.instancePath;
  const extra =
    first.keyword === 'additionalProperties'
      ? ` (${String((first.params as { additionalProperty?: string }).additionalProperty)})`
      : first.keyword === 'enum'
        ? ` (${JSON.stringify((first.params as { allowedValues?: unknown }).allowedValues).slice(0, 60)})`
        : '';
  return `${where} ${first.message ?? 'is invalid'}${extra}`;
}
