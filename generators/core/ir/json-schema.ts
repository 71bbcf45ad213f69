/**
 * OpenAPI 3.0 / 3.1 Schema Object → JSON Schema that fastify 5 accepts.
 *
 * The result must compile with the Ajv 8 instance fastify builds for request validation (draft-07 vocabulary,
 * strict mode, `coerceTypes: 'array'`, `useDefaults`, `removeAdditional`, ajv-formats) and be accepted by
 * fast-json-stringify for responses. The conversion never throws: anything it cannot express becomes a sound
 * fallback (usually `{}`, "any value") and a warning naming the subject and the place inside the schema.
 *
 * Things Ajv's strict mode rejects that OpenAPI documents routinely contain, and what happens to them here:
 * - annotations (`title`, `description`, `example(s)`, `discriminator`, `xml`, `x-*`, …) are dropped silently;
 * - formats ajv-formats does not know are dropped silently (OpenAPI formats are open-ended);
 * - patterns that are not valid `u`-flag regular expressions are dropped with a warning;
 * - `prefixItems` (2020-12) is rewritten to the draft-07 tuple form `items: [...]` + `additionalItems`;
 * - `default` below `anyOf`/`oneOf`/`not`/`if`/`contains`/`propertyNames` is dropped: Ajv never applies it there
 *   and strict mode throws "default is ignored for: …" when it sees one (see {@link SchemaConversion.position}
 *   for the other two places Ajv rejects a `default`).
 */
import type { Warning } from '../errors.js';
import { deepEqual, isObject, setOwn } from '../json.js';
import { encodeFragmentToken, escapePointerToken, locatePointer, valueAt } from '../spec/pointer.js';
import { containsRef, hasDefaultBelowRoot, stripCompositeDefaults } from './subschemas.js';

export type JsonSchema = boolean | { [keyword: string]: unknown };

export interface SchemaConversion {
  openapiVersion: '3.0' | '3.1';
  /** Prefix replacing '#/components/schemas/' in $refs, e.g. 'backdev-schemas#/$defs/'. */
  refPrefix: string;
  /** The whole bundled document, to follow refs that point at something other than a schema (e.g. '#/components/parameters/x/schema'). */
  document: unknown;
  /** Where this schema sits, for warnings: 'schema Pet', 'operation listPets request body'. */
  subject: string;
  warn(w: Warning): void;
  /**
   * How the result is used (default `'embedded'`). Ajv's strict mode throws on a `default` at the root of a
   * schema it compiles on its own, and on `default`s of properties inlined below `anyOf`/`oneOf`:
   * - `'embedded'`: the result is placed under a parent schema (a parameter's schema inside the generated
   *   `querystring`/`params`/`headers` object, a response): a root `default` is kept, it applies there.
   * - `'root'`: the result is a whole route schema (a request body): a root `default` is dropped (it could
   *   never apply).
   * - `'shared'`: the result is an entry of the shared `$defs` document: as `'root'`; in addition, when the
   *   schema has property defaults and no `$ref`, a never-evaluated `$defs: { "backdev-no-inline": { $ref: "#" } }`
   *   is added so that Ajv compiles it as its own function instead of inlining it (inlining it below an
   *   `anyOf`/`oneOf` — e.g. a nullable `$ref` — would make strict mode throw).
   */
  position?: 'embedded' | 'root' | 'shared';
  /**
   * How to refer to a component schema whose name (or deeper pointer) needs JSON-pointer escaping (`~`, `/`)
   * or percent-encoding (spaces, quotes, non-ASCII, …). Default `'escape'`.
   * - `'escape'`: a `$ref` with the escaped, percent-encoded pointer. Ajv resolves it; fast-json-stringify
   *   (responses) looks pointers up verbatim and cannot.
   * - `'inline'`: the converted component is inlined instead, so the result works for both. A component that
   *   would be inlined into itself keeps the escaped `$ref` (with a warning).
   * Use the same setting for the shared `$defs` and every route schema.
   */
  refEncoding?: 'escape' | 'inline';
}

