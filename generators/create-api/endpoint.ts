/**
 * `backdev create-api` spec editing: adds a CRUD resource (schemas `<Name>`, `<Name>Create`, `<Name>Update`,
 * `<Name>Page`, `Problem` and the error responses in `components.responses` when missing, paths `/<plural>` and `/<plural>/{id}`, a tag) to an OpenAPI 3 document
 * given as text, and returns the new text.
 */

import { BackdevError } from '../core/errors.js';
import { toPointer } from '../core/spec/pointer.js';
import type { FieldSpec } from '../core/resource/fields.js';
import { resourceNames, type ResourceNames } from '../core/resource/names.js';
import { refError } from '../core/resource/fields.js';
import {
  buildAdditions,
  DEFAULT_PROBLEM_NAMES,
  fieldSchema,
  updateFieldSchema,
  PROBLEM_RESPONSES,
  PROBLEM_SCHEMA,
  problemResponses,
  type Additions,
  type ProblemNames,
} from '../core/resource/additions.js';
import { openSpecForEdit, writeSpecEdit, type SpecChanges } from '../core/spec/edit/index.js';
import { deepEqual, isObject as isObj, own, type Obj } from '../core/json.js';
import { HTTP_METHODS } from '../core/spec/structure.js';


export interface EndpointEdit {
  /** The new spec text (the input itself when nothing changed). */
  text: string;
  changed: boolean;
  /** The resource was already in the spec: `addedFields` were added to its schemas. */
  existing: boolean;
  /** The fields added to an existing resource (empty for a new resource). */
  addedFields: string[];
  /** The models the fields refer to with `ref(Model)`. */
  refTargets: string[];
  schemaName: string;
  tag: string;
  /** `[list, create, get, update, delete]`. */
  operationIds: string[];
}

export interface EndpointOptions {
  /** The `--fields` text the fields were parsed from, so that an error can point into it. */
  fieldsText?: string | undefined;
  /**
   * Check that every `ref(Model)` names a model with a table: the resource itself, a schema marked
   * `x-backdev-table: true`, or one of `knownModels` (designed with --model). The CLI always checks.
   */
  checkRefs?: boolean | undefined;
  knownModels?: readonly string[] | undefined;
}

/**
 * Adds the resource `endpoint` to the spec; when the spec already has it (its `<Name>`, `<Name>Create` and
 * `<Name>Update` schemas), adds the fields it does not have yet to those three schemas instead.
 */
export function addEndpoint(specText: string, fileName: string, endpoint: string, fields: FieldSpec[], options: EndpointOptions = {}): EndpointEdit {
  const names = resourceNames(endpoint);
  checkFields(fields);
  const result: Omit<EndpointEdit, 'text' | 'changed' | 'existing' | 'addedFields'> = {
    refTargets: [...new Set(fields.flatMap((f) => (f.ref !== undefined ? [f.ref] : [])))],
    schemaName: names.schemaName,
    tag: names.tag,
    operationIds: [
      names.operationIds.list,
      names.operationIds.create,
      names.operationIds.get,
      names.operationIds.update,
      names.operationIds.delete,
    ],
  };

  const source = openSpecForEdit(specText, fileName);
  const root = source.root;
  const openapi31 = source.openapi31;

  if (options.checkRefs) checkRefs(root, names.schemaName, fields, options);
  const additions = buildAdditions(names, fields, openapi31, problemNames(root));
  const evolve = existingResource(root, names);
  const plan = planEdit(root, additions, names, fileName, evolve ? RESOURCE_SCHEMAS(names.schemaName) : []);
  const addedFields = evolve ? planNewFields(root, names.schemaName, fields, openapi31, fileName, plan) : [];
  const edited = { existing: evolve, addedFields };
  if (
    plan.paths.length === 0 &&
    plan.schemas.length === 0 &&
    (plan.responses ?? []).length === 0 &&
    plan.tag === undefined &&
    (plan.inserts ?? []).length === 0 &&
    (plan.appends ?? []).length === 0
  ) {
    return { ...result, ...edited, text: specText, changed: false };
  }
  const text = writeSpecEdit(source, plan);
  return { ...result, ...edited, text, changed: text !== specText };
}

