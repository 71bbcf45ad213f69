/**
 * add-sync: an external API's spec + the schema to keep in a table → what the sync needs, every spec string
 * still raw: the schema (by name), the list operation that returns it, how its pages go on (the pagination
 * adapter), the incremental watermark when the records carry a timestamp the list can filter on, and the
 * table's model (the external schema made into columns: scalars as columns, anything nested as jsonb).
 */
import { BackdevError, type SourceLocation } from '../core/errors.js';
import { isObject, type Obj } from '../core/json.js';
import { kebabCase, pascalCase, toIdentifier } from '../core/ir/names.js';
import { singularize } from '../core/resource/inflect.js';
import { locatePointer } from '../core/spec/locate.js';
import { toPointer } from '../core/spec/pointer.js';
import type { LoadedSpec } from '../core/spec/load.js';

export type PaginationKind = 'stripe' | 'cursorParam' | 'nextLink' | 'linkHeader' | 'pageNumber' | 'offsetLimit';

export interface SyncPagination {
  kind: PaginationKind;
  /** The adapter's options (raw names from the spec). */
  options: Record<string, string | number>;
  /** Why this adapter was chosen (for the notes and the generated file's comment). */
  reason: string;
}

export interface SyncIncremental {
  /** The record's property holding the timestamp. */
  property: string;
  /** The query parameter the list filters on (`created[gte]`, `updated_since`). */
  param: string;
  /** `unix` (seconds, a number) or `iso` (a date-time string). */
  format: 'unix' | 'iso';
}

export interface SyncSource {
  /** The external schema's name in components.schemas. */
  schema: string;
  /** The operation: method, path, operationId (raw). */
  operation: { method: string; path: string; operationId: string | undefined };
  /** Where the records are in a page's body: a property of it, or the body itself (an array). */
  recordsPath: string | undefined;
  pagination: SyncPagination;
  incremental: SyncIncremental | undefined;
  /** The first server URL of the spec (the default base URL). */
  baseUrl: string | undefined;
  title: string;
  /** The record's properties, each with how its column is made; `key`: the external id; `required`: by the spec. */
  properties: { name: string; kind: 'scalar' | 'json'; key: boolean; required: boolean }[];
  /** The table's model: a JSON Schema design-database turns into the table. */
  model: Obj;
}

