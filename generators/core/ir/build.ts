/**
 * OpenAPI document → IR. One function per spec object (operation, parameter, request body, response);
 * anything that cannot be represented exactly becomes a warning naming the operation and a sound fallback.
 */
import { quoteName, type Warning } from '../errors.js';
import type { LoadedSpec } from '../spec/load.js';
import { isObject, type Obj } from '../json.js';
import { deref } from '../spec/pointer.js';
import { HTTP_METHODS, type HttpMethod } from '../spec/structure.js';
import { toFastifySchema, type JsonSchema } from './json-schema.js';
import { NameTable, toFileStem, toIdentifier } from './names.js';
import type {
  ApiIR,
  CrudAction,
  SecurityRequirement,
  SecuritySchemeIR,
  GroupIR,
  MediaIR,
  OperationIR,
  ParameterIR,
  ParameterLocation,
  RequestBodyIR,
  ResponseIR,
} from './types.js';

export const SCHEMA_ID = 'backdev-schemas';
export const SCHEMA_REF_PREFIX = `${SCHEMA_ID}#/$defs/`;
const DEFAULT_TAG = 'default';
/** A template expression of a path: `{name}` (OpenAPI has no escape for a literal brace). */
const PATH_TEMPLATE = /\{([^}]*)\}/g;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export interface BuildContext {
  readonly doc: Obj;
  readonly version: '3.0' | '3.1';
  readonly warnings: Warning[];
}

export function buildApi(spec: LoadedSpec): ApiIR {
  const ctx: BuildContext = { doc: spec.document, version: spec.version, warnings: [...spec.warnings] };
  const info = isObject(ctx.doc.info) ? ctx.doc.info : {};
  const schemaDefs = buildSchemaDefs(ctx);

  const raw = collectOperations(ctx);
  const ids = new NameTable({ reserved: ['handlers', 'registerRoutes'] });
  // Operations with an operationId claim their names first, so an id-less operation never steals one.
  const order = [...raw.keys()].sort((a, b) => Number(!raw[a]!.operationId) - Number(!raw[b]!.operationId) || a - b);
  const idOf = new Map<number, string>();
  for (const i of order) {
    const r = raw[i]!;
    const base = r.operationId
      ? toIdentifier(r.operationId, 'camel', 'operation')
      : toIdentifier(`${r.method} ${r.path}`, 'camel', 'operation');
    idOf.set(i, ids.claim(base));
  }

  const groupsByTag = new Map<string, { description: string | undefined; ops: string[] }>();
  const tagDescriptions = new Map<string, string | undefined>();
  if (Array.isArray(ctx.doc.tags)) {
    for (const t of ctx.doc.tags) if (isObject(t) && typeof t.name === 'string') tagDescriptions.set(t.name, str(t.description));
  }
  const operations: OperationIR[] = [];
  const seenRoutes = new Map<string, string>();
  raw.forEach((r, i) => {
    const id = idOf.get(i)!;
    if (hasWildcard(r.path)) {
      ctx.warnings.push({
        code: 'PATH_WILDCARD',
        subject: `operation ${id}`,
        message: `the path ${quoteName(r.path)} has a "*" that Fastify's router reads as a wildcard (any rest of the URL) or refuses at startup, and it cannot be escaped; the operation is left out`,
      });
      return;
    }
    const routeKey = `${r.method} ${r.path.replace(/\{[^}]*\}/g, '{}')}`;
    const clash = seenRoutes.get(routeKey);
    if (clash) {
      ctx.warnings.push({
        code: 'ROUTE_CONFLICT',
        subject: `operation ${id}`,
        message: `${r.method.toUpperCase()} ${quoteName(r.path)} is the same route as operation ${clash} for Fastify; it is left out`,
      });
      return;
    }
    seenRoutes.set(routeKey, id);
    const tag = r.tags[0] ?? DEFAULT_TAG;
    if (!groupsByTag.has(tag)) groupsByTag.set(tag, { description: tagDescriptions.get(tag), ops: [] });
    groupsByTag.get(tag)!.ops.push(id);
    operations.push(buildOperation(ctx, r, id, tag));
  });

  // Group files: sorted by tag so that file names are claimed deterministically.
  const files = new NameTable({ caseInsensitive: true, reserved: ['index'] });
  const modules = new NameTable({ reserved: ['handlers', 'registerRoutes', 'app', 'impl'] });
  const groups: GroupIR[] = [];
  const stemOfTag = new Map<string, string>();
  for (const tag of [...groupsByTag.keys()].sort()) {
    const g = groupsByTag.get(tag)!;
    const fileStem = files.claim(toFileStem(tag, 'default'));
    stemOfTag.set(tag, fileStem);
    groups.push(
      Object.freeze({
        kind: 'group' as const,
        tag,
        description: g.description,
        fileStem,
        moduleIdent: modules.claim(toIdentifier(`${fileStem} handlers`, 'camel', 'handlers')),
        operationIds: Object.freeze([...g.ops].sort()),
      }),
    );
  }
  groups.sort((a, b) => (a.fileStem < b.fileStem ? -1 : a.fileStem > b.fileStem ? 1 : 0));
  const finalOps = operations.map((op) => Object.freeze({ ...op, group: stemOfTag.get(op.group)! }));

  return Object.freeze({
    kind: 'api',
    title: str(info.title) ?? 'API',
    version: str(info.version) ?? '0.0.0',
    description: str(info.description),
    openapiVersion: ctx.version,
    operations: Object.freeze(finalOps),
    groups: Object.freeze(groups),
    schemaDefs,
    modelSchemas: crudModelSchemas(ctx, finalOps),
    securitySchemes: Object.freeze(buildSecuritySchemes(ctx)),
    defaultSecurity: buildSecurity(ctx, ctx.doc.security, 'the document'),
    schemaRefPrefix: SCHEMA_REF_PREFIX,
    schemaId: SCHEMA_ID,
    warnings: Object.freeze(ctx.warnings),
  });
}

