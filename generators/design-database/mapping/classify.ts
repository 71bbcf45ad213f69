/**
 * Property schema → what it becomes in the database: a column (with its SQL type, nullability, enum values and
 * flags), a reference to another model (a foreign key) or a list of references (a join table). Follows `$ref`,
 * merges `allOf`, and reduces `oneOf`/`anyOf` to one column type when the variants agree.
 */
import type { SqlType } from '../../core/db/types.js';
import { BackdevError } from '../../core/errors.js';
import { isObject, type Obj } from '../../core/json.js';
import { parsePointer, resolvePointer, toPointer } from '../../core/spec/pointer.js';
import { sameType } from '../../core/db/sql-types.js';
import { checkValues, integerType, sortValues, stringType } from './column-types.js';

/** Keywords that say what a value is (as opposed to annotations such as description or readOnly). */
export const STRUCTURAL = [
  'type',
  'properties',
  'additionalProperties',
  'patternProperties',
  'items',
  'prefixItems',
  'enum',
  'const',
  'format',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  '$ref',
  'maxLength',
  'minLength',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
];

/** What a property schema maps to. */
export type Classified =
  | {
      kind: 'column';
      type: SqlType;
      /** The schema itself allows null (nullable: true, a "null" type, a null enum value / variant). */
      nullable: boolean;
      /** Enum values for a CHECK constraint (already filtered to the column's type, sorted). */
      values?: readonly (string | number)[];
      /** Why the column is jsonb when that is not a faithful mapping. */
      warn?: string;
      /** The schema allows any value (no type keywords at all). */
      any?: boolean;
      hasDefault: boolean;
      defaultValue?: unknown;
      flags: Flags;
    }
  | { kind: 'reference'; target: string; nullable: boolean; flags: Flags }
  | { kind: 'join'; target: string };

export interface Flags {
  unique: boolean;
  index: boolean;
  /** `x-backdev-ref: Model` */
  ref?: string;
  /** `x-backdev-key: external` on `id`: the key comes from elsewhere (a synced API), stored as given, never generated. */
  external?: boolean;
}

export interface ModelShape {
  name: string;
  properties: Map<string, unknown>;
  required: Set<string>;
}

export function isTimestampLike(c: Classified): boolean {
  if (c.kind !== 'column' || c.type.array) return false;
  return ['timestamptz', 'date', 'text', 'varchar'].includes(c.type.name) || c.any === true;
}

/** Reads the models of one document: their shapes and the classification of their properties. */
export class Classifier {
  constructor(
    readonly doc: Record<string, unknown>,
    readonly models: ReadonlySet<string>,
  ) {}

  modelShape(name: string): ModelShape {
    const pointer = toPointer(['components', 'schemas', name]);
    const components = isObject(this.doc.components) ? this.doc.components : undefined;
    const schemas = components && isObject(components.schemas) ? components.schemas : undefined;
    if (!schemas || !Object.prototype.hasOwnProperty.call(schemas, name)) {
      throw new BackdevError('SPEC_INVALID', `model ${name} is not a schema in components.schemas (#${pointer})`);
    }
    const shape = this.objectShape(schemas[name], new Set());
    if (!shape || !shape.evidence) {
      throw new BackdevError(
        'SPEC_INVALID',
        `schema ${name} (#${pointer}) is not an object schema, so it cannot be a table; give it "type: object" and properties, or do not use it as a model`,
      );
    }
    return { name, properties: shape.properties, required: shape.required };
  }

  /** The merged properties of an object schema (following $ref and allOf); undefined when it is not one. */
  private objectShape(node: unknown, seen: Set<string>): { properties: Map<string, unknown>; required: Set<string>; evidence: boolean } | undefined {
    if (!isObject(node)) return undefined;
    const out = { properties: new Map<string, unknown>(), required: new Set<string>(), evidence: false };
    if (typeof node.$ref === 'string') {
      if (seen.has(node.$ref)) return out;
      const target = resolvePointer(this.doc, node.$ref);
      return target === undefined ? undefined : this.objectShape(target, new Set([...seen, node.$ref]));
    }
    const types = typeList(node.type);
    if (types === undefined) return undefined;
    const nonNull = types.filter((t) => t !== 'null');
    if (nonNull.length > 0 && !(nonNull.length === 1 && nonNull[0] === 'object')) return undefined;
    if (nonNull.length === 1) out.evidence = true;
    const hasProps = isObject(node.properties) || node.additionalProperties !== undefined || isObject(node.patternProperties);
    if (!hasProps && nonNull.length === 0 && (node.oneOf !== undefined || node.anyOf !== undefined || node.enum !== undefined || node.items !== undefined)) {
      return undefined;
    }
    if (hasProps) out.evidence = true;
    if (Array.isArray(node.allOf)) {
      for (const member of node.allOf) {
        const m = this.objectShape(member, seen);
        if (!m) return undefined;
        for (const [k, v] of m.properties) out.properties.set(k, v);
        for (const r of m.required) out.required.add(r);
        out.evidence ||= m.evidence;
      }
    }
    if (isObject(node.properties)) for (const [k, v] of Object.entries(node.properties)) out.properties.set(k, v);
    if (Array.isArray(node.required)) for (const r of node.required) if (typeof r === 'string') out.required.add(r);
    return out;
  }

