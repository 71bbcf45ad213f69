/**
 * The error bodies a generated server sends, as the spec declares them. Every error is an RFC 9457
 * problem; where an operation declares, for an error status (or `4XX`, `default`), a JSON body that a
 * problem does not fit (the pet store's `Error {code, message}`), the server sends that body instead, made
 * by a mapper in the user's `src/errors.ts`. This module finds those declarations and derives a mapper that
 * fits each declared schema (properties named like a code, a message or a title get the problem's status,
 * detail or title; other required properties a valid sample).
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { JsonSchema } from '../core/ir/json-schema.js';
import { isObject as isObj, type Obj } from '../core/json.js';
import { NameTable, camelCase, toIdentifier } from '../core/ir/names.js';
import { validSample } from './samples/index.js';
import { lazyRefs } from './samples/lazy-refs.js';
import type { Warning } from '../core/errors.js';
import type { ApiIR, MediaIR, OperationIR } from '../core/ir/types.js';

const addFormats = addFormatsModule.default;

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** How one operation answers one error status key. */
export interface ErrorResponseView {
  /** `400`, `4XX` or `default`. */
  status: string;
  /** The media type the body is sent with. */
  contentType: string;
  /** The mapper in src/errors.ts that shapes the body; undefined when the problem is sent as it is. */
  mapper: string | undefined;
  /** The spec declares the status with no content: the server sends it with an empty body. */
  empty: boolean;
}

/** One mapper function of src/errors.ts. */
export interface ErrorMapperView {
  /** Its export name (a safe identifier). */
  name: string;
  /** The component schema it produces, when the declared schema is a `$ref` to one. */
  schemaName: string | undefined;
  /** Where the schema is declared, for the doc comment: `GET /pets default`, … */
  usedBy: string[];
  /** The body, property by property (an object schema), or `whole` for any other schema. */
  fields: { name: string; source: 'status' | 'statusText' | 'detail' | 'title' | 'type' | 'instance' | 'sample'; sample?: unknown }[] | undefined;
  whole: { source: 'detail' | 'sample'; sample?: unknown } | undefined;
}

export interface ErrorResponsesView {
  /** By operation id. */
  byOperation: Map<string, ErrorResponseView[]>;
  mappers: ErrorMapperView[];
  /** How unknown routes answer: the one error shape every operation shares, if there is one. */
  fallback: ErrorResponseView[];
}


/** A validator without coercion or removal: does this exact body fit the schema? */
function strictValidator(defs: Readonly<Record<string, JsonSchema>>, schemaId: string) {
  const ajv = new Ajv({ strict: false, logger: false, allErrors: false, addUsedSchema: false, code: { optimize: false } });
  addFormats(ajv);
  ajv.addSchema({ $id: schemaId, $defs: defs });
  // Component schemas are compiled when a body first reaches them, not all at the first check.
  const lazy = lazyRefs(ajv, defs, schemaId);
  const cache = new Map<string, ValidateFunction | null>();
  return (schema: JsonSchema, value: unknown): boolean => {
    const key = JSON.stringify(schema);
    let fn = cache.get(key);
    if (fn === undefined) {
      try {
        fn = ajv.compile(lazy.prepare(typeof schema === 'boolean' ? schema : stripDefault(schema)));
      } catch {
        fn = null;
      }
      cache.set(key, fn);
    }
    return fn ? fn(structuredClone(value)) === true : false;
  };
}

function stripDefault(s: Obj): Obj {
  if (!Object.prototype.hasOwnProperty.call(s, 'default')) return s;
  const { default: _ignored, ...rest } = s;
  return rest;
}

const TITLES: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict', 422: 'Unprocessable Content', 500: 'Internal Server Error', 501: 'Not Implemented' };

/** Statuses a key stands for, when checking that a body fits. */
function statusesOf(key: string): number[] {
  if (/^\d{3}$/.test(key)) return [Number(key)];
  if (/^[1-5]XX$/i.test(key)) return key[0] === '4' ? [400, 404] : [Number(`${key[0]}00`)];
  return [400, 404, 500];
}