/** Warning codes this module emits. */
export const SchemaWarningCodes = {
  /** The schema (or a part of it) is malformed; a sound fallback was used. */
  INVALID_SCHEMA: 'INVALID_SCHEMA',
  /** A valid construct backdev cannot express for fastify; dropped. */
  UNSUPPORTED_SCHEMA: 'UNSUPPORTED_SCHEMA',
  /** A `pattern` / `patternProperties` key that is not a valid regular expression; dropped. */
  INVALID_PATTERN: 'INVALID_PATTERN',
  /** A `$ref` that points at nothing (or outside the document); replaced by `{}`. */
  UNRESOLVED_REF: 'UNRESOLVED_REF',
  /** A `$ref` that would have to be inlined into itself; replaced by `{}`. */
  REF_CYCLE: 'REF_CYCLE',
} as const;

/** Formats ajv-formats registers (`addFormats(ajv)` with no options adds all of them). */
export const AJV_FORMATS: ReadonlySet<string> = new Set([
  'date',
  'time',
  'date-time',
  'iso-time',
  'iso-date-time',
  'duration',
  'uri',
  'uri-reference',
  'uri-template',
  'url',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'regex',
  'uuid',
  'json-pointer',
  'json-pointer-uri-fragment',
  'relative-json-pointer',
  'byte',
  'int32',
  'int64',
  'float',
  'double',
  'password',
  'binary',
]);

const TYPE_NAMES: ReadonlySet<string> = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null']);

/** Annotations that describe the instance at this place; hoisted to a wrapper when the schema gets wrapped. */
const HOISTED_ANNOTATIONS = ['default', 'readOnly', 'writeOnly', 'deprecated'];
/** Keywords that can reject `null` even without a `type`. */
const NULL_RESTRICTING = ['$ref', 'allOf', 'anyOf', 'oneOf', 'not', 'const', 'if'];
/** Validation keywords of newer drafts that fastify's draft-07 Ajv does not know: dropped with a warning. */
const UNSUPPORTED_KEYWORDS: ReadonlySet<string> = new Set([
  'dependentRequired',
  'dependentSchemas',
  'dependencies',
  'unevaluatedProperties',
  'unevaluatedItems',
  'minContains',
  'maxContains',
  'additionalItems',
  '$dynamicRef',
  '$recursiveRef',
]);
const COUNT_KEYWORDS: ReadonlySet<string> = new Set([
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
]);
const NO_INLINE_MARKER = 'backdev-no-inline';

type SchemaObject = { [keyword: string]: unknown };

interface State {
  ctx: SchemaConversion;
  v31: boolean;
  /** Pointers (into the document) of refs currently being inlined, to detect cycles. */
  inlining: string[];
  /** Component schema names whose conversion is being probed (to check deep pointers). */
  probing: Set<string>;
  probeCache: Map<string, JsonSchema>;
  /** Input objects being converted (an object graph with cycles, e.g. from YAML aliases, is not a tree). */
  active: Set<object>;
  quiet: boolean;
}

export function toFastifySchema(schema: unknown, ctx: SchemaConversion): JsonSchema {
  const st: State = {
    ctx,
    v31: ctx.openapiVersion === '3.1',
    inlining: [],
    probing: new Set(),
    probeCache: new Map(),
    active: new Set(),
    quiet: false,
  };
  const out = convertSchema(schema, '', st);
  stripCompositeDefaults(out, false);
  const position = ctx.position ?? 'embedded';
  if (position !== 'embedded' && isObject(out)) {
    delete out['default'];
    if (position === 'shared' && !containsRef(out) && hasDefaultBelowRoot(out)) {
      setOwn(out, '$defs', { [NO_INLINE_MARKER]: { $ref: '#' } });
    }
  }
  return out;
}

/**
 * A `default` written as text for a boolean or numeric schema (`default: "false"`, common in real specs):
 * Ajv would insert the text and then refuse it, so a request that leaves the value out would be refused.
 * Text that reads cleanly as the type becomes that value; a default of another type is dropped. Both warn.
 */