function buildSchemaDefs(ctx: BuildContext): Readonly<Record<string, JsonSchema>> {
  const components = isObject(ctx.doc.components) ? ctx.doc.components : {};
  const schemas = isObject(components.schemas) ? components.schemas : {};
  const defs: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    defs[name] = convert(ctx, schema, `schema ${quoteName(name)}`, 'shared');
  }
  return Object.freeze(defs);
}

/**
 * `position` tells the converter how Fastify will compile the result (see SchemaConversion.position):
 * component schemas are `shared`, request bodies `root`, parameters and responses `embedded`. Component
 * names that need escaping are inlined, because fast-json-stringify cannot follow escaped pointers.
 */
export function convert(ctx: BuildContext, schema: unknown, subject: string, position: 'embedded' | 'root' | 'shared' = 'embedded'): JsonSchema {
  return toFastifySchema(schema, {
    openapiVersion: ctx.version,
    refPrefix: SCHEMA_REF_PREFIX,
    document: ctx.doc,
    subject,
    warn: (w) => ctx.warnings.push(w),
    position,
    refEncoding: 'inline',
  });
}

interface RawOperation {
  method: HttpMethod;
  path: string;
  operationId: string | undefined;
  tags: string[];
  op: Obj;
  pathItem: Obj;
}

function collectOperations(ctx: BuildContext): RawOperation[] {
  const paths = isObject(ctx.doc.paths) ? ctx.doc.paths : {};
  const out: RawOperation[] = [];
  for (const p of Object.keys(paths).sort()) {
    if (!p.startsWith('/')) continue;
    const pathItem = deref(ctx.doc, paths[p]);
    if (!isObject(pathItem)) continue;
    for (const method of HTTP_METHODS) {
      const op = pathItem[method];
      if (!isObject(op)) continue;
      const tags = Array.isArray(op.tags) ? op.tags.filter((t): t is string => typeof t === 'string') : [];
      out.push({ method, path: p, operationId: str(op.operationId), tags, op, pathItem });
    }
  }
  return out;
}

