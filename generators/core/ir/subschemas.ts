/**
 * Walks over converted schemas for the last pass of the conversion: where Ajv evaluates a subschema under
 * `compositeRule` (a `default` there makes strict mode throw), and whether a schema holds a `$ref` or a
 * property `default` (which decides how a shared schema is compiled).
 */
import { isObject } from '../json.js';
import type { JsonSchema } from './json-schema.js';

/** Keywords whose value is a single subschema. */
const SINGLE_SCHEMA_KEYWORDS = ['additionalProperties', 'additionalItems', 'propertyNames', 'contains', 'not', 'if', 'then', 'else'];
/** Keywords below which Ajv validates with `compositeRule` (defaults are rejected there). */
const COMPOSITE_KEYWORDS: ReadonlySet<string> = new Set(['anyOf', 'oneOf', 'not', 'if', 'contains', 'propertyNames']);

/** Calls `fn` for every direct subschema of `schema`, with whether Ajv evaluates it under `compositeRule`. */
export function forEachSubschema(schema: JsonSchema, fn: (sub: JsonSchema, composite: boolean) => void): void {
  if (!isObject(schema)) return;
  for (const key of Object.keys(schema)) {
    const value = schema[key];
    const composite = COMPOSITE_KEYWORDS.has(key);
    if (key === 'properties' || key === 'patternProperties') {
      if (isObject(value)) for (const name of Object.keys(value)) visit(value[name], false);
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf' || key === 'items') {
      if (Array.isArray(value)) for (const item of value) visit(item, composite);
      else visit(value, composite);
    } else if (SINGLE_SCHEMA_KEYWORDS.includes(key)) {
      visit(value, composite);
    }
  }
  function visit(sub: unknown, composite: boolean): void {
    if (typeof sub === 'boolean' || isObject(sub)) fn(sub, composite);
  }
}

export function stripCompositeDefaults(schema: JsonSchema, composite: boolean): void {
  if (composite && isObject(schema)) delete schema['default'];
  forEachSubschema(schema, (sub, subComposite) => stripCompositeDefaults(sub, composite || subComposite));
}

export function containsRef(schema: JsonSchema): boolean {
  if (isObject(schema) && Object.prototype.hasOwnProperty.call(schema, '$ref')) return true;
  let found = false;
  forEachSubschema(schema, (sub) => {
    found ||= containsRef(sub);
  });
  return found;
}

export function hasDefaultBelowRoot(schema: JsonSchema): boolean {
  let found = false;
  forEachSubschema(schema, (sub) => {
    found ||= (isObject(sub) && Object.prototype.hasOwnProperty.call(sub, 'default')) || hasDefaultBelowRoot(sub);
  });
  return found;
}