function fixScalarDefault(out: Record<string, unknown>, at: string, st: State): void {
  const type = out['type'];
  const value = out['default'];
  if (typeof value !== 'string' || (type !== 'boolean' && type !== 'integer' && type !== 'number')) return;
  let read: boolean | number | undefined;
  if (type === 'boolean') read = value === 'true' ? true : value === 'false' ? false : undefined;
  else if (/^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$/.test(value.trim())) {
    const n = Number(value);
    read = Number.isFinite(n) && (type === 'number' || Number.isInteger(n)) ? n : undefined;
  }
  if (read === undefined) {
    delete out['default'];
    warn(st, at, 'INVALID_SCHEMA', `default ${JSON.stringify(value)} is not ${type === 'integer' ? 'an' : 'a'} ${type}; ignored`);
  } else {
    out['default'] = read;
    warn(st, at, 'INVALID_SCHEMA', `default ${JSON.stringify(value)} is text for a ${type}; read as ${String(read)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The walk

function convertSchema(input: unknown, path: string, st: State): JsonSchema {
  if (typeof input === 'boolean') return input;
  if (!isObject(input)) {
    warn(st, path, 'INVALID_SCHEMA', `expected a schema object, found ${describe(input)}; accepting any value`);
    return {};
  }
  if (st.active.has(input)) {
    warn(st, path, 'INVALID_SCHEMA', 'the schema contains itself (not through $ref); accepting any value');
    return {};
  }
  st.active.add(input);
  try {
    const out = hasOwn(input, '$ref') ? convertRefSchema(input, path, st) : convertKeywords(input, path, st);
    return applyNullable(input, out);
  } finally {
    st.active.delete(input);
  }
}

function convertRefSchema(input: SchemaObject, path: string, st: State): JsonSchema {
  const ref = input['$ref'];
  const rest: SchemaObject = {};
  for (const key of Object.keys(input)) if (key !== '$ref') setOwn(rest, key, input[key]);
  if (typeof ref !== 'string') {
    warn(st, `${path}/$ref`, 'INVALID_SCHEMA', `$ref must be a string, found ${describe(ref)}; ignored`);
    return convertKeywords(rest, path, st);
  }
  const target = resolveRef(ref, path, st);
  // OpenAPI 3.0: "properties adjacent to $ref are ignored" (nullable is honoured by applyNullable).
  if (!st.v31) return target;
  const restOut = convertKeywords(rest, path, st);
  const annotations: SchemaObject = {};
  for (const key of HOISTED_ANNOTATIONS) {
    if (hasOwn(restOut, key)) {
      setOwn(annotations, key, restOut[key]);
      delete restOut[key];
    }
  }
  const hasRest = Object.keys(restOut).length > 0;
  if (!hasRest && Object.keys(annotations).length === 0) return target;
  const out: SchemaObject = { allOf: hasRest ? [target, restOut] : [target] };
  for (const key of Object.keys(annotations)) setOwn(out, key, annotations[key]);
  return out;
}

function convertKeywords(input: SchemaObject, path: string, st: State): SchemaObject {
  const out: SchemaObject = {};
  for (const key of Object.keys(input)) {
    const value = input[key];
    const at = `${path}/${escapePointerToken(key)}`;
    switch (key) {
      case 'type': {
        const type = convertType(value, at, st);
        if (type !== undefined) setOwn(out, key, type);
        break;
      }
      case 'properties':
      case 'patternProperties': {
        if (!isObject(value)) {
          warn(st, at, 'INVALID_SCHEMA', `${key} must be an object, found ${describe(value)}; ignored`);
          break;
        }
        const props: SchemaObject = {};
        for (const name of Object.keys(value)) {
          if (key === 'patternProperties' && !(isValidPattern(name) && isValidPattern(name, ''))) {
            warn(st, at, 'INVALID_PATTERN', `patternProperties key ${JSON.stringify(name)} is not a valid regular expression; ignored`);
            continue;
          }
          setOwn(props, name, convertSchema(value[name], `${at}/${escapePointerToken(name)}`, st));
        }
        setOwn(out, key, props);
        break;
      }
      case 'additionalProperties': {
        if (typeof value !== 'boolean' && !isObject(value)) {
          warn(st, at, 'INVALID_SCHEMA', `additionalProperties must be a boolean or a schema, found ${describe(value)}; ignored`);
          break;
        }
        const sub = convertSchema(value, at, st);
        setOwn(out, key, isObject(sub) && Object.keys(sub).length === 0 ? true : sub);
        break;
      }
      case 'propertyNames':
      case 'contains':
      case 'not':
      case 'if':
      case 'then':
      case 'else':
        setOwn(out, key, convertSchema(value, at, st));
        break;
      case 'items':
        if (Array.isArray(value)) {
          warn(st, at, 'INVALID_SCHEMA', 'items must be a single schema (use prefixItems for tuples); accepting any items');
          setOwn(out, key, {});
        } else {
          setOwn(out, key, convertSchema(value, at, st));
        }
        break;
      case 'prefixItems':
        if (!Array.isArray(value)) {
          warn(st, at, 'INVALID_SCHEMA', `prefixItems must be an array of schemas, found ${describe(value)}; ignored`);
        } else if (value.length > 0) {
          setOwn(
            out,
            key,
            value.map((item, i) => convertSchema(item, `${at}/${i}`, st)),
          );
        }
        break;
      case 'allOf':
      case 'anyOf':
      case 'oneOf':
        if (!Array.isArray(value) || value.length === 0) {
          warn(st, at, 'INVALID_SCHEMA', `${key} must be a non-empty array of schemas, found ${describe(value)}; ignored`);
        } else {
          setOwn(
            out,
            key,
            value.map((item, i) => convertSchema(item, `${at}/${i}`, st)),
          );
        }
        break;
      case 'required': {
        if (!Array.isArray(value)) {
          warn(st, at, 'INVALID_SCHEMA', `required must be an array of property names, found ${describe(value)}; ignored`);
          break;
        }
        const names: string[] = [];
        for (const name of value) {
          if (typeof name !== 'string') {
            warn(st, at, 'INVALID_SCHEMA', `required entries must be strings, found ${describe(name)}; ignored`);
          } else if (!names.includes(name)) {
            names.push(name);
          }
        }
        if (names.length > 0) setOwn(out, key, names);
        break;
      }
      case 'enum': {
        if (!Array.isArray(value) || value.length === 0) {
          warn(st, at, 'INVALID_SCHEMA', `enum must be a non-empty array, found ${describe(value)}; ignored`);
          break;
        }
        const values: unknown[] = [];
        for (const item of value) {
          const json = toJson(item);
          if (!json.ok) {
            warn(st, at, 'INVALID_SCHEMA', `enum value ${describe(item)} is not JSON data; ignored`);
            continue;
          }
          if (!values.some((v) => deepEqual(v, json.value))) values.push(json.value);
        }
        if (values.length > 0) setOwn(out, key, values);
        break;
      }
      case 'const':
      case 'default': {
        const json = toJson(value);
        if (json.ok) setOwn(out, key, json.value);
        else warn(st, at, 'INVALID_SCHEMA', `${key} ${describe(value)} is not JSON data; ignored`);
        break;
      }
      case 'minimum':
      case 'maximum':
        if (typeof value === 'number' && Number.isFinite(value)) setOwn(out, key, value);
        else warn(st, at, 'INVALID_SCHEMA', `${key} must be a number, found ${describe(value)}; ignored`);
        break;
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        if (typeof value !== 'boolean' && !(typeof value === 'number' && Number.isFinite(value))) {
          warn(st, at, 'INVALID_SCHEMA', `${key} must be a number (or, in OpenAPI 3.0, a boolean), found ${describe(value)}; ignored`);
        }
        break; // resolved after the loop, once minimum/maximum are known
      case 'multipleOf':
        if (typeof value === 'number' && Number.isFinite(value) && value > 0) setOwn(out, key, value);
        else warn(st, at, 'INVALID_SCHEMA', `multipleOf must be a number greater than 0, found ${describe(value)}; ignored`);
        break;
      case 'uniqueItems':
      case 'readOnly':
      case 'writeOnly':
      case 'deprecated':
        if (typeof value === 'boolean') setOwn(out, key, value);
        else warn(st, at, 'INVALID_SCHEMA', `${key} must be a boolean, found ${describe(value)}; ignored`);
        break;
      case 'pattern':
        if (typeof value !== 'string') {
          warn(st, at, 'INVALID_SCHEMA', `pattern must be a string, found ${describe(value)}; ignored`);
        } else if (!isValidPattern(value)) {
          warn(st, at, 'INVALID_PATTERN', `pattern ${JSON.stringify(value)} is not a valid regular expression (JavaScript, "u" flag); ignored, the value is not checked against it`);
        } else {
          setOwn(out, key, value);
        }
        break;
      case 'format':
        if (typeof value === 'string' && AJV_FORMATS.has(value)) setOwn(out, key, value);
        break; // other formats are annotations for fastify
      case 'nullable':
        if (typeof value !== 'boolean') {
          warn(st, at, 'INVALID_SCHEMA', `nullable must be a boolean, found ${describe(value)}; ignored`);
        }
        break; // applied by applyNullable
      case '$defs':
      case 'definitions':
        warn(st, at, 'UNSUPPORTED_SCHEMA', `${key} inside a schema is not supported (move the schemas to components/schemas); ignored`);
        break;
      default:
        if (COUNT_KEYWORDS.has(key)) {
          if (typeof value === 'number' && Number.isInteger(value) && value >= 0) setOwn(out, key, value);
          else warn(st, at, 'INVALID_SCHEMA', `${key} must be a non-negative integer, found ${describe(value)}; ignored`);
        } else if (UNSUPPORTED_KEYWORDS.has(key)) {
          warn(st, at, 'UNSUPPORTED_SCHEMA', `${key} is not supported by fastify's validator; ignored, values are not checked against it`);
        }
      // anything else (title, description, example(s), discriminator, xml, externalDocs, x-*, $id, $schema,
      // $comment, contentEncoding, contentMediaType, unknown keywords) is an annotation for fastify: dropped.
    }
  }

  for (const [exclusive, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    const value = input[exclusive];
    if (!hasOwn(input, exclusive)) continue;
    if (typeof value === 'number' && Number.isFinite(value)) {
      setOwn(out, exclusive, value);
    } else if (value === true) {
      const limit = out[bound];
      if (typeof limit === 'number') {
        delete out[bound];
        setOwn(out, exclusive, limit);
      } else {
        warn(st, `${path}/${exclusive}`, 'INVALID_SCHEMA', `${exclusive}: true needs a numeric ${bound}; ignored`);
      }
    }
  }

  if (hasOwn(out, 'default')) fixScalarDefault(out, `${path}/default`, st);

  if (hasOwn(out, 'prefixItems')) {
    // fastify's Ajv is draft-07: tuples are `items: [...]`, the rest of the items is `additionalItems`.
    const tuple = out['prefixItems'];
    const rest = out['items'];
    delete out['prefixItems'];
    delete out['items'];
    setOwn(out, 'items', tuple);
    if (rest !== undefined) setOwn(out, 'additionalItems', rest);
  }

  // Ajv's strict mode rejects an `if` without `then`/`else`, and `then`/`else` without `if` (no effect either way).
  if (hasOwn(out, 'if') && !hasOwn(out, 'then') && !hasOwn(out, 'else')) {
    warn(st, `${path}/if`, 'INVALID_SCHEMA', 'if without then or else has no effect; ignored');
    delete out['if'];
  }
  for (const clause of ['then', 'else']) {
    if (hasOwn(out, clause) && !hasOwn(out, 'if')) {
      warn(st, `${path}/${clause}`, 'INVALID_SCHEMA', `${clause} without if has no effect; ignored`);
      delete out[clause];
    }
  }
  separateMatchingProperties(out);
  return out;
}

