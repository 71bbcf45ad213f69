/**
 * `backdev/runtime/http`: request validation that means what the spec says, and the one error format
 * (RFC 9457 problem details) of a generated server. Nothing here depends on Fastify; the generated
 * `http.gen.ts` wires it in.
 *
 * Validation (see README "Validation"):
 * - bodies are validated as sent: no type coercion, no removal of unknown properties (`additionalProperties:
 *   false` rejects them), `null` only where the schema allows it, defaults filled in;
 * - path, query and header values arrive as strings and are converted by the parameter's schema before
 *   validation: integers and numbers only from plain decimal text that gives a finite number (`Infinity`,
 *   `1e309`, `NaN`, `0x10` stay strings and fail), booleans from `true`/`false`, arrays from repeated query
 *   keys or comma-separated path and header values;
 * - non-finite numbers never pass for `number`/`integer` (Ajv `strictNumbers`).
 */
import { STATUS_CODES } from 'node:http';
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule.default;

/** One invalid place of a request: a JSON pointer with the location first (`/body/price`, `/query/limit`). */
export interface ProblemPointer {
  pointer: string;
  message: string;
}

/** An RFC 9457 problem details body. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: ProblemPointer[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** A problem details body; `title` is the status's reason phrase. */
export function problemDetails(status: number, detail?: string, errors?: ProblemPointer[], instance?: string): ProblemDetails {
  const body: ProblemDetails = { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status };
  if (detail !== undefined) body.detail = detail;
  if (instance !== undefined) body.instance = instance;
  if (errors !== undefined && errors.length > 0) body.errors = errors;
  return body;
}

// ---------------------------------------------------------------------------------------------------------
// Validation

/** Ajv options for request bodies. */
export const BODY_AJV_OPTIONS: Readonly<Options> = Object.freeze({
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: true,
  strictNumbers: true,
  // `required: ["constructor"]` checks the body's own key, and an optional `toString` property is not
  // found on Object.prototype.
  ownProperties: true,
  allErrors: false,
  addUsedSchema: false,
  logger: false,
});

/** Ajv options for path, query and header values (converted from text beforehand, see `coerceParameters`). */
export const PARAMETER_AJV_OPTIONS: Readonly<Options> = BODY_AJV_OPTIONS;

export type HttpPart = 'body' | 'querystring' | 'params' | 'headers';

export type ValidationFunction = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

export interface ValidatorCompilerOptions {
  /** Extra Ajv options for bodies and parameters (over the defaults above). */
  bodyAjv?: Options;
  parameterAjv?: Options;
}

type Obj = { [key: string]: unknown };

/**
 * The second argument of every call to an Ajv function from here. Ajv's functions take `(data, {instancePath
 * = '', parentData, parentDataProperty, rootData = data} = {})`: called with the data alone they make that
 * empty object on each call, one per validated part of each request; this one is shared (only read: the
 * function takes its values into variables, and a missing key gets its default as before).
 */
const ROOT_CONTEXT = Object.freeze({}) as NonNullable<Parameters<ValidateFunction>[1]>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A Fastify-compatible validator compiler: one Ajv instance for bodies and one for parameters (both with
 * ajv-formats and the `shared` schemas registered), each schema compiled once (equal schemas share it).
 */