  /** The model a `$ref` (or a chain of them) names, if any. */
  modelOfRef(node: unknown): string | undefined {
    let current = node;
    for (let i = 0; i < 32 && isObject(current) && typeof current.$ref === 'string'; i++) {
      const ref = current.$ref;
      if (ref.startsWith('#')) {
        const segs = parsePointer(ref);
        if (segs.length === 3 && segs[0] === 'components' && segs[1] === 'schemas' && this.models.has(segs[2]!)) return segs[2];
      }
      current = resolvePointer(this.doc, ref);
    }
    return undefined;
  }

  classify(node: unknown, seen: Set<string>): Classified {
    if (node === true || (isObject(node) && Object.keys(node).every((k) => !STRUCTURAL.includes(k) && !k.startsWith('x-backdev')) && !('nullable' in node) && !('default' in node))) {
      return anyColumn(isObject(node) ? node : {});
    }
    if (!isObject(node)) return jsonb('the schema is not an object', true);
    const flags = readFlags(node);
    const ownNullable = node.nullable === true || (Array.isArray(node.type) && node.type.includes('null'));

    const model = this.modelOfRef(node);
    if (model !== undefined) return { kind: 'reference', target: model, nullable: ownNullable, flags };

    if (typeof node.$ref === 'string') {
      if (seen.has(node.$ref)) return outer(jsonb(`the reference ${node.$ref} is cyclic`, true), node);
      const target = resolvePointer(this.doc, node.$ref);
      if (target === undefined) return outer(jsonb(`the reference ${node.$ref} does not resolve`, true), node);
      return outer(this.classify(target, new Set([...seen, node.$ref])), node);
    }

    if (node.not !== undefined) return outer(jsonb('"not" has no column type', true), node);

    if (Array.isArray(node.allOf) && node.allOf.length > 0) {
      const members = node.allOf as unknown[];
      const rest = without(node, 'allOf');
      const modelMembers = members.filter((m) => this.modelOfRef(m) !== undefined);
      if (modelMembers.length > 0) {
        const others = members.filter((m) => this.modelOfRef(m) === undefined);
        if (modelMembers.length === 1 && others.every((m) => isObject(m) && !hasStructure(m)) && !hasStructure(rest)) {
          return { kind: 'reference', target: this.modelOfRef(modelMembers[0])!, nullable: ownNullable, flags };
        }
        return outer(jsonb('"allOf" combines a model reference with other schemas', true), node);
      }
      const merged = this.mergeAllOf(rest, members, seen);
      if (merged === undefined) return outer(jsonb('"allOf" combines schemas that cannot be merged', true), node);
      return this.classify(merged, seen);
    }

    const union = Array.isArray(node.oneOf) ? node.oneOf : Array.isArray(node.anyOf) ? node.anyOf : undefined;
    if (union !== undefined) {
      if (Array.isArray(node.oneOf) && Array.isArray(node.anyOf)) return outer(jsonb('both "oneOf" and "anyOf"', true), node);
      const keyword = Array.isArray(node.oneOf) ? 'oneOf' : 'anyOf';
      const rest = without(without(node, 'oneOf'), 'anyOf');
      const variants = (union as unknown[]).filter((v) => !this.isNullSchema(v));
      const nullable = ownNullable || variants.length < union.length;
      if (variants.length === 0) return outer({ ...anyColumn(rest), nullable: true }, rest);
      if (variants.length === 1) {
        const only = variants[0];
        const one = this.modelOfRef(only) !== undefined ? this.classify(only, seen) : this.classify(isObject(only) ? { ...rest, ...only } : only, seen);
        return withNullable(outer(one, rest), nullable);
      }
      const results = variants.map((v) => this.classify(isObject(v) ? { ...rest, ...v } : v, seen));
      const first = results[0]!;
      const same =
        first.kind === 'column' &&
        first.warn === undefined &&
        first.flags.ref === undefined &&
        results.every((r) => r.kind === 'column' && r.warn === undefined && r.flags.ref === undefined && sameType(r.type, first.type));
      if (!same || first.type.name === 'jsonb') {
        const objects = results.every((r) => r.kind !== 'column' || r.type.name === 'jsonb');
        return withNullable(outer(jsonb(`"${keyword}" of ${objects ? 'object schemas' : 'schemas of different types'} has no single column type`, true), rest), nullable);
      }
      const allValues = results.every((r) => r.kind === 'column' && r.values !== undefined);
      const values = allValues ? sortValues(results.flatMap((r) => (r.kind === 'column' ? (r.values ?? []) : []))) : undefined;
      const col: Classified = { kind: 'column', type: first.type, nullable, hasDefault: false, flags, ...(values ? { values } : {}) };
      return outer(col, rest);
    }

    const types = typeList(node.type);
    if (types === undefined) return outer(jsonb('"type" is not a string or a list of strings', true), node);
    const nonNull = [...new Set(types.filter((t) => t !== 'null'))];
    let type: string | undefined;
    if (nonNull.length > 1) {
      if (nonNull.every((t) => t === 'integer' || t === 'number')) type = 'number';
      else return outer(jsonb(`the type list ${JSON.stringify(nonNull)} mixes types`, true), node);
    } else {
      type = nonNull[0] ?? inferType(node);
    }
    if (types.length > 0 && nonNull.length === 0) type = undefined;

    const enumValues = Array.isArray(node.enum) ? (node.enum as unknown[]) : 'const' in node ? [node.const] : undefined;
    const nullInEnum = enumValues?.some((v) => v === null) ?? false;
    const nullable = ownNullable || nullInEnum;
    if (type === 'mixed') return outer(jsonb('the enum mixes values of different types', true), node);

    const base = { nullable, flags, hasDefault: 'default' in node, defaultValue: node.default } as const;
    let sqlType: SqlType;
    switch (type) {
      case undefined:
        return outer({ ...anyColumn(node), nullable }, node);
      case 'object':
        sqlType = { name: 'jsonb' };
        break;
      case 'array': {
        const items = node.items;
        if (this.modelOfRef(items) !== undefined) return { kind: 'join', target: this.modelOfRef(items)! };
        const inner = Array.isArray(items) || items === undefined ? undefined : this.classify(items, seen);
        if (inner?.kind === 'reference') return { kind: 'join', target: inner.target };
        if (inner?.kind === 'column' && inner.warn === undefined && !inner.type.array && inner.type.name !== 'jsonb') {
          sqlType = { ...inner.type, array: true };
        } else {
          sqlType = { name: 'jsonb' };
        }
        break;
      }
      case 'string':
        sqlType = stringType(node);
        break;
      case 'integer':
        sqlType = integerType(node);
        break;
      case 'number':
        sqlType = { name: node.format === 'decimal' ? 'numeric' : 'double precision' };
        break;
      case 'boolean':
        sqlType = { name: 'boolean' };
        break;
      default:
        return outer(jsonb(`the type "${type}" is not a JSON Schema type`, true), node);
    }
    const values = enumValues === undefined ? undefined : checkValues(enumValues.filter((v) => v !== null), sqlType);
    return { kind: 'column', type: sqlType, ...base, ...(values ? { values } : {}) };
  }