/**
 * Ajv's strict mode rejects a `properties` name that a `patternProperties` key matches ("use
 * allowMatchingProperties"). Same meaning without the overlap: the matching properties also get the pattern's
 * schema (`allOf`), and the pattern excludes their exact names.
 */
function separateMatchingProperties(out: SchemaObject): void {
  const properties = out['properties'];
  const patterns = out['patternProperties'];
  if (!isObject(properties) || !isObject(patterns)) return;
  const rebuilt: SchemaObject = {};
  let changed = false;
  for (const pattern of Object.keys(patterns)) {
    const patternSchema = patterns[pattern] as JsonSchema;
    const matched = Object.keys(properties).filter((name) => {
      try {
        return new RegExp(pattern).test(name) || new RegExp(pattern, 'u').test(name);
      } catch {
        return true;
      }
    });
    if (matched.length === 0) {
      setOwn(rebuilt, pattern, patternSchema);
      continue;
    }
    changed = true;
    for (const name of matched) setOwn(properties, name, withAlso(properties[name] as JsonSchema, structuredClone(patternSchema)));
    const names = matched.map((name) => name.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')).join('|');
    setOwn(rebuilt, `^(?!(?:${names})$)[\\s\\S]*?(?:${pattern})`, patternSchema);
  }
  if (changed) out['patternProperties'] = rebuilt;
}

/** `schema` and also `extra`, keeping the annotations (a property `default`) where Ajv looks for them. */
function withAlso(schema: JsonSchema, extra: JsonSchema): JsonSchema {
  if (schema === true || (isObject(schema) && Object.keys(schema).length === 0)) return extra;
  if (extra === true || (isObject(extra) && Object.keys(extra).length === 0)) return schema;
  if (schema === false || extra === false) return false;
  const inner: SchemaObject = { ...schema };
  const out: SchemaObject = { allOf: [inner, extra] };
  for (const key of HOISTED_ANNOTATIONS) {
    if (hasOwn(inner, key)) {
      setOwn(out, key, inner[key]);
      delete inner[key];
    }
  }
  return out;
}

function convertType(value: unknown, at: string, st: State): string | string[] | undefined {
  const names = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  if (names === undefined) {
    warn(st, at, 'INVALID_SCHEMA', `type must be a string or an array of strings, found ${describe(value)}; ignored`);
    return undefined;
  }
  const kept: string[] = [];
  for (const name of names) {
    if (typeof name === 'string' && TYPE_NAMES.has(name)) {
      if (!kept.includes(name)) kept.push(name);
    } else if (name === 'file') {
      warn(st, at, 'UNSUPPORTED_SCHEMA', 'type "file" (Swagger 2.0) is not a JSON Schema type; use type: string, format: binary; the type is not checked');
    } else {
      warn(st, at, 'INVALID_SCHEMA', `unknown type ${describe(name)}; the type is not checked`);
    }
  }
  if (kept.length === 0) return undefined;
  if (typeof value === 'string' || (kept.length === 1 && !Array.isArray(value))) return kept[0];
  return kept;
}

function applyNullable(input: SchemaObject, out: JsonSchema): JsonSchema {
  // `nullable` is an OpenAPI 3.0 keyword; 3.1 documents that still carry it get the same (evident) meaning.
  if (input['nullable'] !== true || !hasOwn(input, 'nullable')) return out;
  if (out === true) return true;
  if (out === false) return { type: 'null' };
  if (NULL_RESTRICTING.some((k) => hasOwn(out, k))) {
    const inner: SchemaObject = { ...out };
    const wrapper: SchemaObject = { anyOf: [inner, { type: 'null' }] };
    for (const key of HOISTED_ANNOTATIONS) {
      if (hasOwn(inner, key)) {
        setOwn(wrapper, key, inner[key]);
        delete inner[key];
      }
    }
    return wrapper;
  }
  const type = out['type'];
  if (typeof type === 'string') {
    if (type !== 'null') out['type'] = [type, 'null'];
  } else if (Array.isArray(type)) {
    if (!type.includes('null')) out['type'] = [...type, 'null'];
  }
  const values = out['enum'];
  if (Array.isArray(values) && !values.includes(null)) out['enum'] = [...values, null];
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// $ref

function resolveRef(ref: string, path: string, st: State): JsonSchema {
  const at = `${path}/$ref`;
  if (!ref.startsWith('#')) {
    warn(st, at, 'UNRESOLVED_REF', `$ref ${JSON.stringify(ref)} points outside the document (bundle the spec first); accepting any value`);
    return {};
  }
  const tokens = locatePointer(st.ctx.document, ref);
  if (tokens === undefined) {
    warn(st, at, 'UNRESOLVED_REF', `$ref ${JSON.stringify(ref)} points at nothing; accepting any value`);
    return {};
  }
  let fallback: JsonSchema | undefined;
  if (tokens.length >= 3 && tokens[0] === 'components' && tokens[1] === 'schemas') {
    const name = tokens[2] as string;
    const rest = tokens.slice(3);
    const encoded = tokens.slice(2).map(encodeFragmentToken);
    const rewritten = { $ref: st.ctx.refPrefix + encoded.join('/') };
    const mustEscape = encoded.some((token, i) => token !== tokens[i + 2]);
    if (!(mustEscape && st.ctx.refEncoding === 'inline')) {
      if (rest.length === 0 || st.probing.has(name)) return rewritten;
      // A deeper pointer is only valid if the converted component still has that shape (nullable wrapping,
      // $ref siblings and prefixItems change it); otherwise inline the converted target.
      if (pathExists(probeComponent(name, st), rest)) return rewritten;
    }
    if (mustEscape && st.ctx.refEncoding === 'inline') fallback = rewritten;
  }
  const key = `#${tokens.map((t) => `/${escapePointerToken(t)}`).join('')}`;
  if (st.inlining.includes(key)) {
    if (fallback !== undefined) {
      warn(st, at, 'REF_CYCLE', `$ref ${JSON.stringify(ref)} cannot be inlined into itself; kept as an escaped $ref, which fast-json-stringify cannot resolve`);
      return fallback;
    }
    warn(st, at, 'REF_CYCLE', `$ref ${JSON.stringify(ref)} refers to itself through non-schema components and cannot be inlined; accepting any value`);
    return {};
  }
  st.inlining.push(key);
  try {
    return convertSchema(valueAt(st.ctx.document, tokens), path, st);
  } finally {
    st.inlining.pop();
  }
}

function pathExists(root: unknown, tokens: readonly string[]): boolean {
  return valueAt(root, tokens) !== undefined;
}

function probeComponent(name: string, st: State): JsonSchema {
  const cached = st.probeCache.get(name);
  if (cached !== undefined) return cached;
  const source = valueAt(st.ctx.document, ['components', 'schemas', name]);
  const probe: State = { ...st, inlining: [], active: new Set(), quiet: true };
  st.probing.add(name);
  try {
    const converted = convertSchema(source, '', probe);
    st.probeCache.set(name, converted);
    return converted;
  } finally {
    st.probing.delete(name);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function warn(st: State, path: string, code: keyof typeof SchemaWarningCodes, message: string): void {
  if (st.quiet) return;
  st.ctx.warn({ code, subject: st.ctx.subject, message: `at #${path}: ${message}` });
}

function hasOwn(value: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(value, key);
}

function isValidPattern(pattern: string, flags = 'u'): boolean {
  try {
    new RegExp(pattern, flags);
    return true;
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'undefined') return 'nothing';
  return `${typeof value} ${String(value)}`;
}

/** A deep copy that is plain JSON data (dates become ISO strings); `ok: false` for anything else. */
function toJson(value: unknown): { ok: true; value: unknown } | { ok: false } {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return { ok: true, value };
  if (typeof value === 'number') return Number.isFinite(value) ? { ok: true, value } : { ok: false };
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? { ok: false } : { ok: true, value: value.toISOString() };
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const item of value) {
      const json = toJson(item);
      if (!json.ok) return json;
      items.push(json.value);
    }
    return { ok: true, value: items };
  }
  if (isObject(value)) {
    const copy: SchemaObject = {};
    for (const key of Object.keys(value)) {
      const json = toJson(value[key]);
      if (!json.ok) return json;
      setOwn(copy, key, json.value);
    }
    return { ok: true, value: copy };
  }
  return { ok: false };
}
