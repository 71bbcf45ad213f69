/**
 * The template context of `create-api`: everything a template can use, documented field by field
 * (templates/create-api/README.md lists the same fields for people editing templates; a test keeps the
 * two in step). Strings that come from the spec are raw data here: templates must print them through the
 * escaping helpers (`str`, `doc`, `comment`, `json`, `key`, `ident`).
 */
import type { OutputDirs } from '../core/config.js';
import type { Warning } from '../core/errors.js';
import { forSerialization } from '../core/ir/for-serialization.js';
import { isObject as isObj, type Obj } from '../core/json.js';
import type { JsonSchema } from '../core/ir/json-schema.js';
import { createValidator, invalidSample, jsonParserRefusal, validSample } from './samples/index.js';
import type { ApiIR, CrudAction, CrudIR, GroupIR, MediaIR, OperationIR, ParameterIR } from '../core/ir/types.js';
import { isJsonMediaType } from '../core/ir/build.js';
import { words } from '../core/ir/names.js';
import { moduleSpecifier } from '../core/module-paths.js';
import { repositoryNames } from '../core/resource/names.js';
import { buildErrorResponses, type ErrorMapperView, type ErrorResponseView } from './error-responses.js';

export type { ErrorMapperView, ErrorResponseView } from './error-responses.js';

export interface CreateApiView {
  /** Title, version and description from the spec's `info`. */
  api: { title: string; version: string; description: string | undefined };
  /** Relative module specifiers between the output folders (each ends in `.js` where it names a file). */
  imports: ImportsView;
  /** Every operation, sorted by path then method. */
  operations: OperationView[];
  /** Handler/test file groups (one per tag), sorted by file name. */
  groups: GroupView[];
  /** `$id` of the shared component schemas registered with Fastify. */
  schemaId: string;
  /** Component schemas converted for Fastify, by spec name. */
  schemaDefs: Record<string, JsonSchema>;
  /** Request media types received as a Buffer (no parser in Fastify), for `addContentTypeParser`; `['*']` for all. */
  rawContentTypes: string[];
  /** JSON media types other than `application/json` (`+json`, `text/json`): parsed as JSON like it. */
  jsonContentTypes: string[];
  /** True when some operation accepts `application/x-www-form-urlencoded`. */
  formContentType: boolean;
  /** The functions of src/errors.ts: one per declared error schema a problem does not fit (empty: no file). */
  errorMappers: ErrorMapperView[];
  /** Whether some mapper returns a component schema's type (src/errors.ts imports `components`). */
  errorMappersUseComponents: boolean;
  /** How unknown routes answer errors: the one declared error shape all operations share, if any. */
  fallbackErrors: ErrorResponseView[];
}

export interface ImportsView {
  /** From a handler file to the project's database module (`../db.js`). */
  dbFromHandlers: string;
  /** From a handler file to the auth module (`../auth.js`). */
  authFromHandlers: string;
  /** The handlers folder, relative to the project root (`src/handlers`). */
  handlersDir: string;
  /** From a handler file to `handlers.gen.js` (`../generated/handlers.gen.js`). */
  generatedFromHandlers: string;
  /** From a test file to the app module (`../src/app.js`). */
  appFromTests: string;
  /** From a test file to `testing.gen.js`. */
  testingFromTests: string;
  /** From the generated folder to the error mappers (`../errors.js`). */
  errorsFromGenerated: string;
  /** From src/errors.ts to `http.gen.js` and `openapi.gen.js`. */
  httpFromErrors: string;
  openapiFromErrors: string;
}

export interface GroupView {
  /** The tag as written in the spec. */
  tag: string;
  description: string | undefined;
  /** Safe file stem (`[a-z0-9-]`): `src/handlers/<fileStem>.ts`, `test/<fileStem>.test.ts`. */
  fileStem: string;
  /** Identifier under which routes.gen.ts imports the handler module. */
  moduleIdent: string;
  /** Module specifier of the handler file, from the generated folder. */
  importFromGenerated: string;
  operations: OperationView[];
  /** Repositories the group's CRUD handlers use (distinct, sorted by factory); empty without CRUD. */
  repositories: { factory: string; repositoryImport: string }[];
  /** Whether the group's handlers use the local accounts (`src/auth.ts`). */
  usesAccounts: boolean;
  /** The database-backed test of the group's resource (a create, get and list operation are needed). */
  crudTest: CrudTestView | undefined;
}