  private isNullSchema(v: unknown): boolean {
    if (!isObject(v)) return false;
    if (v.type === 'null') return true;
    if (Array.isArray(v.type) && v.type.length > 0 && v.type.every((t) => t === 'null')) return true;
    if (Array.isArray(v.enum) && v.enum.length > 0 && v.enum.every((x) => x === null)) return true;
    return 'const' in v && v.const === null && Object.keys(v).every((k) => k === 'const' || !STRUCTURAL.includes(k));
  }

  /** A shallow merge of allOf members (after $refs); undefined when two members disagree on a keyword. */
  private mergeAllOf(rest: Obj, members: unknown[], seen: Set<string>): Obj | undefined {
    const merged: Obj = {};
    const properties: Obj = {};
    const required: string[] = [];
    const parts: Obj[] = [];
    for (const m of members) {
      let node = m;
      const visited = new Set(seen);
      for (let i = 0; i < 32 && isObject(node) && typeof node.$ref === 'string'; i++) {
        if (visited.has(node.$ref)) return undefined;
        visited.add(node.$ref);
        node = resolvePointer(this.doc, node.$ref);
      }
      if (node === true) continue;
      if (!isObject(node)) return undefined;
      if (Array.isArray(node.allOf)) {
        const inner = this.mergeAllOf(without(node, 'allOf'), node.allOf as unknown[], visited);
        if (inner === undefined) return undefined;
        node = inner;
      }
      parts.push(node as Obj);
    }
    parts.push(rest);
    for (const part of parts) {
      for (const [k, v] of Object.entries(part)) {
        if (k === 'properties' && isObject(v)) Object.assign(properties, v);
        else if (k === 'required' && Array.isArray(v)) required.push(...v.filter((r): r is string => typeof r === 'string'));
        else if (k in merged && STRUCTURAL.includes(k) && JSON.stringify(merged[k]) !== JSON.stringify(v)) {
          // Two members constrain the same keyword differently: only a length limit has a simple intersection.
          const before = merged[k];
          if (k === 'maxLength' && typeof v === 'number' && typeof before === 'number') merged[k] = Math.min(before, v);
          else return undefined;
        } else merged[k] = v;
      }
    }
    if (Object.keys(properties).length > 0) merged.properties = properties;
    if (required.length > 0) merged.required = required;
    return merged;
  }
}

