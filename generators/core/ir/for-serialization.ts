/** Converted schemas as fast-json-stringify must see them to send every property the spec allows. */
import { isObject, setOwn, type Obj } from '../json.js';
import type { JsonSchema } from './json-schema.js';

const SCHEMA_MAP_KEYWORDS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];
const SCHEMA_KEYWORDS = [
  'items',
  'additionalItems',
  'additionalProperties',
  'unevaluatedItems',
  'unevaluatedProperties',
  'not',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
];
const SCHEMA_LIST_KEYWORDS = ['allOf', 'anyOf', 'oneOf', 'items', 'prefixItems'];

/**
 * A converted schema as fast-json-stringify must see it to send everything the spec allows: it writes only
 * the properties an object schema lists, so
 * - an object schema that lists no properties at all (a free-form object, `{type: object}`) gets
 *   `additionalProperties: true` (it would be sent as `{}`); a typeless fragment with only `required` (an
 *   `allOf` branch) lists those names instead;
 * - a name in `required` that `properties` does not list gets `{}` there (it would be left out, and the
 *   response would break the spec), unless `additionalProperties` is a schema (it is written by that one).
 * Objects with listed properties and no `additionalProperties` keep their other properties out of responses
 * (Fastify's usual filtering). Both changes keep what the schema accepts: an absent `additionalProperties`
 * already means `true`, and a `{}` property accepts what was accepted before. Returns a copy.
 */
export function forSerialization(schema: JsonSchema): JsonSchema {
  if (!isObject(schema)) return schema;
  const out: Obj = {};
  for (const [key, value] of Object.entries(schema)) {
    let next = value;
    if (SCHEMA_MAP_KEYWORDS.includes(key) && isObject(value)) {
      const map: Obj = {};
      for (const [name, sub] of Object.entries(value)) setOwn(map, name, forSerialization(sub as JsonSchema));
      next = map;
    } else if (SCHEMA_LIST_KEYWORDS.includes(key) && Array.isArray(value)) {
      next = value.map((sub) => forSerialization(sub as JsonSchema));
    } else if (SCHEMA_KEYWORDS.includes(key) && (isObject(value) || typeof value === 'boolean')) {
      next = forSerialization(value as JsonSchema);
    }
    setOwn(out, key, next);
  }
  const types = typeof out['type'] === 'string' ? [out['type']] : Array.isArray(out['type']) ? out['type'] : undefined;
  const required = Array.isArray(out['required']) ? out['required'].filter((n): n is string => typeof n === 'string') : [];
  const objectLike = types ? types.includes('object') : isObject(out['properties']) || required.length > 0;
  if (!objectLike) return out;
  const additional = out['additionalProperties'];
  const open = additional === undefined || additional === true;
  if (!open) return out;
  // A fragment with only `required` (a branch of an `allOf`) lists those names instead of opening the object.
  if (!isObject(out['properties']) && !isObject(out['patternProperties']) && (types !== undefined || required.length === 0)) {
    out['additionalProperties'] = true;
    return out;
  }
  const unlisted = required.filter((n) => !isObject(out['properties']) || !Object.prototype.hasOwnProperty.call(out['properties'], n));
  if (unlisted.length > 0) {
    const properties: Obj = {};
    for (const [name, sub] of Object.entries(isObject(out['properties']) ? out['properties'] : {})) setOwn(properties, name, sub);
    for (const name of unlisted) setOwn(properties, name, {});
    out['properties'] = properties;
  }
  return out;
}