/** The schemas of a resource that hold its fields. */
const RESOURCE_SCHEMAS = (model: string): string[] => [model, `${model}Create`, `${model}Update`];

function schemasOf(root: Obj): Obj {
  return isObj(root.components) && isObj(root.components.schemas) ? root.components.schemas : {};
}

/** The spec already has the resource: its `<Name>`, `<Name>Create` and `<Name>Update` schemas. */
function existingResource(root: Obj, names: ResourceNames): boolean {
  const schemas = schemasOf(root);
  return RESOURCE_SCHEMAS(names.schemaName).every((n) => isObj(own(schemas, n)));
}

/** Every `ref(Model)` names a model with a table (or the resource itself). */
function checkRefs(root: Obj, self: string, fields: FieldSpec[], options: EndpointOptions): void {
  const schemas = schemasOf(root);
  const known = new Set<string>([self, ...(options.knownModels ?? []).filter((m) => isObj(own(schemas, m)))]);
  for (const [name, schema] of Object.entries(schemas)) if (isObj(schema) && schema['x-backdev-table'] === true) known.add(name);
  for (const f of fields) {
    if (f.ref === undefined || known.has(f.ref)) continue;
    const list = [...known].sort().join(', ');
    const why = isObj(own(schemas, f.ref))
      ? `the schema "${f.ref}" has no table: mark it "x-backdev-table: true" or design it with design-database --model ${f.ref}`
      : `known models: ${list}`;
    throw refError(options.fieldsText, f, `unknown model "${f.ref}"`, why);
  }
}

/**
 * Plans the fields of `fields` that the existing resource `model` does not have yet: appended to the
 * properties of `<Name>`, `<Name>Create` and `<Name>Update` (and to their `required` lists where they are
 * required). A field already there with the same definition is left as it is; with another definition it is
 * an error. A required field without a default is refused: the table may have rows, which would have no
 * value for it. Returns the names of the fields added.
 */