function buildOperation(ctx: BuildContext, r: RawOperation, id: string, group: string): OperationIR {
  const subject = `operation ${r.operationId !== undefined ? quoteName(r.operationId) : `${r.method.toUpperCase()} ${quoteName(r.path)}`}`;
  const parameters = buildParameters(ctx, r, subject);
  return {
    kind: 'operation',
    id,
    operationId: r.operationId,
    method: r.method,
    path: r.path,
    url: toFastifyUrl(r.path, parameters, ctx, subject),
    group,
    summary: str(r.op.summary),
    description: str(r.op.description),
    deprecated: r.op.deprecated === true,
    parameters,
    requestBody: buildRequestBody(ctx, r.op.requestBody, subject),
    responses: buildResponses(ctx, r.op.responses, subject),
    crud: buildCrud(ctx, r.op['x-backdev-crud'], subject),
    security: buildSecurity(ctx, r.op.security, subject),
    account: ACCOUNT_ACTIONS.has(r.op['x-backdev-auth'] as string) ? (r.op['x-backdev-auth'] as OperationIR['account']) : undefined,
  };
}

const ACCOUNT_ACTIONS = new Set(['register', 'login', 'refresh', 'logout']);

/** A `security` list as written; an alternative naming an unknown scheme is kept and fails closed at runtime. */
function buildSecurity(ctx: BuildContext, raw: unknown, subject: string): SecurityRequirement[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) {
    ctx.warnings.push({ code: 'SECURITY_INVALID', subject, message: '"security" must be a list of requirement objects; ignored' });
    return undefined;
  }
  const components = isObject(ctx.doc.components) ? ctx.doc.components : {};
  const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
  const out: SecurityRequirement[] = [];
  for (const requirement of raw) {
    if (!isObject(requirement)) continue;
    const entry: Record<string, string[]> = {};
    for (const [name, scopes] of Object.entries(requirement)) {
      if (!(name in schemes)) {
        ctx.warnings.push({
          code: 'SECURITY_UNKNOWN_SCHEME',
          subject,
          message: `security names ${quoteName(name)}, which is not in components.securitySchemes; that alternative never passes`,
        });
      }
      entry[name] = Array.isArray(scopes) ? scopes.filter((x): x is string => typeof x === 'string') : [];
    }
    out.push(Object.freeze(entry));
  }
  return out;
}

function buildSecuritySchemes(ctx: BuildContext): SecuritySchemeIR[] {
  const components = isObject(ctx.doc.components) ? ctx.doc.components : {};
  const raw = isObject(components.securitySchemes) ? components.securitySchemes : {};
  const out: SecuritySchemeIR[] = [];
  for (const name of Object.keys(raw).sort()) {
    const s = deref(ctx.doc, raw[name]);
    const subject = `security scheme ${quoteName(name)}`;
    if (!isObject(s)) continue;
    const scheme = typeof s.scheme === 'string' ? s.scheme.toLowerCase() : undefined;
    if (s.type === 'http' && scheme === 'bearer') out.push({ kind: 'security-scheme', name, type: 'http-bearer', bearerFormat: str(s.bearerFormat) });
    else if (s.type === 'http' && scheme === 'basic') out.push({ kind: 'security-scheme', name, type: 'http-basic' });
    else if (s.type === 'apiKey' && typeof s.name === 'string' && (s.in === 'header' || s.in === 'query' || s.in === 'cookie')) {
      out.push({ kind: 'security-scheme', name, type: 'apiKey', in: s.in, paramName: s.in === 'header' ? s.name.toLowerCase() : s.name });
    } else if (s.type === 'oauth2') {
      const scopes = new Set<string>();
      if (isObject(s.flows)) for (const flow of Object.values(s.flows)) if (isObject(flow) && isObject(flow.scopes)) for (const sc of Object.keys(flow.scopes)) scopes.add(sc);
      out.push({ kind: 'security-scheme', name, type: 'oauth2', scopes: [...scopes].sort() });
    } else if (s.type === 'openIdConnect' && typeof s.openIdConnectUrl === 'string') {
      out.push({ kind: 'security-scheme', name, type: 'openIdConnect', url: s.openIdConnectUrl });
    } else {
      ctx.warnings.push({
        code: 'SECURITY_SCHEME_UNSUPPORTED',
        subject,
        message: `type ${JSON.stringify(s.type) ?? 'undefined'}${scheme ? ` (scheme ${quoteName(scheme)})` : ''} is not supported; operations that require only it always answer 401`,
      });
    }
  }
  return out;
}

