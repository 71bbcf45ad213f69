/**
 * Ajv compiles every schema a `$ref` reaches as soon as the referring schema is compiled: on specs whose
 * component schemas refer to one another (Stripe's error schema reaches 484 of its 775 schemas) the first
 * check of a sample compiles all of those, though a minimal sample touches a handful of schemas.
 *
 * This module lets a validator compile a referenced component schema the first time a value reaches it,
 * with the same answers as Ajv's own compilation:
 * - Ajv copies ("inlines") a referenced schema that has no `$ref` of its own into the referring code, and
 *   compiles any other one as a separate function that it calls with the value's place (path, parent,
 *   property). Here the inlined ones stay `$ref`s, and each of the others becomes a keyword that compiles
 *   the same schema, as its own function, on its first call and calls it with that same place; its errors
 *   are passed on as Ajv passes on those of a referenced function. The keyword sits where `$ref` sits in
 *   Ajv's keyword order, so checks run in the same order.
 * - Compiling on first use would move a compile error (an unknown keyword or format in strict mode, say)
 *   from compile time to the first check that reaches it, or hide it when no value does. So a schema is
 *   compiled lazily only when nothing it reaches can fail to compile (`bodyCompiles` and `allCompile`
 *   below, deliberately narrow: anything they do not know counts as a possible failure); any other
 *   schema is compiled by Ajv as before, from the original component schemas.
 */
import type { Ajv, AnySchemaObject, ErrorObject, ValidateFunction } from 'ajv';
import type { JsonSchema } from '../../core/ir/json-schema.js';

/** The keyword standing for a `$ref` to a component schema that is compiled on first use. */
const KEYWORD = 'backdevLazyRef';

/** Keys that make Ajv treat a schema as referring to others (it never inlines such a schema). */
const REF_KEYWORDS = new Set(['$ref', '$recursiveRef', '$recursiveAnchor', '$dynamicRef', '$dynamicAnchor']);

/** Ajv's own test (compile/resolve.ts `hasRef`), kept key for key: a `$ref` key anywhere counts. */
function hasRef(schema: unknown): boolean {
  for (const key in schema as object) {
    if (REF_KEYWORDS.has(key)) return true;
    const sch = (schema as Record<string, unknown>)[key];
    if (Array.isArray(sch) && sch.some(hasRef)) return true;
    if (typeof sch == 'object' && hasRef(sch)) return true;
  }
  return false;
}

/** Keywords whose value is one schema, a list of schemas, or a map of them. */
const ONE = ['additionalProperties', 'items', 'not'];
const LIST = ['allOf', 'anyOf', 'oneOf'];
const MAP = ['properties', 'patternProperties'];
/** Keywords Ajv compiles into their reference's (or composite's) context without further subschemas. */
const PLAIN = new Set([
  'type', 'enum', 'const', 'required', 'minItems', 'maxItems', 'uniqueItems', 'minLength', 'maxLength', 'pattern', 'format',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minProperties', 'maxProperties',
  'title', 'description', 'default', 'examples', 'readOnly', 'writeOnly', 'deprecated', '$comment',
]);
/** Keywords under which Ajv compiles subschemas as a "composite rule" (where a property default is an error). */
const COMPOSITE = new Set(['anyOf', 'oneOf', 'not']);

export interface LazyRefs {
  /**
   * The schema to compile in place of `schema`: a copy whose `$ref`s to separately compiled component
   * schemas are compiled on first use, or `schema` itself when something it reaches might not compile.
   */
  prepare(schema: JsonSchema): JsonSchema;
}

/**
 * Sets up `ajv` (whose component schemas `defs` are registered under `schemaId` as `$defs`) to compile
 * referenced component schemas on first use. Call once per Ajv instance, after registering `defs`.
 */