export interface CrudTestView {
  model: string;
  /** `/products` */
  collectionUrl: string;
  /** `/products/` (the id is appended). */
  itemUrlPrefix: string;
  /** Five valid create bodies, with distinct values in unique fields. */
  payloads: unknown[];
  /** A valid update body, when there is an update operation. */
  update: unknown;
  /** Whether creating the first payload again must fail with 409 (the model has a unique field). */
  duplicate: boolean;
  hasDelete: boolean;
  /** Module specifiers from the tests folder. */
  dbImport: string;
  migrationsDir: string;
  /**
   * The rows the payloads refer to, created first, in order (a referenced model's own references come
   * before it): the create URL and a valid body of each, and which of its properties take the id of an
   * earlier one. Empty when the model refers to nothing.
   */
  setup: CrudSetupStep[];
  /** The properties of `payloads` (and `update`) that take the id of a `setup` row. */
  references: CrudReference[];
}

export interface CrudReference {
  property: string;
  model: string;
}

export interface CrudSetupStep {
  model: string;
  collectionUrl: string;
  payload: unknown;
  references: CrudReference[];
}

export interface OperationView {
  /** Safe camelCase identifier: handler export name and key in `Handlers`. */
  id: string;
  /** The spec's operationId, if any. */
  operationId: string | undefined;
  /** Lower-case HTTP method, as a key of openapi-typescript's path item type (`get`). */
  method: string;
  /** Upper-case HTTP method (`GET`). */
  methodUpper: string;
  /** OpenAPI path template as written (`/pets/{petId}`): a key of openapi-typescript's `paths`. */
  path: string;
  /** Fastify route URL (`/pets/:petId`). */
  url: string;
  summary: string | undefined;
  description: string | undefined;
  deprecated: boolean;
  /** Identifier of the handler module (see GroupView.moduleIdent). */
  moduleIdent: string;
  /** Group file stem. */
  group: string;
  /** Route parameter name → spec name, only where they differ (else undefined). */
  paramRenames: Record<string, string> | undefined;
  /** The Fastify route `schema` option: params, querystring, headers, body, response. */
  schema: RouteSchema;
  /** Generated test requests: computed only for operations whose test case is being written in this run. */
  test: TestView | undefined;
  /** For operations `--endpoint` added: the handler is written against the model's repository. */
  crud: CrudView | undefined;
  /** For operations `add-auth --accounts` added: register, login, refresh or logout. */
  account: 'register' | 'login' | 'refresh' | 'logout' | undefined;
  /** The error statuses the operation declares (`404`, `4XX`, `default`): media type and body mapper. */
  errorResponses: ErrorResponseView[];
  /**
   * The status of an invalid request: 400, or 422 when the operation declares 422 and not 400 (a `4XX` or
   * `default` covers 400; with none of them the spec has no answer and 400 is used).
   */
  invalidStatus: number;
  /** The request body is required: a request without one is invalid (`bodyRequired` in the route's config). */
  bodyRequired: boolean;
  /** The media types the request body declares (base types, lower case), when it has any: a body of another type is invalid. */
  bodyTypes: string[] | undefined;
}

export interface CrudView {
  action: CrudAction;
  /** The model (component schema) name. */
  model: string;
  /** Lower-case words for messages (`blog post`). */
  label: string;
  /** Repository factory (`productRepository`). */
  factory: string;
  /** Module specifier of the repository, from the handlers folder. */
  repositoryImport: string;
}

export interface RouteSchema {
  params?: JsonSchema;
  querystring?: JsonSchema;
  headers?: JsonSchema;
  body?: JsonSchema | { content: Record<string, { schema: JsonSchema }> };
  response?: Record<string, JsonSchema | { content: Record<string, { schema: JsonSchema }> }>;
}

export interface InjectRequest {
  method: string;
  url: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  payload?: unknown;
}

export interface TestView {
  /** A request that passes validation, when one could be derived. */
  valid: { request: InjectRequest } | undefined;
  /**
   * A request that fails validation. `status`: the refusal's status (the operation's `invalidStatus`);
   * `pointer`: where the problem's `errors` point (`/body/price`); `problem`: whether the answer is a
   * problem (false when the spec declares another body for it, or none); `empty`: the spec declares the
   * status with no content, so the answer has an empty body; `contentType`: the media type of the answer.
   */
  invalid:
    | {
        request: InjectRequest;
        field: string;
        pointer: string;
        status: number;
        problem: boolean;
        empty: boolean;
        contentType: string;
        reason: string;
        title: string;
      }
    | undefined;
  /** Why a case is missing, for a comment in the test file. */
  note: string | undefined;
}