function crudModelSchemas(ctx: BuildContext, ops: readonly OperationIR[]): Record<string, unknown> {
  const components = isObject(ctx.doc.components) ? ctx.doc.components : {};
  const schemas = isObject(components.schemas) ? components.schemas : {};
  const out: Record<string, unknown> = {};
  for (const op of ops) if (op.crud) out[op.crud.model] = schemas[op.crud.model];
  return Object.freeze(out);
}

const CRUD_ACTIONS = new Set(['list', 'create', 'get', 'update', 'delete']);

function buildCrud(ctx: BuildContext, raw: unknown, subject: string): OperationIR['crud'] {
  if (raw === undefined) return undefined;
  const components = isObject(ctx.doc.components) ? ctx.doc.components : {};
  const schemas = isObject(components.schemas) ? components.schemas : {};
  if (!isObject(raw) || typeof raw.model !== 'string' || typeof raw.action !== 'string' || !CRUD_ACTIONS.has(raw.action) || !(raw.model in schemas)) {
    ctx.warnings.push({
      code: 'CRUD_MARKER_INVALID',
      subject,
      message: 'x-backdev-crud needs { model: <a components.schemas name>, action: list|create|get|update|delete }; a plain stub is generated',
    });
    return undefined;
  }
  return { kind: 'crud', model: raw.model, action: raw.action as CrudAction };
}

function buildParameters(ctx: BuildContext, r: RawOperation, subject: string): ParameterIR[] {
  const merged = new Map<string, Obj>();
  for (const list of [r.pathItem.parameters, r.op.parameters]) {
    if (!Array.isArray(list)) continue;
    for (const rawParam of list) {
      const p = deref(ctx.doc, rawParam);
      if (!isObject(p) || typeof p.name !== 'string' || typeof p.in !== 'string') continue;
      merged.set(`${p.in}:${p.name}`, p);
    }
  }
  const templateNames = [...r.path.matchAll(PATH_TEMPLATE)].map((m) => m[1]!);
  const routeNames = new NameTable();
  const out: ParameterIR[] = [];
  for (const name of templateNames) {
    if (!merged.has(`path:${name}`)) {
      ctx.warnings.push({
        code: 'PATH_PARAMETER_UNDECLARED',
        subject,
        message: `the path ${quoteName(r.path)} has the template ${quoteName(`{${name}}`)} but declares no path parameter ${quoteName(name)}; it is treated as a required string parameter`,
      });
      merged.set(`path:${name}`, { name, in: 'path', required: true, schema: { type: 'string' } });
    }
  }
  const sortedKeys = [...merged.keys()].sort();
  for (const key of sortedKeys) {
    const p = merged.get(key)!;
    const where = p.in as ParameterLocation;
    const name = p.name as string;
    if (where === 'path' && !templateNames.includes(name)) {
      ctx.warnings.push({
        code: 'PATH_PARAMETER_UNUSED',
        subject,
        message: `path parameter ${quoteName(name)} does not appear in the path ${quoteName(r.path)}; it is ignored`,
      });
      continue;
    }
    let schemaSource: unknown = p.schema;
    if (schemaSource === undefined && isObject(p.content)) {
      const first = Object.values(p.content)[0];
      schemaSource = isObject(first) ? first.schema : undefined;
    }
    let schema = schemaSource === undefined ? {} : convert(ctx, schemaSource, `${subject} parameter ${quoteName(name)}`);
    let required = where === 'path' ? true : p.required === true;
    if (where === 'query' && (p.style === 'deepObject' || (isObjectSchema(ctx, schemaSource) && p.explode !== false))) {
      ctx.warnings.push({
        code: 'QUERY_OBJECT_PARAMETER',
        subject,
        message: `query parameter ${quoteName(name)} is an object (style ${JSON.stringify(p.style ?? 'form')}); it is not validated`,
      });
      schema = {};
      required = false;
    }
    if (where === 'cookie') {
      ctx.warnings.push({
        code: 'COOKIE_PARAMETER',
        subject,
        message: `cookie parameter ${quoteName(name)} is not validated (register @fastify/cookie and check it in the handler)`,
      });
    }
    out.push({
      kind: 'parameter',
      name: where === 'header' ? name.toLowerCase() : name,
      in: where,
      routeName: where === 'path' ? routeNames.claim(toIdentifier(name, 'camel', 'param')) : name,
      required,
      schema,
      description: str(p.description),
    });
  }
  return out;
}