export function createValidatorCompiler(
  shared: readonly object[],
  options: ValidatorCompilerOptions = {},
): (route: { schema: unknown; httpPart?: string; contentType?: string }) => ValidationFunction {
  const make = (base: Options, extra: Options | undefined) => {
    const ajv = new Ajv({ ...base, ...extra });
    addFormats(ajv);
    for (const s of shared) ajv.addSchema(s as never);
    return ajv;
  };
  let bodyAjv: Ajv | undefined;
  let parameterAjv: Ajv | undefined;
  const cache = new Map<string, ValidationFunction>();
  const resolver = refResolver(shared);
  // A schema with nothing to convert (string parameters only) is validated by Ajv's function itself.
  const withCoercion = (validate: ValidateFunction, coerce: ((data: unknown) => void) | undefined): ValidationFunction => {
    if (coerce === undefined) return validate as ValidationFunction;
    const wrapped: ValidationFunction = (data: unknown) => {
      coerce(data);
      if (validate(data, ROOT_CONTEXT) === true) {
        wrapped.errors = null;
        return true;
      }
      wrapped.errors = validate.errors ?? null;
      return false;
    };
    return wrapped;
  };
  return ({ schema, httpPart, contentType }) => {
    const isBody = httpPart === 'body' || httpPart === undefined;
    const isForm = isBody && typeof contentType === 'string' && contentType.split(';')[0]!.trim().toLowerCase() === FORM_CONTENT_TYPE;
    const key = `${isForm ? 'form' : isBody ? 'body' : httpPart}\u0000${JSON.stringify(schema)}`;
    const cached = cache.get(key);
    if (cached) return cached;
    let fn: ValidationFunction;
    if (isBody) {
      bodyAjv ??= make(BODY_AJV_OPTIONS, options.bodyAjv);
      const validate = bodyAjv.compile(schema as object);
      // Form fields are text, like query parameters: converted by the body schema the same way, then
      // validated as strictly as any body.
      const checked: ValidateFunction | ValidationFunction = isForm ? withCoercion(validate, parameterCoercion(schema, 'querystring', resolver)) : validate;
      // No body sent: whether one is required is the operation's `requestBody.required` (checked before
      // validation, see the generated `requireBody`), not the schema's (`type: array` would refuse it).
      // Fastify hands an absent body over as `null`, like a sent `null`: the hook marks it as ABSENT_BODY.
      const body: ValidationFunction = (data: unknown) => {
        if (data === undefined || data === ABSENT_BODY) {
          body.errors = null;
          return true;
        }
        if (checked(data, ROOT_CONTEXT) === true) {
          body.errors = null;
          return true;
        }
        body.errors = checked.errors ?? null;
        return false;
      };
      fn = body;
    } else {
      parameterAjv ??= make(PARAMETER_AJV_OPTIONS, options.parameterAjv);
      fn = withCoercion(parameterAjv.compile(withoutRequiredDefaults(schema) as object), parameterCoercion(schema, httpPart as HttpPart, resolver));
    }
    cache.set(key, fn);
    return fn;
  };
}

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/**
 * A media type whose content is one JSON document: `application/json`, any `+json` suffix, `text/json` and
 * `application/x-json` (not `application/json-seq` or `application/jsonl`).
 */
export function isJsonMediaType(mediaType: string): boolean {
  return /^(?:application|text)\/(?:[\w.+-]+\+)?(?:x-)?json\s*(?:;|$)/i.test(mediaType);
}

/**
 * Stands for "no body was sent" during validation (a `preValidation` hook puts it in place of `undefined`,
 * a `preHandler` hook takes it out): body validators accept it whatever the schema.
 */
export const ABSENT_BODY: object = Object.freeze({});

/**
 * An `application/x-www-form-urlencoded` body as an object of text fields: a repeated name gives an array
 * (as repeated query keys do); the validator converts the text by the body schema.
 */
export function parseFormBody(text: string): Record<string, string | string[]> {
  const fields = new Map<string, string | string[]>();
  for (const [name, value] of new URLSearchParams(text)) {
    const seen = fields.get(name);
    fields.set(name, seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]);
  }
  // Object.fromEntries defines own properties: a field named `__proto__` stays a field.
  return Object.fromEntries(fields);
}

/**
 * A parameters schema whose required parameters carry no `default`: Ajv would fill a missing one in before
 * `required` is checked, and a client that leaves out a required parameter must get a 400, not the default.
 */