function planNewFields(root: Obj, model: string, fields: FieldSpec[], openapi31: boolean, fileName: string, plan: SpecChanges): string[] {
  const schemas = schemasOf(root);
  const [mainName, createName, updateName] = RESOURCE_SCHEMAS(model) as [string, string, string];
  const main = own(schemas, mainName) as Obj;
  const create = own(schemas, createName) as Obj;
  const update = own(schemas, updateName) as Obj;
  for (const [name, schema] of [[mainName, main], [createName, create], [updateName, update]] as const) {
    if (!isObj(schema.properties) || (schema.required !== undefined && !Array.isArray(schema.required))) {
      throw new BackdevError(
        'ENDPOINT_EXISTS',
        `cannot add fields to schema "${name}" in ${fileName} (#${toPointer(['components', 'schemas', name])}): it has no "properties" mapping; add the fields there by hand`,
      );
    }
  }
  const mainProps = main.properties as Obj;
  const required = (schema: Obj) => (Array.isArray(schema.required) ? (schema.required as unknown[]) : []);
  const added: FieldSpec[] = [];
  for (const f of fields) {
    const key = f.name.toLowerCase().replace(/_/g, '');
    const same = Object.keys(mainProps).find((p) => p.toLowerCase().replace(/_/g, '') === key);
    if (same !== undefined) {
      const pointer = toPointer(['components', 'schemas', mainName, 'properties', same]);
      const wanted = fieldSchema(f, true);
      const matches =
        same === f.name &&
        deepEqual(mainProps[same], wanted) &&
        required(main).includes(f.name) === !f.optional;
      if (!matches) {
        throw new BackdevError(
          'ENDPOINT_EXISTS',
          `field "${f.name}" of ${mainName} is already in ${fileName} (#${pointer}) with another definition; leave it out of --fields, or change it in the spec`,
          { details: [`#${pointer} differs from what --fields "${describeField(f)}" adds`] },
        );
      }
      continue;
    }
    if (!f.optional && f.default === undefined) {
      throw new BackdevError(
        'FIELDS_SYNTAX',
        `--fields: new field "${f.name}" of the existing ${mainName} is required and has no default; the table may already have rows, which would have no value for it. Make it optional (${f.name}:${f.type}?) or give it a default (…:default=<value>)`,
      );
    }
    if (f.unique && !f.optional) {
      throw new BackdevError(
        'FIELDS_SYNTAX',
        `--fields: new field "${f.name}" of the existing ${mainName} is unique and required; existing rows would all get its default and break the uniqueness. Make it optional (${f.name}:${f.type}?:unique)`,
      );
    }
    added.push(f);
  }
  if (added.length === 0) return [];
  const at = (name: string, ...rest: string[]) => ['components', 'schemas', name, ...rest];
  const inserts: NonNullable<SpecChanges['inserts']> = [
    { path: at(mainName, 'properties'), entries: added.map((f) => [f.name, fieldSchema(f, true)]) },
    { path: at(createName, 'properties'), entries: added.filter((f) => !own(create.properties as Obj, f.name)).map((f) => [f.name, fieldSchema(f, true)]) },
    {
      path: at(updateName, 'properties'),
      entries: added.filter((f) => !own(update.properties as Obj, f.name)).map((f) => [f.name, updateFieldSchema(f, openapi31)]),
    },
  ];
  const appends: NonNullable<SpecChanges['appends']> = [];
  // A required new field has a default, so only `<Name>` requires it (create takes the default).
  const requiredNew = added.filter((f) => !f.optional).map((f) => f.name);
  if (requiredNew.length > 0) {
    if (Array.isArray(main.required)) appends.push({ path: at(mainName, 'required'), items: requiredNew });
    else inserts.push({ path: at(mainName), entries: [['required', requiredNew]] });
  }
  plan.inserts = inserts.filter((i) => i.entries.length > 0);
  plan.appends = appends;
  return added.map((f) => f.name);
}

function describeField(f: FieldSpec): string {
  const type = f.type === 'enum' ? `enum(${(f.enumValues ?? []).join('|')})` : f.type === 'ref' ? `ref(${f.ref})` : f.type;
  return [f.name, type + (f.optional ? '?' : ''), ...(f.unique ? ['unique'] : []), ...(f.index ? ['index'] : []), ...(f.default !== undefined ? [`default=${String(f.default)}`] : [])].join(':');
}

function checkFields(fields: FieldSpec[]): void {
  if (fields.length === 0) {
    throw new BackdevError(
      'FIELDS_SYNTAX',
      '--fields: a resource needs at least one field, e.g. --fields "name:string"',
    );
  }
  const seen = new Set<string>();
  for (const f of fields) {
    const key = f.name.toLowerCase();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(f.name) || ['id', 'createdat', 'updatedat'].includes(key.replace(/_/g, ''))) {
      throw new BackdevError('FIELDS_SYNTAX', `--fields: invalid or reserved field name "${f.name}"`);
    }
    if (seen.has(key)) throw new BackdevError('FIELDS_SYNTAX', `--fields: duplicate field name "${f.name}"`);
    seen.add(key);
  }
}


/**
 * The names of the problem schema and the error responses: `Problem`, `BadRequest`, … unless the spec
 * already has something else by that name (then `ProblemDetails`, `BackdevProblem`, …, and
 * `BackdevBadRequest`, …).
 */
function problemNames(root: Obj): ProblemNames {
  const components = isObj(root.components) ? root.components : {};
  const schemas = isObj(components.schemas) ? components.schemas : {};
  const responses = isObj(components.responses) ? components.responses : {};
  const pick = (candidates: string[], map: Obj, wanted: Obj) =>
    candidates.find((name) => {
      const existing = own(map, name);
      return existing === undefined || deepEqual(existing, wanted);
    }) ?? `${candidates[candidates.length - 1]}2`;
  const schema = pick(['Problem', 'ProblemDetails', 'BackdevProblem'], schemas, PROBLEM_SCHEMA);
  const wanted = problemResponses(schema);
  const names = { ...DEFAULT_PROBLEM_NAMES.responses };
  for (const kind of PROBLEM_RESPONSES) names[kind] = pick([kind, `Backdev${kind}`], responses, wanted[kind]);
  return { schema, responses: names };
}