function isObjectSchema(ctx: BuildContext, schema: unknown): boolean {
  const s = deref(ctx.doc, schema);
  return isObject(s) && (s.type === 'object' || (s.type === undefined && isObject(s.properties)));
}

/**
 * Whether find-my-way would read a `*` of the path as a wildcard: one in a segment's static text before
 * the segment's first parameter (after a parameter, the rest of the segment is that parameter's static
 * text, where `*` is literal).
 */
function hasWildcard(path: string): boolean {
  return path.split('/').some((segment) => segment.split('{')[0]!.includes('*'));
}

/**
 * `/pets/{petId}` → `/pets/:petId`; literal `:` is doubled as find-my-way requires. find-my-way ends a
 * parameter's name only at `/`, `-`, `.` or `(`: a parameter followed by other static text of its segment
 * (`/{id}~`, `` /`${x}` ``) gets an explicit pattern, `:id([^/]+?)`, after which any static text may follow.
 */
function toFastifyUrl(path: string, params: readonly ParameterIR[], ctx: BuildContext, subject: string): string {
  const routeName = new Map(params.filter((p) => p.in === 'path').map((p) => [p.name, p.routeName]));
  let url = '';
  let last = 0;
  for (const m of path.matchAll(PATH_TEMPLATE)) {
    url += path.slice(last, m.index).replace(/:/g, '::');
    url += ':' + (routeName.get(m[1]!) ?? toIdentifier(m[1]!, 'camel', 'param'));
    // A parameter after another one in the same segment: the router would give it a regex `.` pattern too.
    const segmentStart = path.lastIndexOf('/', m.index) + 1;
    const afterParameter = path.slice(segmentStart, m.index).includes('{');
    last = m.index + m[0].length;
    const next = path[last];
    if (next === undefined || next === '/') {
      if (afterParameter) url += '([\\s\\S]+)';
      continue;
    }
    // Static text after the parameter in its segment: an explicit pattern ends the value there (the router's
    // own pattern for `-` and `.` is a regex `.`, which refuses U+2028/U+2029 and newlines in a value). The
    // router tests the pattern against the decoded value, so it admits a `/` (sent as %2F).
    url += '([\\s\\S]+?)';
    if (next === '{') {
      const following = /^\{([^}]*)\}/.exec(path.slice(last));
      ctx.warnings.push({
        code: 'PATH_PARAMETER_BOUNDARY',
        subject,
        message: `path parameter ${quoteName(m[1]!)} is followed directly by parameter ${quoteName(following?.[1] ?? '')}; nothing tells where one ends, so the first takes one character`,
      });
    }
  }
  url += path.slice(last).replace(/:/g, '::');
  return url;
}

/**
 * A media type whose content is one JSON document: `application/json`, any `+json` suffix
 * (`application/merge-patch+json`, `application/problem+json`), and the older `text/json` and
 * `application/x-json`; not `application/json-seq` or `application/jsonl`. The runtime's `isJsonMediaType`
 * (backdev/runtime/http) decides the same for the generated server.
 */