/**
 * `withTests`: ids of the operations that need `test` (default: all). `warnings` receives what the view
 * leaves out (a response fast-json-stringify cannot serialize).
 */
export function buildView(api: ApiIR, dirs: OutputDirs, withTests?: ReadonlySet<string>, warnings: Warning[] = []): CreateApiView {
  const groupByStem = new Map(api.groups.map((g) => [g.fileStem, g]));
  const validate = createValidator(api.schemaDefs);
  const errors = buildErrorResponses(api, warnings);
  // The shared schemas serve validation (Ajv) and serialization (fast-json-stringify); `forSerialization`
  // changes nothing they accept.
  const schemaDefs: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(api.schemaDefs)) {
    Object.defineProperty(schemaDefs, name, { value: forSerialization(schema), enumerable: true, writable: true, configurable: true });
  }
  const serializable = serializationCheck(api.schemaRefPrefix, schemaDefs);
  const operations = api.operations.map((op) =>
    operationView(
      api,
      op,
      groupByStem.get(op.group)!,
      !withTests || withTests.has(op.id) ? validate : undefined,
      dirs,
      errors.byOperation.get(op.id) ?? [],
      serializable,
      warnings,
    ),
  );
  // The operations of each group in spec order (one pass: groups × operations was seconds on 22,000 operations).
  const byGroup = groupBy(operations);
  const irByGroup = groupBy(api.operations);
  const raw = new Set<string>();
  const json = new Set<string>();
  let form = false;
  for (const op of api.operations) {
    for (const m of op.requestBody?.contents ?? []) {
      const base = m.mediaType.split(';')[0]!.trim().toLowerCase();
      if (m.json && base !== 'application/json' && !base.includes('*')) json.add(base);
      if (m.mediaType === 'application/x-www-form-urlencoded') form = true;
      else if (!m.json && !m.mediaType.startsWith('text/')) raw.add(m.mediaType.includes('*') ? '*' : m.mediaType.split(';')[0]!.trim());
    }
  }
  return {
    api: { title: api.title, version: api.version, description: api.description },
    imports: {
      dbFromHandlers: moduleSpecifier(dirs.handlers, 'src/db.js'),
      authFromHandlers: moduleSpecifier(dirs.handlers, 'src/auth.js'),
      handlersDir: dirs.handlers,
      generatedFromHandlers: moduleSpecifier(dirs.handlers, `${dirs.generated}/handlers.gen.js`),
      appFromTests: moduleSpecifier(dirs.tests, 'src/app.js'),
      testingFromTests: moduleSpecifier(dirs.tests, `${dirs.generated}/testing.gen.js`),
      errorsFromGenerated: moduleSpecifier(dirs.generated, 'src/errors.js'),
      httpFromErrors: moduleSpecifier('src', `${dirs.generated}/http.gen.js`),
      openapiFromErrors: moduleSpecifier('src', `${dirs.generated}/openapi.gen.js`),
    },
    operations,
    groups: api.groups.map((g) => {
      const ops = byGroup.get(g.fileStem) ?? [];
      return groupView(g, ops, dirs, crudTestView(api, irByGroup.get(g.fileStem) ?? [], dirs, validate));
    }),
    schemaId: api.schemaId,
    schemaDefs,
    // A wildcard media type (`*/*`, `image/*`) means "anything else": one catch-all parser covers it all.
    rawContentTypes: raw.has('*') ? ['*'] : [...raw].sort(),
    jsonContentTypes: [...json].sort(),
    formContentType: form,
    errorMappers: errors.mappers,
    errorMappersUseComponents: errors.mappers.some((m) => m.schemaName !== undefined),
    fallbackErrors: errors.fallback,
  };
}

function groupView(g: GroupIR, operations: OperationView[], dirs: OutputDirs, crudTest: CrudTestView | undefined): GroupView {
  return {
    tag: g.tag,
    description: g.description,
    fileStem: g.fileStem,
    moduleIdent: g.moduleIdent,
    importFromGenerated: moduleSpecifier(dirs.generated, `${dirs.handlers}/${g.fileStem}.js`),
    operations,
    repositories: repositoriesOf(operations),
    usesAccounts: operations.some((o) => o.account !== undefined),
    crudTest,
  };
}