export function lazyRefs(ajv: Ajv, defs: Readonly<Record<string, JsonSchema>>, schemaId: string): LazyRefs {
  const prefix = `${schemaId}#/$defs/`;
  const lazyId = `${schemaId}-lazy`;
  const names = new Map<string, string>();
  /** The component schema a `$ref` names, if it is one of `defs` by a plain name. */
  const target = (ref: unknown): string | undefined => {
    if (typeof ref !== 'string' || !ref.startsWith(prefix)) return undefined;
    const name = ref.slice(prefix.length);
    return /^[A-Za-z0-9_.-]+$/.test(name) && Object.prototype.hasOwnProperty.call(defs, name) ? name : undefined;
  };
  const leaf = new Map<string, boolean>();
  /** Ajv inlines the component schema (it has no `$ref` of its own) rather than compiling it apart. */
  const inlined = (name: string): boolean => {
    let v = leaf.get(name);
    if (v === undefined) leaf.set(name, (v = !hasRef(defs[name])));
    return v;
  };

  // --- Which schemas surely compile -------------------------------------------------------------------
  const knownFormat = (f: unknown) => typeof f === 'string' && Object.prototype.hasOwnProperty.call(ajv.formats, f);
  const goodPattern = (p: unknown) => {
    if (typeof p !== 'string') return false;
    try {
      new RegExp(p, 'u');
      return true;
    } catch {
      return false;
    }
  };
  const hasPropertyDefault = new Map<string, boolean>();
  /** An inlined component schema with a property default, which strict Ajv rejects inside anyOf/oneOf/not. */
  const propertyDefault = (name: string): boolean => {
    let v = hasPropertyDefault.get(name);
    if (v === undefined) {
      v = false;
      const visit = (s: unknown): void => {
        if (v || typeof s !== 'object' || s === null) return;
        const o = s as Record<string, unknown>;
        if (typeof o['properties'] === 'object' && o['properties'] !== null) {
          for (const p of Object.values(o['properties'])) if (typeof p === 'object' && p !== null && 'default' in p) v = true;
        }
        for (const k of ONE) visit(o[k]);
        for (const k of LIST) if (Array.isArray(o[k])) (o[k] as unknown[]).forEach(visit);
        for (const k of MAP) if (typeof o[k] === 'object' && o[k] !== null) Object.values(o[k] as object).forEach(visit);
      };
      visit(defs[name]);
      hasPropertyDefault.set(name, v);
    }
    return v;
  };
  /**
   * Whether this schema, compiled as Ajv compiles it (as the root of a function when `root`), surely
   * compiles; the component schemas it refers to are collected in `refs` (their own check is separate).
   */
  const bodyCompiles = (s: unknown, composite: boolean, root: boolean, refs: Set<string>): boolean => {
    if (typeof s === 'boolean') return true;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return false;
    const o = s as Record<string, unknown>;
    if (root && 'default' in o) return false;
    for (const key of Object.keys(o)) {
      const value = o[key];
      if (key === '$ref') {
        const name = target(value);
        if (name === undefined) return false;
        if (inlined(name) && composite && propertyDefault(name)) return false;
        refs.add(name);
      } else if (key === 'format') {
        if (!knownFormat(value)) return false;
      } else if (key === 'pattern') {
        if (!goodPattern(value)) return false;
      } else if ((key === 'items' && Array.isArray(value)) || key === 'patternProperties') {
        // Tuples, and pattern properties (strict mode rejects a property its pattern also matches).
        return false;
      } else if (ONE.includes(key)) {
        if (!bodyCompiles(value, composite || COMPOSITE.has(key), false, refs)) return false;
      } else if (LIST.includes(key)) {
        if (!Array.isArray(value)) return false;
        for (const sub of value) if (!bodyCompiles(sub, composite || COMPOSITE.has(key), false, refs)) return false;
      } else if (MAP.includes(key)) {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
        for (const sub of Object.values(value)) {
          if (key === 'properties' && composite && typeof sub === 'object' && sub !== null && 'default' in sub) return false;
          if (!bodyCompiles(sub, composite, false, refs)) return false;
        }
      } else if (!PLAIN.has(key)) {
        return false;
      }
    }
    return true;
  };
  // A component schema surely compiles when its own body does and every one it refers to does: the
  // schemas a check reaches are walked once each, on the first check that reaches them.
  const own = new Map<string, string[] | undefined>();
  /** The component schemas this one refers to, or undefined when its own body might not compile. */
  const ownRefs = (name: string): string[] | undefined => {
    if (own.has(name)) return own.get(name);
    const refs = new Set<string>();
    // An inlined component schema is compiled inside its referrer, never as a function's root.
    const v = bodyCompiles(defs[name], false, !inlined(name), refs) ? [...refs] : undefined;
    own.set(name, v);
    return v;
  };
  /** Component schemas all of whose reach surely compiles. */
  const reachCompiles = new Set<string>();
  const allCompile = (start: Iterable<string>): boolean => {
    const seen = new Set<string>();
    const queue = [...start];
    while (queue.length > 0) {
      const name = queue.pop()!;
      if (reachCompiles.has(name) || seen.has(name)) continue;
      seen.add(name);
      const refs = ownRefs(name);
      if (refs === undefined) return false;
      queue.push(...refs);
    }
    // Everything reached from here was reached and checked: each one's reach is a part of it.
    for (const name of seen) reachCompiles.add(name);
    return true;
  };

  // --- The copies with compile-on-first-use references -------------------------------------------------
  const copies = new WeakMap<object, JsonSchema>();
  const rewrite = (s: unknown): unknown => {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return s;
    const cached = copies.get(s);
    if (cached !== undefined) return cached;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(s)) {
      const value = (s as Record<string, unknown>)[key];
      let k = key;
      let v = value;
      if (key === '$ref') {
        const name = target(value);
        if (name !== undefined && !inlined(name)) {
          k = KEYWORD;
          v = name;
        }
      } else if (ONE.includes(key)) v = rewrite(value);
      else if (LIST.includes(key) && Array.isArray(value)) v = value.map(rewrite);
      else if (MAP.includes(key) && typeof value === 'object' && value !== null) {
        v = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, rewrite(sub)]));
      }
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    copies.set(s, out as JsonSchema);
    return out;
  };
  // The copies of the component schemas, under their own id (their `$ref`s that stay point at the
  // originals); each is made when a value first reaches it.
  const lazyDefs: Record<string, unknown> = {};
  let registered = false;
  const register = () => {
    if (registered) return;
    registered = true;
    // The copies differ from the checked originals only by the keyword's name: no second meta-schema check.
    ajv.addSchema({ $id: lazyId, $defs: lazyDefs }, undefined, undefined, false);
  };

  const compiled = new Map<string, ValidateFunction>();
  ajv.addKeyword({
    keyword: KEYWORD,
    schemaType: 'string',
    // Where `$ref` runs among the keywords of a schema.
    before: '$ref',
    errors: true,
    compile(name: string) {
      const validate = (...args: Parameters<ValidateFunction>): boolean => {
        let fn = compiled.get(name);
        if (!fn) {
          lazyDefs[name] = rewrite(defs[name]);
          fn = ajv.getSchema(`${lazyId}#/$defs/${name}`);
          if (!fn) throw new Error(`bug: no component schema ${name}`);
          compiled.set(name, fn);
        }
        const valid = fn(...args) as boolean;
        // A failing function always has its errors (Ajv would report a keyword error of its own otherwise).
        validate.errors = fn.errors ?? undefined;
        return valid;
      };
      validate.errors = undefined as ErrorObject[] | undefined;
      return validate;
    },
  });

  return {
    prepare(schema) {
      if (typeof schema === 'boolean') return schema;
      const refs = new Set<string>();
      if (!bodyCompiles(schema, false, false, refs)) return schema;
      if (refs.size === 0 || !allCompile(refs)) return schema;
      register();
      return rewrite(schema as AnySchemaObject) as JsonSchema;
    },
  };
}