function planEdit(root: Obj, add: Additions, names: ResourceNames, fileName: string, skip: readonly string[] = []): SpecChanges {
  const conflicts: string[] = [];
  const details: string[] = [];
  const plan: SpecChanges = { paths: [], schemas: [], tag: undefined };
  const hint = 'remove it or choose another endpoint name';

  const schemas = isObj(root.components) && isObj(root.components.schemas) ? root.components.schemas : {};
  for (const [name, schema] of add.schemas) {
    if (skip.includes(name)) continue;
    const existing = own(schemas, name);
    if (existing === undefined) plan.schemas.push([name, schema]);
    else if (!deepEqual(existing, schema)) {
      const pointer = toPointer(['components', 'schemas', name]);
      conflicts.push(`schema "${name}" already exists in ${fileName} (#${pointer}); ${hint}`);
      details.push(
        `#${pointer} differs from what create-api adds, first at #${firstDifference(existing, schema, pointer)}`,
      );
    }
  }
  if (own(schemas, add.problemName) === undefined) plan.schemas.push([add.problemName, add.problemSchema]);
  const components = isObj(root.components) ? root.components : {};
  const responses = isObj(components.responses) ? components.responses : {};
  plan.responses = add.responses.filter(([name]) => own(responses, name) === undefined);

  const paths = isObj(root.paths) ? root.paths : {};
  const template = (p: string) => p.replace(/\{[^}]*\}/g, '{}');
  const ours = new Set(add.paths.map(([p]) => p));
  for (const [path, item] of add.paths) {
    const existing = own(paths, path);
    const pointer = toPointer(['paths', path]);
    if (existing === undefined) plan.paths.push([path, item]);
    else if (!deepEqual(existing, item)) {
      conflicts.push(`path "${path}" already exists in ${fileName} (#${pointer}); ${hint}`);
      details.push(
        `#${pointer} differs from what create-api adds, first at #${firstDifference(existing, item, pointer)}`,
      );
    }
    for (const other of Object.keys(paths)) {
      if (other !== path && !ours.has(other) && template(other) === template(path)) {
        conflicts.push(
          `path "${other}" in ${fileName} (#${toPointer(['paths', other])}) is the same route as "${path}"; ${hint}`,
        );
      }
    }
  }
  const wanted = new Set(Object.values(names.operationIds));
  for (const [path, item] of Object.entries(paths)) {
    if (ours.has(path) || !isObj(item)) continue;
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (isObj(op) && typeof op.operationId === 'string' && wanted.has(op.operationId)) {
        conflicts.push(
          `operationId "${op.operationId}" is already used by ${method.toUpperCase()} ${path} in ${fileName} (#${toPointer(['paths', path, method])}); rename it or choose another endpoint name`,
        );
      }
    }
  }
  if (conflicts.length > 0) {
    throw new BackdevError('ENDPOINT_EXISTS', conflicts[0]!, { details: [...conflicts.slice(1), ...details] });
  }

  if (Array.isArray(root.tags) && !root.tags.some((t) => isObj(t) && t.name === names.tag)) {
    plan.tag = { name: names.tag, description: `Operations on ${names.pluralWords.join(' ')}` };
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** JSON pointer (from `pointer`) of the first place where `a` and `b` differ. */
function firstDifference(a: unknown, b: unknown, pointer: string): string {
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) {
      if (!deepEqual(a[i], b[i])) return firstDifference(a[i], b[i], `${pointer}/${i}`);
    }
  }
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
    for (const k of keys) {
      if (!deepEqual(own(a, k), own(b, k))) return firstDifference(own(a, k), own(b, k), pointer + toPointer([k]));
    }
  }
  return pointer;
}