type Validate = (schema: JsonSchema, value: unknown) => boolean;

function objectSchema(params: readonly ParameterIR[], key: (p: ParameterIR) => string): JsonSchema | undefined {
  if (params.length === 0) return undefined;
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const p of params) {
    properties[key(p)] = p.schema;
    if (p.required) required.push(key(p));
  }
  return required.length > 0 ? { type: 'object', properties, required } : { type: 'object', properties };
}

function mediaSchemas(contents: readonly MediaIR[]): { content: Record<string, { schema: JsonSchema }> } | undefined {
  const validated = contents.filter((m) => m.validated);
  if (validated.length === 0) return undefined;
  const content: Record<string, { schema: JsonSchema }> = {};
  for (const m of validated) content[m.mediaType] = { schema: m.schema };
  return { content };
}

/** Why fast-json-stringify cannot build a response schema, or undefined when it can. */
type SerializationCheck = (schema: JsonSchema) => string | undefined;

/**
 * A conservative rule for what fast-json-stringify cannot build (building every response with it costs
 * minutes on large specs): it merges an `allOf` with the schema around it and fails when their `type`s
 * have no type in common (`type: object` around `allOf: [{type: string}]`; `integer` and `number` count
 * as different, as they do there). Follows `$ref`s into the shared schemas, each once.
 */
function serializationCheck(refPrefix: string, schemaDefs: Record<string, JsonSchema>): SerializationCheck {
  const byDef = new Map<string, string | undefined>();
  const defName = (ref: unknown) =>
    typeof ref === 'string' && ref.startsWith(refPrefix) ? decodeURIComponent(ref.slice(refPrefix.length).split('/')[0]!).replace(/~1/g, '/').replace(/~0/g, '~') : undefined;
  const resolve = (schema: unknown): unknown => {
    let node = schema;
    for (let i = 0; i < 16 && isObj(node) && defName(node.$ref) !== undefined; i++) {
      const name = defName(node.$ref)!;
      node = Object.prototype.hasOwnProperty.call(schemaDefs, name) ? schemaDefs[name] : undefined;
    }
    return node;
  };
  const typesOf = (schema: unknown): string[] | undefined => {
    const node = resolve(schema);
    if (!isObj(node)) return undefined;
    return typeof node.type === 'string' ? [node.type] : Array.isArray(node.type) ? (node.type as string[]) : undefined;
  };
  const walk = (schema: unknown, at: string): string | undefined => {
    if (!isObj(schema)) return undefined;
    const ref = defName(schema.$ref);
    if (ref !== undefined) {
      if (!byDef.has(ref)) {
        byDef.set(ref, undefined); // a cycle: looked at once
        byDef.set(ref, walk(Object.prototype.hasOwnProperty.call(schemaDefs, ref) ? schemaDefs[ref] : undefined, `schema ${JSON.stringify(ref)}`));
      }
      const found = byDef.get(ref);
      if (found !== undefined) return found;
    }
    if (Array.isArray(schema.allOf)) {
      const sets = [typesOf(schema), ...schema.allOf.map(typesOf)].filter((t): t is string[] => t !== undefined);
      const common = sets.reduce<string[] | undefined>((acc, t) => (acc === undefined ? t : acc.filter((x) => t.includes(x))), undefined);
      if (common !== undefined && common.length === 0) return `${at}: its type and its allOf's (${sets.map((t) => t.join('|')).join(' / ')}) have none in common`;
    }
    for (const [key, value] of Object.entries(schema)) {
      if (['enum', 'const', 'default', 'examples', 'example'].includes(key)) continue;
      if (['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'].includes(key) && isObj(value)) {
        for (const [name, sub] of Object.entries(value)) {
          const found = walk(sub, `${at}/${key}/${name}`);
          if (found) return found;
        }
      } else if (Array.isArray(value)) {
        for (const [i, sub] of value.entries()) {
          const found = walk(sub, `${at}/${key}/${i}`);
          if (found) return found;
        }
      } else if (isObj(value)) {
        const found = walk(value, `${at}/${key}`);
        if (found) return found;
      }
    }
    return undefined;
  };
  return (schema) => walk(schema, 'the schema');
}