export const isJsonMediaType = (mediaType: string) => /^(?:application|text)\/(?:[\w.+-]+\+)?(?:x-)?json\s*(?:;|$)/i.test(mediaType);

const isJsonMedia = (mediaType: string) => isJsonMediaType(mediaType) || mediaType === '*/*';

function buildMedia(ctx: BuildContext, content: unknown, subject: string, position: 'embedded' | 'root'): MediaIR[] {
  if (!isObject(content)) return [];
  const out: MediaIR[] = [];
  for (const mediaType of Object.keys(content).sort()) {
    const media = deref(ctx.doc, content[mediaType]);
    const schema = isObject(media) && media.schema !== undefined ? convert(ctx, media.schema, `${subject} ${quoteName(mediaType)}`, position) : {};
    const json = isJsonMedia(mediaType) && mediaType !== '*/*';
    const validated =
      json || mediaType.startsWith('text/') || (mediaType === 'application/x-www-form-urlencoded' && isFlatForm(ctx, isObject(media) ? media.schema : undefined));
    out.push({ kind: 'media', mediaType, schema, json, validated });
  }
  return out;
}

/** A form schema whose fields are all scalars or lists of scalars: what URLSearchParams can carry. */
function isFlatForm(ctx: BuildContext, raw: unknown): boolean {
  const schema = deref(ctx.doc, raw);
  if (!isObject(schema) || !isObject(schema.properties)) return false;
  if (schema.allOf || schema.anyOf || schema.oneOf) return false;
  const scalar = (v: unknown) => {
    const s = deref(ctx.doc, v);
    return isObject(s) && typeof s.type === 'string' && ['string', 'integer', 'number', 'boolean'].includes(s.type);
  };
  return Object.values(schema.properties).every((p) => {
    const s = deref(ctx.doc, p);
    return scalar(s) || (isObject(s) && s.type === 'array' && scalar(s.items));
  });
}

function buildRequestBody(ctx: BuildContext, raw: unknown, subject: string): RequestBodyIR | undefined {
  const body = deref(ctx.doc, raw);
  if (!isObject(body)) return undefined;
  const contents = buildMedia(ctx, body.content, `${subject} request body`, 'root');
  if (contents.length === 0) return undefined;
  for (const m of contents) {
    if (m.validated) continue;
    const form = m.mediaType === 'application/x-www-form-urlencoded';
    ctx.warnings.push({
      code: 'BODY_NOT_VALIDATED',
      subject,
      message: form
        ? 'urlencoded request bodies with nested fields (a[b]=c) arrive as flat key/value pairs and are not validated'
        : `request bodies of type ${quoteName(m.mediaType)} are received as a Buffer and not validated`,
    });
  }
  return { kind: 'request-body', required: body.required === true, contents };
}

function statusRank(status: string): number {
  if (/^\d{3}$/.test(status)) return Number(status);
  if (/^[1-5]XX$/i.test(status)) return Number(status[0]) * 100 + 99.5;
  return 1000;
}

function buildResponses(ctx: BuildContext, raw: unknown, subject: string): ResponseIR[] {
  if (!isObject(raw)) return [];
  const out: ResponseIR[] = [];
  for (const status of Object.keys(raw)) {
    if (!/^(\d{3}|[1-5]XX|default)$/i.test(status)) {
      if (!status.startsWith('x-')) {
        ctx.warnings.push({ code: 'RESPONSE_STATUS', subject, message: `response ${quoteName(status)} is not a status code; ignored` });
      }
      continue;
    }
    const response = deref(ctx.doc, raw[status]);
    if (!isObject(response)) continue;
    out.push({
      kind: 'response',
      status: /XX$/i.test(status) ? status.toUpperCase() : status,
      description: str(response.description),
      contents: buildMedia(ctx, response.content, `${subject} response ${status}`, 'embedded'),
    });
  }
  return out.sort((a, b) => statusRank(a.status) - statusRank(b.status));
}