type ColumnClass = Extract<Classified, { kind: 'column' }>;

function anyColumn(node: Obj): ColumnClass {
  return { kind: 'column', type: { name: 'jsonb' }, nullable: false, hasDefault: 'default' in node, defaultValue: node.default, flags: readFlags(node), any: true };
}

function jsonb(reason: string, warn: boolean): ColumnClass {
  return { kind: 'column', type: { name: 'jsonb' }, nullable: false, hasDefault: false, flags: { unique: false, index: false }, ...(warn ? { warn: reason } : {}) };
}

/** Adds what the outer schema says (nullable, default, flags) to a classification of an inner one. */
function outer(inner: Classified, node: Obj): Classified {
  if (inner.kind === 'join') return inner;
  const flags = mergeFlags(inner.flags, readFlags(node));
  const nullable = inner.nullable || node.nullable === true || (Array.isArray(node.type) && node.type.includes('null'));
  if (inner.kind === 'reference') return { ...inner, nullable, flags };
  const withDefault = 'default' in node ? { hasDefault: true, defaultValue: node.default } : {};
  return { ...inner, nullable, flags, ...withDefault };
}

function withNullable(c: Classified, nullable: boolean): Classified {
  return c.kind === 'join' || !nullable ? c : { ...c, nullable: true };
}

function readFlags(node: Obj): Flags {
  return {
    unique: node['x-backdev-unique'] === true,
    index: node['x-backdev-index'] === true,
    ...(typeof node['x-backdev-ref'] === 'string' && node['x-backdev-ref'] !== '' ? { ref: node['x-backdev-ref'] } : {}),
    ...(node['x-backdev-key'] === 'external' ? { external: true } : {}),
  };
}

function mergeFlags(a: Flags, b: Flags): Flags {
  const ref = b.ref ?? a.ref;
  const external = a.external === true || b.external === true;
  return { unique: a.unique || b.unique, index: a.index || b.index, ...(ref !== undefined ? { ref } : {}), ...(external ? { external } : {}) };
}

function hasStructure(node: Obj): boolean {
  return Object.keys(node).some((k) => STRUCTURAL.includes(k));
}

function without(node: Obj, key: string): Obj {
  const copy: Obj = { ...node };
  delete copy[key];
  return copy;
}

/** `type` as a list; `[]` when absent; undefined when malformed. */
function typeList(type: unknown): string[] | undefined {
  if (type === undefined) return [];
  if (typeof type === 'string') return [type];
  if (Array.isArray(type) && type.every((t) => typeof t === 'string')) return type as string[];
  return undefined;
}

/** The type of a schema without `type`, from its other keywords; `mixed` for an enum of several kinds. */
function inferType(node: Obj): string | undefined {
  if (isObject(node.properties) || node.additionalProperties !== undefined || isObject(node.patternProperties)) return 'object';
  if (node.items !== undefined || node.prefixItems !== undefined) return 'array';
  const values = Array.isArray(node.enum) ? (node.enum as unknown[]) : 'const' in node ? [node.const] : undefined;
  if (values !== undefined) {
    const present = values.filter((v) => v !== null);
    if (present.length === 0) return undefined;
    if (present.every((v) => typeof v === 'string')) return 'string';
    if (present.every((v) => typeof v === 'number' && Number.isInteger(v))) return 'integer';
    if (present.every((v) => typeof v === 'number')) return 'number';
    if (present.every((v) => typeof v === 'boolean')) return 'boolean';
    return 'mixed';
  }
  if (typeof node.format === 'string' && ['uuid', 'date', 'date-time', 'email', 'uri'].includes(node.format)) return 'string';
  if (node.maxLength !== undefined || node.minLength !== undefined || node.pattern !== undefined) return 'string';
  if (node.minimum !== undefined || node.maximum !== undefined || node.exclusiveMinimum !== undefined || node.exclusiveMaximum !== undefined || node.multipleOf !== undefined) {
    return 'number';
  }
  if (node.minItems !== undefined || node.maxItems !== undefined) return 'array';
  return undefined;
}