/**
 * Header parameters named Accept, Content-Type or Authorization are ignored (OpenAPI 3: "the parameter
 * definition SHALL be ignored"); the media types and the security schemes describe those.
 */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

function validatedParameters(op: OperationIR): ParameterIR[] {
  return op.parameters.filter((p) => !(p.in === 'header' && IGNORED_HEADERS.has(p.name.toLowerCase())));
}

function routeSchema(op: OperationIR, serializable: SerializationCheck, warnings: Warning[]): RouteSchema {
  const schema: RouteSchema = {};
  const inLoc = (where: ParameterIR['in']) => validatedParameters(op).filter((p) => p.in === where);
  const params = objectSchema(inLoc('path'), (p) => p.routeName);
  const query = objectSchema(inLoc('query'), (p) => p.name);
  const headers = objectSchema(inLoc('header'), (p) => p.name);
  if (params) schema.params = params;
  if (query) schema.querystring = query;
  if (headers) schema.headers = headers;
  if (op.requestBody) {
    const body = mediaSchemas(op.requestBody.contents);
    if (body) {
      const only = Object.entries(body.content);
      // A single JSON media type is given as a plain schema: the form every Fastify version reads.
      schema.body = only.length === 1 && only[0]![0] === 'application/json' ? only[0]![1].schema : body;
    }
  }
  // Only success responses get a serialization schema. Fastify also serializes *its own* errors (bad JSON,
  // payload too large, a thrown error) with the route's schema for that status, and a spec's error shape
  // rarely fits them: an error sent through it would fail as a 500. Handler types still check error bodies.
  const response: NonNullable<RouteSchema['response']> = {};
  for (const r of op.responses) {
    if (!/^[123]/.test(r.status)) continue;
    const json = r.contents.filter((m) => m.json);
    if (json.length === 0) continue;
    const status = r.status === 'default' ? 'default' : r.status.toLowerCase();
    const content: Record<string, { schema: JsonSchema }> = {};
    for (const m of json) {
      const schema = forSerialization(m.schema);
      const error = serializable(schema);
      if (error === undefined) content[m.mediaType] = { schema };
      else {
        warnings.push({
          code: 'RESPONSE_NOT_SERIALIZABLE',
          subject: `operation ${op.id}`,
          message: `response ${r.status} ${m.mediaType}: fast-json-stringify cannot build its schema (${error}); it is sent with JSON.stringify, unfiltered`,
        });
      }
    }
    if (Object.keys(content).length > 0) response[status] = { content };
  }
  if (Object.keys(response).length > 0) schema.response = response;
  return schema;
}

function operationView(
  api: ApiIR,
  op: OperationIR,
  group: GroupIR,
  validate: Validate | undefined,
  dirs: OutputDirs,
  errorResponses: ErrorResponseView[],
  serializable: SerializationCheck,
  warnings: Warning[],
): OperationView {
  const renames: Record<string, string> = {};
  for (const p of op.parameters) if (p.in === 'path' && p.routeName !== p.name) renames[p.routeName] = p.name;
  const schema = routeSchema(op, serializable, warnings);
  return {
    id: op.id,
    operationId: op.operationId,
    method: op.method,
    methodUpper: op.method.toUpperCase(),
    path: op.path,
    url: op.url,
    summary: op.summary,
    description: op.description,
    deprecated: op.deprecated,
    moduleIdent: group.moduleIdent,
    group: group.fileStem,
    paramRenames: Object.keys(renames).length > 0 ? renames : undefined,
    schema,
    test: validate ? testView(api, op, validate, errorResponses) : undefined,
    crud: op.crud ? crudView(op.crud, dirs) : undefined,
    account: op.account,
    errorResponses,
    invalidStatus: invalidStatusOf(op),
    bodyRequired: op.requestBody?.required === true,
    bodyTypes: op.requestBody && op.requestBody.contents.length > 0 ? [...new Set(op.requestBody.contents.map((m) => m.mediaType.split(';')[0]!.trim().toLowerCase()))] : undefined,
  };
}

/** 400, unless the operation declares 422 and not 400 (see OperationView.invalidStatus). */
export function invalidStatusOf(op: OperationIR): number {
  const declared = new Set(op.responses.map((r) => r.status.toUpperCase()));
  return !declared.has('400') && declared.has('422') ? 422 : 400;
}