function withoutRequiredDefaults(schema: unknown): unknown {
  if (!isObj(schema) || !Array.isArray(schema.required) || !isObj(schema.properties)) return schema;
  const properties: Obj = { ...schema.properties };
  let changed = false;
  for (const name of schema.required) {
    const prop = typeof name === 'string' ? properties[name] : undefined;
    if (isObj(prop) && 'default' in prop) {
      const { default: _dropped, ...rest } = prop;
      properties[name as string] = rest;
      changed = true;
    }
  }
  return changed ? { ...schema, properties } : schema;
}

type Resolve = (schema: unknown) => unknown;

/** Follows `$ref`s into the shared schemas (`<$id>#/json/pointer`). */
function refResolver(shared: readonly object[]): Resolve {
  const byId = new Map<string, unknown>();
  for (const s of shared) if (isObj(s) && typeof s.$id === 'string') byId.set(s.$id, s);
  const resolve = (schema: unknown, depth = 0): unknown => {
    if (!isObj(schema) || typeof schema.$ref !== 'string' || depth > 16) return schema;
    const [id = '', fragment = ''] = schema.$ref.split('#');
    let target: unknown = byId.get(id);
    for (const raw of fragment.split('/').slice(1)) {
      const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      target = isObj(target) ? target[part] : undefined;
    }
    return target === undefined ? {} : resolve(target, depth + 1);
  };
  return resolve;
}

type Kind = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'array' | 'object';
const ALL_KINDS: Kind[] = ['string', 'number', 'integer', 'boolean', 'null', 'array', 'object'];

/** The JSON types a schema can accept at its top level (all of them when it does not say). */
function kindsOf(schema: unknown, resolve: Resolve, depth = 0): Set<Kind> {
  const s = resolve(schema);
  if (!isObj(s) || depth > 8) return new Set(ALL_KINDS);
  if (Array.isArray(s.enum) || 'const' in s) {
    const values = Array.isArray(s.enum) ? s.enum : [s.const];
    const kinds = new Set<Kind>();
    for (const v of values) {
      if (v === null) kinds.add('null');
      else if (Array.isArray(v)) kinds.add('array');
      else if (typeof v === 'number') kinds.add(Number.isInteger(v) ? 'integer' : 'number');
      else kinds.add(typeof v as Kind);
    }
    return kinds;
  }
  if (typeof s.type === 'string') return new Set([s.type as Kind]);
  if (Array.isArray(s.type)) return new Set(s.type as Kind[]);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = s[key];
    if (Array.isArray(list) && list.length > 0) {
      const kinds = new Set<Kind>();
      for (const branch of list) for (const k of kindsOf(branch, resolve, depth + 1)) kinds.add(k);
      return kinds;
    }
  }
  return new Set(ALL_KINDS);
}

const INTEGER_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

type Convert = (value: unknown) => unknown;

/**
 * How a parameter value is converted from text by the kinds its schema accepts: integers and numbers from
 * plain decimal text that gives a finite number, booleans from `true`/`false`, `null` from empty text; text
 * that fits none is kept. Undefined when the schema accepts strings (text stays text). Decided once per
 * schema, so that a request pays only for the conversions its parameter can make.
 */
function textConverter(kinds: Set<Kind>): ((text: string) => unknown) | undefined {
  if (kinds.has('string')) return undefined;
  const pattern = kinds.has('number') ? NUMBER_TEXT : kinds.has('integer') ? INTEGER_TEXT : undefined;
  const boolean = kinds.has('boolean');
  const nullable = kinds.has('null');
  const number = (text: string): unknown => {
    if (pattern !== undefined && pattern.test(text)) {
      const n = Number(text);
      if (Number.isFinite(n)) return n;
    }
    return text;
  };
  if (!boolean && !nullable) return number;
  return (text) => {
    const n = number(text);
    if (n !== text) return n;
    if (boolean && (text === 'true' || text === 'false')) return text === 'true';
    if (nullable && text === '') return null;
    return text;
  };
}