function sampleProblems(status: number): Obj[] {
  const title = TITLES[status] ?? 'Error';
  const base = { type: 'about:blank', title, status, detail: 'the request is invalid', instance: 'urn:request:req-1' };
  return [base, { ...base, errors: [{ pointer: '/body/name', message: 'must be string' }] }];
}

const STATUS_NAMES = new Set(['code', 'status', 'statuscode', 'status_code', 'httpstatus', 'http_status']);
const DETAIL_NAMES = new Set(['message', 'detail', 'details', 'description', 'errormessage', 'error_message', 'error_description', 'msg']);
const TITLE_NAMES = new Set(['title', 'error', 'reason', 'summary']);

export function buildErrorResponses(api: ApiIR, warnings: Warning[] = []): ErrorResponsesView {
  const fits = strictValidator(api.schemaDefs, api.schemaId);
  const byOperation = new Map<string, ErrorResponseView[]>();
  const mappers = new Map<string, ErrorMapperView>();
  const names = new NameTable();
  const resolve = (schema: JsonSchema): JsonSchema => {
    let s = schema;
    for (let i = 0; i < 16 && isObj(s) && typeof s.$ref === 'string' && s.$ref.startsWith(api.schemaRefPrefix); i++) {
      const name = decodeURIComponent(s.$ref.slice(api.schemaRefPrefix.length)).replace(/~1/g, '/').replace(/~0/g, '~');
      s = api.schemaDefs[name] ?? {};
    }
    return s;
  };

  const mapperFor = (op: OperationIR, status: string, media: MediaIR): string => {
    const schema = media.schema;
    const ref = isObj(schema) && typeof schema.$ref === 'string' && Object.keys(schema).length === 1 && schema.$ref.startsWith(api.schemaRefPrefix) ? schema.$ref : undefined;
    const schemaName = ref ? decodeURIComponent(ref.slice(api.schemaRefPrefix.length)) : undefined;
    const key = schemaName !== undefined ? `ref:${schemaName}` : `inline:${JSON.stringify(schema)}`;
    const usedBy = `${op.method.toUpperCase()} ${op.path} ${status}`;
    const existing = mappers.get(key);
    if (existing) {
      existing.usedBy.push(usedBy);
      return existing.name;
    }
    const base = schemaName !== undefined ? `${camelCase(schemaName)}Body` : `${camelCase(`${op.id} ${status}`)}Error`;
    const name = names.claim(toIdentifier(base, 'camel', 'errorBody'));
    const derived = deriveMapper(schema, status, resolve, fits, api);
    if (derived.whole?.source === 'sample' && !fits(schema, derived.whole.sample)) {
      warnings.push({
        code: 'ERROR_BODY_UNSATISFIABLE',
        subject: `operation ${op.id}`,
        message: `no value satisfies the schema of response ${status}${schemaName === undefined ? '' : ` (${JSON.stringify(schemaName)})`} (a oneOf whose alternatives accept the same values, say): ${name} in src/errors.ts returns null; fix the spec or write the body there`,
      });
    }
    mappers.set(key, { name, schemaName, usedBy: [usedBy], ...derived });
    return name;
  };

  for (const op of api.operations) {
    const list: ErrorResponseView[] = [];
    for (const r of op.responses) {
      if (!/^[45]/.test(r.status) && r.status !== 'default') continue;
      const problemMedia = r.contents.find((m) => m.mediaType.split(';')[0]!.trim().toLowerCase() === PROBLEM_MEDIA_TYPE);
      const media = problemMedia ?? r.contents.find((m) => m.json);
      if (!media) {
        // No content at all: the status alone is the answer. Content that is not JSON: a problem.
        list.push({ status: r.status, contentType: PROBLEM_MEDIA_TYPE, mapper: undefined, empty: r.contents.length === 0 });
        continue;
      }
      const problemFits = statusesOf(r.status).every((s) => sampleProblems(s).every((p) => fits(media.schema, p)));
      list.push({ status: r.status, contentType: media.mediaType, mapper: problemFits ? undefined : mapperFor(op, r.status, media), empty: false });
    }
    if (list.length > 0) byOperation.set(op.id, list);
  }

  // Unknown routes: the one non-problem shape all declared errors share, if there is exactly one.
  const shapes = new Map<string, ErrorResponseView>();
  for (const list of byOperation.values()) for (const e of list) if (!e.empty) shapes.set(`${e.contentType}\u0000${e.mapper ?? ''}`, e);
  const only = shapes.size === 1 ? [...shapes.values()][0]! : undefined;
  const fallback = only?.mapper ? [{ status: 'default', contentType: only.contentType, mapper: only.mapper, empty: false }] : [];
  return { byOperation, mappers: [...mappers.values()], fallback };
}