export function repositoriesOf(operations: readonly OperationView[]): GroupView['repositories'] {
  const byFactory = new Map<string, string>();
  for (const op of operations) if (op.crud) byFactory.set(op.crud.factory, op.crud.repositoryImport);
  return [...byFactory].sort(([a], [b]) => (a < b ? -1 : 1)).map(([factory, repositoryImport]) => ({ factory, repositoryImport }));
}

function crudView(crud: CrudIR, dirs: OutputDirs): CrudView {
  const names = repositoryNames(crud.model);
  return {
    action: crud.action,
    model: crud.model,
    label: words(crud.model).join(' '),
    factory: names.factory,
    repositoryImport: moduleSpecifier(dirs.handlers, `${dirs.db}/repositories/${names.fileStem}.js`),
  };
}

/**
 * The database-backed test of a resource: five create bodies (unique string fields made distinct), an
 * update body, and where things live. Undefined when the group has no create/get/list CRUD operations or
 * no valid body can be derived.
 */
function crudTestView(api: ApiIR, ops: readonly OperationIR[], dirs: OutputDirs, validate: Validate): CrudTestView | undefined {
  const by = (action: CrudAction) => ops.find((o) => o.crud?.action === action);
  const create = by('create');
  const get = by('get');
  const list = by('list');
  if (!create || !get || !list || create.crud!.model !== get.crud!.model) return undefined;
  const body = create.requestBody?.contents.find((m) => m.json);
  if (!body) return undefined;
  const base = validSample(body.schema, api.schemaDefs, api.schemaRefPrefix);
  // A body Fastify's JSON parser refuses could never be created: no database test (see jsonParserRefusal).
  if (!base.ok || base.value === null || typeof base.value !== 'object' || jsonParserRefusal(base.value)) return undefined;
  const model = create.crud!.model;
  const props = modelProperties(api, model);
  const unique = Object.entries(props).filter(([, p]) => p['x-backdev-unique'] === true).map(([name, p]) => ({ name, format: p.format }));
  const payloads: unknown[] = [];
  for (let i = 1; i <= 5; i++) {
    const value = { ...(base.value as Record<string, unknown>) };
    for (const u of unique) {
      const current = value[u.name];
      if (typeof current !== 'string') continue;
      value[u.name] = u.format === 'email' ? `user${i}@example.com` : u.format === 'uuid' ? `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` : `${current}-${i}`;
    }
    if (!validate(body.schema, value)) return undefined;
    payloads.push(value);
  }
  const update = by('update');
  const updateBody = update?.requestBody?.contents.find((m) => m.json);
  const updateFound = updateBody ? validSample(updateBody.schema, api.schemaDefs, api.schemaRefPrefix) : undefined;
  const updateSample = updateFound?.ok && jsonParserRefusal(updateFound.value) === undefined ? updateFound : undefined;
  const idPath = get.path.replace(/\{[^}]+\}$/, '');
  const setup: CrudSetupStep[] = [];
  const references = referencesOf(api, model, payloads[0], setup, new Set([model]));
  if (references === undefined) return undefined;
  // A reference left out of the first body (it could not be met) is left out of all of them.
  const kept = payloads[0] as Record<string, unknown>;
  const dropped = Object.entries(modelProperties(api, model)).filter(([name, p]) => typeof p['x-backdev-ref'] === 'string' && !(name in kept)).map(([name]) => name);
  for (const body of [...payloads, updateSample?.ok ? updateSample.value : undefined]) {
    if (body !== null && typeof body === 'object') for (const name of dropped) delete (body as Record<string, unknown>)[name];
  }
  return {
    setup,
    references,
    model,
    collectionUrl: list.path,
    itemUrlPrefix: idPath,
    payloads,
    update: updateSample?.ok ? updateSample.value : undefined,
    duplicate: unique.length > 0,
    hasDelete: by('delete') !== undefined,
    dbImport: moduleSpecifier(dirs.tests, 'src/db.js'),
    migrationsDir: moduleSpecifier(dirs.tests, `${dirs.db}/migrations`),
  };
}

/**
 * The reference properties (`x-backdev-ref`) of a model's create body, after adding to `setup` a step that
 * creates each referenced model (its own references first). An optional reference that cannot be met
 * (it refers back to a model on the way) is left out of the body; undefined when a required one cannot be
 * met (no create operation for the referenced model, no valid body, a required cycle).
 */