/**
 * Converts the string values of a parameters object (query, path or headers) in place, by each
 * property's schema. Arrays: repeated query keys arrive as arrays already and a single one is wrapped;
 * path and header values are comma-separated (OpenAPI's default `simple` style). Undefined when no
 * property needs converting.
 */
function parameterCoercion(schema: unknown, part: HttpPart, resolve: Resolve): ((data: unknown) => void) | undefined {
  const s = resolve(schema);
  const props = isObj(s) && isObj(s.properties) ? s.properties : {};
  const names: string[] = [];
  const converts: Convert[] = [];
  for (const [name, propSchema] of Object.entries(props)) {
    const kinds = kindsOf(propSchema, resolve);
    if (kinds.has('array') && !kinds.has('string')) {
      const items = resolve(propSchema);
      const item = textConverter(kindsOf(isObj(items) && !Array.isArray(items.items) ? items.items : undefined, resolve));
      const convert = item === undefined ? undefined : (v: unknown) => (typeof v === 'string' ? item(v) : v);
      names.push(name);
      converts.push((value) => {
        if (Array.isArray(value)) return convert === undefined ? value : value.map(convert);
        if (typeof value !== 'string') return value;
        const list = part === 'querystring' ? [value] : value.split(',').map((v) => (part === 'headers' ? v.trim() : v));
        return convert === undefined ? list : list.map(convert);
      });
    } else {
      const convert = textConverter(kinds);
      if (convert === undefined) continue; // text stays text
      names.push(name);
      converts.push((value) => (typeof value === 'string' ? convert(value) : value));
    }
  }
  if (names.length === 0) return undefined;
  const count = names.length;
  return (data) => {
    if (!isObj(data)) return;
    for (let i = 0; i < count; i++) {
      const name = names[i]!;
      if (!Object.prototype.hasOwnProperty.call(data, name)) continue;
      const value = data[name];
      if (value !== undefined) data[name] = converts[i]!(value);
    }
  };
}

// ---------------------------------------------------------------------------------------------------------
// Errors

const LOCATION: Record<string, string> = { body: '/body', querystring: '/query', params: '/params', headers: '/headers' };

const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Ajv's errors as `{pointer, message}`, location first. `paramNames` maps route parameter names back to
 * the spec's names where they differ.
 */