function deriveMapper(
  schema: JsonSchema,
  status: string,
  resolve: (s: JsonSchema) => JsonSchema,
  fits: (schema: JsonSchema, value: unknown) => boolean,
  api: ApiIR,
): Pick<ErrorMapperView, 'fields' | 'whole'> {
  const sample = (s: JsonSchema): unknown => {
    const r = validSample(s, api.schemaDefs as Record<string, JsonSchema>, api.schemaRefPrefix);
    return r.ok ? r.value : null;
  };
  const statuses = statusesOf(status);
  const target = resolve(schema);
  const props = isObj(target) && isObj(target.properties) ? target.properties : undefined;
  if (props) {
    const required = new Set(isObj(target) && Array.isArray(target.required) ? (target.required as string[]) : []);
    const fields: NonNullable<ErrorMapperView['fields']> = [];
    for (const [name, raw] of Object.entries(props)) {
      const propSchema = raw as JsonSchema;
      const lower = name.toLowerCase();
      const acceptsStatus = statuses.every((s) => fits(propSchema, s));
      const acceptsText = fits(propSchema, 'Some text about what went wrong');
      if (STATUS_NAMES.has(lower) && acceptsStatus) fields.push({ name, source: 'status' });
      else if (STATUS_NAMES.has(lower) && statuses.every((s) => fits(propSchema, String(s)))) fields.push({ name, source: 'statusText' });
      else if (DETAIL_NAMES.has(lower) && acceptsText) fields.push({ name, source: 'detail' });
      else if (TITLE_NAMES.has(lower) && acceptsText) fields.push({ name, source: 'title' });
      else if (lower === 'type' && fits(propSchema, 'about:blank')) fields.push({ name, source: 'type' });
      else if (lower === 'instance' && fits(propSchema, 'urn:request:req-1')) fields.push({ name, source: 'instance' });
      else if (required.has(name)) fields.push({ name, source: 'sample', sample: sample(propSchema) });
    }
    // The derived body must fit; if it does not (an odd combination of keywords), a whole sample does.
    const probe = (s: number): Obj => {
      const p = sampleProblems(s)[0]!;
      const out: Obj = {};
      for (const f of fields) {
        out[f.name] =
          f.source === 'status' ? s : f.source === 'statusText' ? String(s) : f.source === 'detail' ? p.detail : f.source === 'title' ? p.title : f.source === 'type' ? p.type : f.source === 'instance' ? p.instance : f.sample;
      }
      return out;
    };
    // No property to derive (none required, none a problem field): a whole sample, as for other schemas.
    if (fields.length > 0 && statuses.every((s) => fits(schema, probe(s)))) return { fields, whole: undefined };
    return { fields: undefined, whole: { source: 'sample', sample: sample(schema) } };
  }
  if (fits(schema, 'Some text about what went wrong')) return { fields: undefined, whole: { source: 'detail' } };
  return { fields: undefined, whole: { source: 'sample', sample: sample(schema) } };
}