function referencesOf(api: ApiIR, model: string, body: unknown, setup: CrudSetupStep[], onTheWay: ReadonlySet<string>): CrudReference[] | undefined {
  if (body === null || typeof body !== 'object') return [];
  const values = body as Record<string, unknown>;
  const refs: CrudReference[] = [];
  for (const [property, schema] of Object.entries(modelProperties(api, model))) {
    const target = schema['x-backdev-ref'];
    if (typeof target !== 'string' || !(property in values)) continue;
    if (!setup.some((step) => step.model === target)) {
      const step = onTheWay.has(target) ? undefined : setupStep(api, target, setup, new Set([...onTheWay, target]));
      if (!step) {
        const required = (api.modelSchemas[model] as { required?: unknown } | undefined)?.required;
        if (Array.isArray(required) && required.includes(property)) return undefined;
        delete values[property];
        continue;
      }
      setup.push(step);
    }
    refs.push({ property, model: target });
  }
  return refs;
}

function setupStep(api: ApiIR, model: string, setup: CrudSetupStep[], onTheWay: ReadonlySet<string>): CrudSetupStep | undefined {
  const create = api.operations.find((o) => o.crud?.action === 'create' && o.crud.model === model);
  const body = create?.requestBody?.contents.find((m) => m.json);
  if (!create || !body) return undefined;
  const sample = validSample(body.schema, api.schemaDefs, api.schemaRefPrefix);
  if (!sample.ok || sample.value === null || typeof sample.value !== 'object' || jsonParserRefusal(sample.value)) return undefined;
  const payload = { ...(sample.value as Record<string, unknown>) };
  const references = referencesOf(api, model, payload, setup, onTheWay);
  return references && { model, collectionUrl: create.path, payload, references };
}

function modelProperties(api: ApiIR, model: string): Record<string, Record<string, unknown>> {
  const schema = api.modelSchemas[model];
  const props = schema && typeof schema === 'object' ? (schema as { properties?: unknown }).properties : undefined;
  return props && typeof props === 'object' ? (props as Record<string, Record<string, unknown>>) : {};
}