export function validationPointers(
  errors: readonly Partial<ErrorObject>[],
  part: string | undefined,
  paramNames?: Readonly<Record<string, string>>,
): ProblemPointer[] {
  const base = LOCATION[part ?? 'body'] ?? '/body';
  return errors.map((e) => {
    let path = e.instancePath ?? '';
    const params = (e.params ?? {}) as Record<string, unknown>;
    let message = e.message ?? 'is invalid';
    if (typeof params.missingProperty === 'string') {
      path += `/${escapePointer(params.missingProperty)}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
      path += `/${escapePointer(params.additionalProperty)}`;
      message = 'is not allowed here (unknown property)';
    }
    if (part === 'params' && paramNames) {
      const m = /^\/([^/]*)(.*)$/.exec(path);
      if (m && paramNames[m[1]!] !== undefined) path = `/${escapePointer(paramNames[m[1]!]!)}${m[2]}`;
    }
    return { pointer: base + path, message };
  });
}

export type LogLevel = 'error' | 'warn' | 'info';

/** What a thrown error becomes: the problem's status, detail and errors, and how loudly to log it. */
export interface ClassifiedError {
  status: number;
  detail: string;
  errors?: ProblemPointer[];
  /** Headers the error asks to send (`WWW-Authenticate`, `Retry-After`): a client error's, or an exposed one's. */
  headers?: Record<string, string | string[]>;
  level: LogLevel;
}

/** PostgreSQL SQLSTATE classes a client's input can reach, when an error escapes the repository. */
const SQLSTATE_CLASSES: Record<string, { status: number; detail: string }> = {
  '22': { status: 400, detail: 'a value in the request is not acceptable' },
  '23': { status: 409, detail: 'the request conflicts with existing data' },
  '54': { status: 400, detail: 'a value in the request is too large' },
};

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** An error's `headers` (the http-errors convention), keeping only well-formed names and values. */
function headersOf(v: unknown): Record<string, string | string[]> | undefined {
  if (!isObj(v)) return undefined;
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(v)) {
    if (!HEADER_NAME.test(name)) continue;
    const list = (Array.isArray(value) ? value : [value]).filter((x) => typeof x === 'string' || typeof x === 'number').map(String);
    if (list.length === 0 || !list.every((x) => HEADER_VALUE.test(x))) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? list : list[0]!;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function isPointerList(v: unknown): v is ProblemPointer[] {
  return Array.isArray(v) && v.every((p) => isObj(p) && typeof p.pointer === 'string' && typeof p.message === 'string');
}

/**
 * Classifies a thrown error (`invalidStatus`: the status the operation declares for an invalid request, 400
 * unless it declares only 422):
 * - a validation error (Fastify's, with Ajv's `validation` list) → `invalidStatus` with `errors`;
 * - Fastify's 400 for a body it cannot parse (`FST_ERR_CTP_*`) → `invalidStatus`;
 * - any error with a numeric `statusCode` (or `status`) in 400–499 → that status, `detail` = its message
 *   (which must therefore be safe to show), `errors` = its `errors` when they are `{pointer, message}`,
 *   `headers` = its `headers` (a `WWW-Authenticate` challenge, a `Retry-After`);
 * - an error with a `statusCode` in 500–599 and `expose: true` (its message is meant for the client, as
 *   with http-errors) → that status, its message and headers;
 * - a PostgreSQL error (5-character SQLSTATE `code`) of class 22, 23 or 54 → 400, 409, 400 with a generic
 *   detail (never the database's message);
 * - anything else → 500 `internal error`.
 */
export function classifyError(
  error: unknown,
  paramNames?: Readonly<Record<string, string>>,
  invalidStatus = 400,
): ClassifiedError {
  const e = (isObj(error) || error instanceof Error ? error : {}) as Obj;
  if (Array.isArray(e.validation)) {
    const errors = validationPointers(e.validation as Partial<ErrorObject>[], e.validationContext as string | undefined, paramNames);
    const first = errors[0];
    return { status: invalidStatus, detail: first ? `${first.pointer} ${first.message}` : 'the request is invalid', errors, level: 'info' };
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : typeof e.status === 'number' ? e.status : undefined;
  // Fastify's 400s for a body it cannot read (malformed or empty JSON, a bad content length) are invalid
  // requests like any other: they get the status the operation declares for those.
  if (status === 400 && typeof e.code === 'string' && e.code.startsWith('FST_ERR_CTP_') && typeof e.message === 'string') {
    return { status: invalidStatus, detail: e.message, level: 'info' };
  }
  if (status !== undefined && Number.isInteger(status) && status >= 400 && status <= 499) {
    const detail = typeof e.message === 'string' && e.message !== '' ? e.message : (STATUS_CODES[status] ?? 'client error');
    const headers = headersOf(e.headers);
    return { status, detail, ...(isPointerList(e.errors) && e.errors.length > 0 ? { errors: e.errors } : {}), ...(headers ? { headers } : {}), level: 'info' };
  }
  if (status !== undefined && Number.isInteger(status) && status >= 500 && status <= 599 && e.expose === true && typeof e.message === 'string' && e.message !== '') {
    const headers = headersOf(e.headers);
    return { status, detail: e.message, ...(headers ? { headers } : {}), level: 'error' };
  }
  if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) {
    const mapped = SQLSTATE_CLASSES[e.code.slice(0, 2)];
    if (mapped) return { ...mapped, level: 'warn' };
  }
  const serverStatus = status !== undefined && Number.isInteger(status) && status >= 500 && status <= 599 ? status : 500;
  return { status: serverStatus, detail: 'internal error', level: 'error' };
}