const schemaRef = (name: string) => `#/components/schemas/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;

function componentSchemas(doc: Obj): Obj {
  const c = isObject(doc.components) ? doc.components : {};
  return isObject(c.schemas) ? c.schemas : {};
}

/** Follows `$ref`s (local, whole) to the schema they name. */
function deref(doc: Obj, node: unknown, depth = 0): unknown {
  if (!isObject(node) || typeof node.$ref !== 'string' || depth > 20) return node;
  const m = /^#\/components\/schemas\/(.+)$/.exec(node.$ref);
  if (!m) return node;
  const name = m[1]!.replace(/~1/g, '/').replace(/~0/g, '~');
  return deref(doc, componentSchemas(doc)[name], depth + 1);
}

/** Properties and required names of a schema, `allOf` branches merged. */
function objectShape(doc: Obj, schema: unknown, depth = 0): { properties: Obj; required: Set<string> } {
  const out = { properties: {} as Obj, required: new Set<string>() };
  const s = deref(doc, schema);
  if (!isObject(s) || depth > 10) return out;
  if (Array.isArray(s.allOf)) {
    for (const b of s.allOf) {
      const inner = objectShape(doc, b, depth + 1);
      Object.assign(out.properties, inner.properties);
      for (const r of inner.required) out.required.add(r);
    }
  }
  if (isObject(s.properties)) Object.assign(out.properties, s.properties);
  if (Array.isArray(s.required)) for (const r of s.required) if (typeof r === 'string') out.required.add(r);
  return out;
}

/** A scalar JSON Schema type of a property (`string`, `integer`, …), or undefined for anything else. */
function scalarType(doc: Obj, schema: unknown): { type: string; nullable: boolean; format: string | undefined } | undefined {
  const s = deref(doc, schema);
  if (!isObject(s) || s.$ref !== undefined || s.allOf || s.anyOf || s.oneOf) return undefined;
  let type = s.type;
  let nullable = s.nullable === true;
  if (Array.isArray(type)) {
    const rest = type.filter((t) => t !== 'null');
    nullable ||= rest.length !== type.length;
    if (rest.length !== 1) return undefined;
    type = rest[0];
  }
  if (typeof type !== 'string' || !['string', 'integer', 'number', 'boolean'].includes(type)) return undefined;
  return { type, nullable, format: typeof s.format === 'string' ? s.format : undefined };
}

function fail(spec: LoadedSpec, message: string, pointer: string, details: string[] = []): never {
  const location: SourceLocation = spec.pointersMatchRoot ? locatePointer(spec.root, spec.rootText, pointer) : { file: spec.root, pointer };
  throw new BackdevError('OPTION_INVALID', message, { location, details });
}

/** The schema's name as the spec spells it: exact, else the one name equal to it ignoring case. */
export function findSchema(spec: LoadedSpec, wanted: string): string {
  const schemas = componentSchemas(spec.document);
  if (isObject(schemas[wanted])) return wanted;
  const near = Object.keys(schemas).filter((n) => n.toLowerCase() === wanted.toLowerCase() && isObject(schemas[n]));
  if (near.length === 1) return near[0]!;
  const similar = Object.keys(schemas)
    .filter((n) => n.toLowerCase().includes(wanted.toLowerCase()) || wanted.toLowerCase().includes(n.toLowerCase()))
    .slice(0, 10);
  fail(spec, `--schema ${JSON.stringify(wanted)}: no schema of that name in components.schemas`, '/components/schemas', similar.length > 0 ? [`similar: ${similar.join(', ')}`] : []);
}

const METHODS = ['get'];

interface ListOp {
  method: string;
  path: string;
  operationId: string | undefined;
  op: Obj;
  pointer: string;
  /** Where the array of records is: a body property, or undefined for a bare array. */
  recordsPath: string | undefined;
  body: Obj;
}

/** The list shape of a 200 response returning arrays of `schema`: the body or one array property of it. */
function listShape(doc: Obj, op: Obj, schema: string): { recordsPath: string | undefined; body: Obj } | undefined {
  const responses = isObject(op.responses) ? op.responses : {};
  const ok = deref(doc, responses['200'] ?? responses['2XX'] ?? responses.default);
  if (!isObject(ok) || !isObject(ok.content)) return undefined;
  const media = Object.entries(ok.content).find(([type]) => /json/i.test(type))?.[1];
  if (!isObject(media)) return undefined;
  const target = schemaRef(schema);
  const isTarget = (s: unknown) => {
    if (!isObject(s)) return false;
    if (s.$ref === target) return true;
    // `allOf: [{ $ref }]` / `anyOf: [{ $ref }]` wrapping the one schema (Stripe's nested lists do this).
    const alts = (s.allOf ?? s.anyOf ?? s.oneOf) as unknown;
    return Array.isArray(alts) && alts.length === 1 && isObject(alts[0]) && alts[0].$ref === target;
  };
  const body = deref(doc, media.schema);
  if (!isObject(body)) return undefined;
  if (body.type === 'array' && isTarget(body.items)) return { recordsPath: undefined, body: {} };
  const { properties } = objectShape(doc, body);
  for (const [name, prop] of Object.entries(properties)) {
    const p = deref(doc, prop);
    if (isObject(p) && p.type === 'array' && isTarget(p.items)) return { recordsPath: name, body: properties };
  }
  return undefined;
}

function hasPathParams(path: string): boolean {
  return /\{[^}]+\}/.test(path);
}

/** The list operation: the one named by --operation (an operationId, or `GET /path`), else the only one. */
export function findListOperation(spec: LoadedSpec, schema: string, wanted: string | undefined): ListOp {
  const doc = spec.document;
  const paths = isObject(doc.paths) ? doc.paths : {};
  const lists: ListOp[] = [];
  let named: { op: Obj; method: string; path: string; pointer: string } | undefined;
  const wantedRoute = wanted === undefined ? undefined : /^([A-Za-z]+)\s+(\/\S*)$/.exec(wanted.trim());
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const op = item[method];
      if (!isObject(op)) continue;
      const pointer = toPointer(['paths', path, method]);
      const operationId = typeof op.operationId === 'string' ? op.operationId : undefined;
      const matches =
        wanted !== undefined &&
        (wantedRoute ? wantedRoute[1]!.toLowerCase() === method && wantedRoute[2] === path : operationId === wanted);
      if (matches) named = { op, method, path, pointer };
      if (!METHODS.includes(method)) continue;
      const shape = listShape(doc, op, schema);
      if (shape) lists.push({ method, path, operationId, op, pointer, ...shape });
    }
  }
  const describe = (l: ListOp) => `${l.operationId ?? '(no operationId)'} (${l.method.toUpperCase()} ${l.path})`;
  if (wanted !== undefined) {
    if (!named) {
      fail(spec, `--operation ${JSON.stringify(wanted)}: no operation with that operationId (or method and path) in the spec`, '/paths', listHint(lists, describe));
    }
    const found = lists.find((l) => l.pointer === named!.pointer);
    if (!found) {
      fail(
        spec,
        `--operation ${JSON.stringify(wanted)} (${named.method.toUpperCase()} ${named.path}) is not a list of ${schema}: a sync pulls a GET whose 200 response is an array of it (or an object with such an array)`,
        named.pointer,
        listHint(lists, describe),
      );
    }
    return found;
  }
  const plain = lists.filter((l) => !hasPathParams(l.path));
  if (plain.length === 1) return plain[0]!;
  if (plain.length === 0) {
    fail(spec, `--schema ${schema}: no GET operation without path parameters returns a list of it; name one with --operation`, schemaRef(schema).slice(1), listHint(lists, describe));
  }
  fail(spec, `--schema ${schema}: several operations list it; choose one with --operation`, '/paths', plain.map(describe));
}

function listHint(lists: ListOp[], describe: (l: ListOp) => string): string[] {
  return lists.length > 0 ? [`operations listing the schema: ${lists.slice(0, 10).map(describe).join(', ')}`] : [];
}

function queryParams(doc: Obj, list: ListOp, pathItem: Obj): Map<string, Obj> {
  const out = new Map<string, Obj>();
  const all = [...(Array.isArray(pathItem.parameters) ? pathItem.parameters : []), ...(Array.isArray(list.op.parameters) ? list.op.parameters : [])];
  for (const p of all) {
    const param = isObject(p) && typeof p.$ref === 'string' && p.$ref.startsWith('#/components/parameters/')
      ? (isObject(doc.components) && isObject((doc.components as Obj).parameters) ? ((doc.components as Obj).parameters as Obj)[p.$ref.slice('#/components/parameters/'.length)] : undefined)
      : p;
    if (isObject(param) && param.in === 'query' && typeof param.name === 'string') out.set(param.name, param);
  }
  return out;
}

const CURSOR_PARAMS = ['cursor', 'page_token', 'pageToken', 'next_token', 'continuation', 'after'];
const CURSOR_FIELDS = ['next_cursor', 'nextCursor', 'next_page_token', 'nextPageToken', 'cursor', 'next_token'];
const LINK_FIELDS = ['next', 'next_url', 'nextUrl', 'next_link', 'nextLink', 'next_page_url'];

/** The pagination adapter the operation's parameters and body fields point to. */
export function inferPagination(params: Map<string, Obj>, body: Obj): SyncPagination {
  const has = (n: string) => params.has(n);
  const field = (names: string[]) => names.find((n) => n in body);
  const limit = has('limit') ? 100 : undefined;
  if (has('starting_after') && 'has_more' in body) {
    return { kind: 'stripe', options: limit ? { limit } : {}, reason: 'the list takes starting_after and its page has has_more' };
  }
  const cursorParam = CURSOR_PARAMS.find(has);
  const cursorField = field(CURSOR_FIELDS);
  if (cursorParam && cursorField) {
    return { kind: 'cursorParam', options: { param: cursorParam, from: cursorField }, reason: `the list takes ${cursorParam} and its page has ${cursorField}` };
  }
  const link = field(LINK_FIELDS);
  if (link) return { kind: 'nextLink', options: { from: link }, reason: `its page has a next link (${link})` };
  if (has('page')) {
    const size = ['per_page', 'page_size', 'pageSize', 'limit', 'size'].find(has);
    return { kind: 'pageNumber', options: size ? { param: 'page', sizeParam: size, size: 100 } : { param: 'page' }, reason: 'the list takes page' };
  }
  if (has('offset')) return { kind: 'offsetLimit', options: { param: 'offset', ...(has('limit') ? { limitParam: 'limit', limit: 100 } : {}) }, reason: 'the list takes offset' };
  return { kind: 'linkHeader', options: {}, reason: 'no paging parameter or field was found: pages follow a Link header when the API sends one' };
}

const UPDATED = ['updated', 'updated_at', 'updatedAt', 'modified', 'modified_at', 'modifiedAt', 'last_modified'];
const CREATED = ['created', 'created_at', 'createdAt'];

/** The incremental watermark: an updated (else created) timestamp of the record the list can filter on. */
export function inferIncremental(doc: Obj, properties: Obj, params: Map<string, Obj>): SyncIncremental | undefined {
  for (const property of [...UPDATED, ...CREATED]) {
    if (!(property in properties)) continue;
    const t = scalarType(doc, properties[property]);
    const format = t?.type === 'integer' ? 'unix' : t?.type === 'string' && t.format === 'date-time' ? 'iso' : undefined;
    if (!format) continue;
    const candidates = [`${property}[gte]`, `${property}_since`, `${property}_after`, `${property}_gte`, `${property}.gte`, 'updated_since', 'since', 'modified_since'];
    // Stripe-style range objects: `created` taking { gte, … } is sent as created[gte].
    const param = params.get(property);
    const rangeParam = param && JSON.stringify(param.schema ?? {}).includes('"gte"') ? `${property}[gte]` : undefined;
    const name = rangeParam ?? candidates.find((c) => params.has(c));
    if (name) return { property, param: name, format };
  }
  return undefined;
}

/** The table's model: the key, scalars as columns of their type, everything else as jsonb (`{}`). */
function tableModel(doc: Obj, properties: Obj, required: ReadonlySet<string>): { model: Obj; props: SyncSource['properties'] } {
  const out: Obj = {};
  const props: SyncSource['properties'] = [];
  for (const name of Object.keys(properties).sort()) {
    const t = scalarType(doc, properties[name]);
    if (t) {
      // External values: text ids (not uuid), 64-bit integers, no length or enum limits the API may outgrow.
      const format = t.format === 'date-time' || t.format === 'date' ? { format: t.format } : t.type === 'integer' ? { format: 'int64' } : {};
      const text = t.type === 'string' && format.format === undefined ? { 'x-backdev-type': 'text' } : {};
      out[name] = { type: t.type, ...format, ...text, ...(name === 'id' ? { 'x-backdev-key': 'external' } : { nullable: true }) };
    } else out[name] = {};
    props.push({ name, kind: t ? 'scalar' : 'json', key: name === 'id', required: required.has(name) });
  }
  return { model: { type: 'object', properties: out, required: ['id'] }, props };
}

/** Everything about the source a sync job needs. */
export function buildSyncSource(spec: LoadedSpec, schemaName: string, operation: string | undefined): SyncSource {
  const doc = spec.document;
  const schema = findSchema(spec, schemaName);
  const list = findListOperation(spec, schema, operation);
  const { properties, required } = objectShape(doc, componentSchemas(doc)[schema]);
  const id = scalarType(doc, properties.id);
  if (!id || (id.type !== 'string' && id.type !== 'integer')) {
    fail(spec, `--schema ${schema} has no scalar "id" property: a synced table is keyed by the external id`, `${schemaRef(schema).slice(1)}/properties`);
  }
  const pathItem = (doc.paths as Obj)[list.path] as Obj;
  const params = queryParams(doc, list, pathItem);
  const servers = Array.isArray(doc.servers) ? doc.servers : [];
  const server = isObject(servers[0]) && typeof servers[0].url === 'string' ? servers[0].url : undefined;
  const info = isObject(doc.info) ? doc.info : {};
  const { model, props } = tableModel(doc, properties, required);
  return {
    schema,
    operation: { method: list.method, path: list.path, operationId: list.operationId },
    recordsPath: list.recordsPath,
    pagination: inferPagination(params, list.body),
    incremental: inferIncremental(doc, properties, params),
    baseUrl: server && /^https?:\/\//i.test(server) ? server.replace(/\/+$/, '') : undefined,
    title: typeof info.title === 'string' ? info.title : 'the external API',
    properties: props,
    model,
  };
}

/** The job's default name: `<api>-<schema plural>` from the spec title and the schema (`stripe-customers`). */
export function defaultJobName(source: Pick<SyncSource, 'title' | 'schema'>): string {
  const api = kebabCase(source.title).split('-').filter((w) => w !== '' && w !== 'api')[0] ?? '';
  const schema = kebabCase(source.schema);
  return [api, schema.endsWith('s') ? schema : `${schema}s`].filter((w) => w !== '').join('-') || 'sync';
}

/** A job name: lowercase words joined by `-` (also the file stem and the checkpoint key). */
export function jobNameProblem(name: string): string | undefined {
  return /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/.test(name) && name.length <= 40 ? undefined : `--name ${JSON.stringify(name)}: a job name is lowercase words joined by "-" (e.g. stripe-customers), at most 40 characters`;
}

/** The names a job's code uses, all from the job name (safe by construction). */
export function jobNames(job: string) {
  const words = job.split('-');
  const singular = [...words.slice(0, -1), singularize(words[words.length - 1]!)].join('-');
  return {
    job,
    stem: job,
    model: toIdentifier(singular, 'pascal', 'SyncRecord'),
    record: `${toIdentifier(singular, 'pascal', 'Sync')}Record`,
    row: `${toIdentifier(singular, 'pascal', 'Sync')}Row`,
    map: toIdentifier(`map-${singular}`, 'camel', 'mapRecord'),
    stream: toIdentifier(`${job}-stream`, 'camel', 'stream'),
    factory: toIdentifier(`create-${job}-job`, 'camel', 'createJob'),
    env: job.toUpperCase().replace(/-/g, '_'),
    pascal: pascalCase(job),
  };
}