/** Builds the valid and invalid requests of an operation's generated test from its schemas. */
function testView(api: ApiIR, op: OperationIR, validate: Validate, errorResponses: readonly ErrorResponseView[]): TestView {
  const status = invalidStatusOf(op);
  const declared = errorResponses.find((e) => e.status === String(status)) ?? errorResponses.find((e) => e.status === '4XX') ?? errorResponses.find((e) => e.status === 'default');
  const empty = declared?.empty === true;
  const problem = declared?.mapper === undefined && !empty;
  const contentType = (declared?.contentType ?? 'application/problem+json').split(';')[0]!.trim();
  const pointer = (...parts: string[]) => parts.map((p) => `/${p.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
  const defs = api.schemaDefs;
  const prefix = api.schemaRefPrefix;
  const notes: string[] = [];
  const values = new Map<ParameterIR, unknown>();
  let validOk = true;
  for (const p of validatedParameters(op)) {
    if (p.in === 'cookie' || (!p.required && p.in !== 'path')) continue;
    const s = validSample(p.schema, defs, prefix);
    if (!s.ok) {
      validOk = false;
      notes.push(`no valid value for ${p.in} parameter "${p.name}": ${s.reason}`);
      continue;
    }
    values.set(p, s.value);
  }
  const jsonBody = op.requestBody?.contents.find((m) => m.json);
  const textBody = op.requestBody?.contents.find((m) => m.mediaType.startsWith('text/'));
  let body: { value: unknown; mediaType: string } | undefined;
  if (op.requestBody && (op.requestBody.required || jsonBody)) {
    if (jsonBody) {
      const s = validSample(jsonBody.schema, defs, prefix);
      if (s.ok) body = { value: s.value, mediaType: jsonBody.mediaType };
      else {
        validOk = false;
        notes.push(`no valid ${jsonBody.mediaType} body: ${s.reason}`);
      }
    } else if (textBody) {
      body = { value: 'example', mediaType: textBody.mediaType };
    } else if (op.requestBody.required) {
      validOk = false;
      notes.push(`request bodies of type ${op.requestBody.contents[0]?.mediaType} are not sampled`);
    }
  }
  const request = (vals: Map<ParameterIR, unknown>, payload: typeof body): InjectRequest => {
    let url = op.path;
    const query: Record<string, string | string[]> = {};
    const headers: Record<string, string> = {};
    for (const [p, v] of vals) {
      if (p.in === 'path') url = url.split(`{${p.name}}`).join(encodeURIComponent(scalarText(v)));
      else if (p.in === 'query') query[p.name] = Array.isArray(v) ? v.map(scalarText) : scalarText(v);
      else if (p.in === 'header') headers[p.name] = Array.isArray(v) ? v.map(scalarText).join(',') : scalarText(v);
    }
    const req: InjectRequest = { method: op.method.toUpperCase(), url };
    if (Object.keys(query).length > 0) req.query = query;
    if (payload !== undefined) {
      headers['content-type'] = payload.mediaType;
      // inject() sends strings as they are: a JSON string, number or null must be encoded first.
      const encode = /json/i.test(payload.mediaType) && (payload.value === null || typeof payload.value !== 'object');
      req.payload = encode ? JSON.stringify(payload.value) : payload.value;
    }
    if (Object.keys(headers).length > 0) req.headers = headers;
    return req;
  };
  // A body Fastify's JSON parser refuses (a `__proto__` key, say) is answered 400 before validation: a
  // request with it never reaches the handler, and a 400 for it says nothing about the schema.
  const refused = body && isJsonMediaType(body.mediaType) ? jsonParserRefusal(body.value) : undefined;
  if (refused) {
    notes.push(
      `no valid request is sent: a valid body has ${refused}, which Fastify's JSON parser refuses with 400 before validation (onProtoPoisoning / onConstructorPoisoning), so it never reaches the handler`,
    );
  }
  const valid = validOk && !refused ? { request: request(values, body) } : undefined;

  // Invalid: break exactly one thing in an otherwise valid request, and say which field Fastify will name.
  let invalid: TestView['invalid'];
  if (validOk) {
    if (jsonBody && body) {
      const bad = invalidSample(jsonBody.schema, defs, prefix);
      if (bad.ok && !validate(jsonBody.schema, bad.value) && jsonParserRefusal(bad.value) === undefined) {
        invalid = {
          request: request(values, { value: bad.value, mediaType: jsonBody.mediaType }),
          field: bad.field ?? 'body',
          pointer: bad.field === undefined ? '/body' : pointer('body', bad.field),
          status,
          problem,
          empty,
          contentType,
          reason: `an invalid body (${bad.reason})`,
          title: `rejects an invalid body (${bad.reason}) with ${status}`,
        };
      }
    }
    for (const p of validatedParameters(op)) {
      // With a refused body, any request is refused by the parser first, whatever its parameters.
      if (invalid || refused || p.in === 'cookie') continue;
      if (p.required && p.in !== 'path') {
        const without = new Map(values);
        without.delete(p);
        invalid = {
          request: request(without, body),
          field: p.name,
          pointer: pointer(p.in === 'query' ? 'query' : 'headers', p.name),
          status,
          problem,
          empty,
          contentType,
          reason: `a missing ${p.in} parameter "${p.name}"`,
          title: `rejects a request without the ${p.in} parameter "${p.name}" with ${status}`,
        };
        continue;
      }
      if (p.in === 'path') {
        const bad = invalidSample(p.schema, defs, prefix);
        if (bad.ok && isScalar(bad.value) && scalarText(bad.value) !== '' && !validate(p.schema, scalarText(bad.value))) {
          invalid = {
            request: request(new Map(values).set(p, bad.value), body),
            field: p.name,
            pointer: pointer('params', p.name),
            status,
            problem,
            empty,
            contentType,
            reason: `an invalid path parameter "${p.name}" (${bad.reason})`,
            title: `rejects an invalid path parameter "${p.name}" with ${status}`,
          };
        }
      }
    }
    if (!invalid && refused) notes.push('no 400 case either: every request with that body is refused by the parser before validation');
    else if (!invalid) notes.push('every request this operation accepts is valid, so there is no 400 case');
  }
  return { valid, invalid, note: notes.length > 0 ? notes.join('; ') : undefined };
}

const isScalar = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

function scalarText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Items by their `group`, each list in the items' order. */
function groupBy<T extends { group: string }>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const list = out.get(item.group);
    if (list) list.push(item);
    else out.set(item.group, [item]);
  }
  return out;
}
