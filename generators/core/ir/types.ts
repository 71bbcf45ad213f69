/**
 * The intermediate representation: what generators see of an API. Plain frozen data; every node has a
 * `kind`. Names in it are already safe identifiers / file stems (see names.ts); raw spec strings (paths,
 * descriptions, enum values) are kept as data and only become code text through render/escape.ts.
 */
import type { Warning } from '../errors.js';
import type { HttpMethod } from '../spec/structure.js';
import type { JsonSchema } from './json-schema.js';

export type { HttpMethod };

export interface ApiIR {
  readonly kind: 'api';
  readonly title: string;
  readonly version: string;
  readonly description: string | undefined;
  readonly openapiVersion: '3.0' | '3.1';
  /** Sorted by path, then method (get, put, post, delete, options, head, patch, trace). */
  readonly operations: readonly OperationIR[];
  /** One per handler file, sorted by file stem. */
  readonly groups: readonly GroupIR[];
  /** Component schemas converted for Fastify (Ajv / fast-json-stringify), keyed by their spec name. */
  readonly schemaDefs: Readonly<Record<string, JsonSchema>>;
  /** The spec's own schemas of the models that CRUD operations use (with their x-backdev-* marks). */
  readonly modelSchemas: Readonly<Record<string, unknown>>;
  /** `$ref` prefix under which `schemaDefs` are registered with Fastify. */
  readonly schemaRefPrefix: string;
  /** The `$id` under which `schemaDefs` are registered with Fastify. */
  readonly schemaId: string;
  /** `components.securitySchemes`, sorted by name. */
  readonly securitySchemes: readonly SecuritySchemeIR[];
  /** The document's top-level `security` (undefined when absent: operations are public by default). */
  readonly defaultSecurity: readonly SecurityRequirement[] | undefined;
  readonly warnings: readonly Warning[];
}

/**
 * One alternative of an OpenAPI security requirement list: every named scheme must pass, with at least
 * the listed scopes. A list of them is OR; `[]` makes an operation public.
 */
export type SecurityRequirement = Readonly<Record<string, readonly string[]>>;

export type SecuritySchemeIR =
  | { readonly kind: 'security-scheme'; readonly name: string; readonly type: 'http-bearer'; readonly bearerFormat: string | undefined }
  | { readonly kind: 'security-scheme'; readonly name: string; readonly type: 'http-basic' }
  | { readonly kind: 'security-scheme'; readonly name: string; readonly type: 'apiKey'; readonly in: 'header' | 'query' | 'cookie'; readonly paramName: string }
  | { readonly kind: 'security-scheme'; readonly name: string; readonly type: 'oauth2'; readonly scopes: readonly string[] }
  | { readonly kind: 'security-scheme'; readonly name: string; readonly type: 'openIdConnect'; readonly url: string };

/** A set of operations that share a handler file and a test file (one per tag). */
export interface GroupIR {
  readonly kind: 'group';
  /** The tag as written in the spec (`default` when an operation has none). */
  readonly tag: string;
  readonly description: string | undefined;
  /** File stem: `src/handlers/<fileStem>.ts`. */
  readonly fileStem: string;
  /** Identifier for importing the module: `import * as <moduleIdent> from …`. */
  readonly moduleIdent: string;
  readonly operationIds: readonly string[];
}

export interface OperationIR {
  readonly kind: 'operation';
  /** Unique camelCase identifier: the handler's export name and the key in `Handlers`. */
  readonly id: string;
  /** The spec's operationId, if any. */
  readonly operationId: string | undefined;
  readonly method: HttpMethod;
  /** The OpenAPI path template, as written (`/pets/{petId}`). */
  readonly path: string;
  /** The Fastify route URL (`/pets/:petId`). */
  readonly url: string;
  /** Handler group (tag) file stem. */
  readonly group: string;
  readonly summary: string | undefined;
  readonly description: string | undefined;
  readonly deprecated: boolean;
  readonly parameters: readonly ParameterIR[];
  readonly requestBody: RequestBodyIR | undefined;
  /** Sorted: numeric codes ascending, then `1XX`…`5XX`, then `default`. */
  readonly responses: readonly ResponseIR[];
  /** Set by `x-backdev-crud` (written by `--endpoint`): the handler is backed by the model's repository. */
  readonly crud: CrudIR | undefined;
  /** Set by `x-backdev-auth` (written by `add-auth --accounts`): the handler uses the local accounts. */
  readonly account: 'register' | 'login' | 'refresh' | 'logout' | undefined;
  /** The operation's own `security`; undefined means the document's default applies. */
  readonly security: readonly SecurityRequirement[] | undefined;
}

export type CrudAction = 'list' | 'create' | 'get' | 'update' | 'delete';

export interface CrudIR {
  readonly kind: 'crud';
  /** The component schema designed as a table. */
  readonly model: string;
  readonly action: CrudAction;
}

export type ParameterLocation = 'path' | 'query' | 'header' | 'cookie';

export interface ParameterIR {
  readonly kind: 'parameter';
  /** Name as in the spec (header names lower-cased, as Fastify presents them). */
  readonly name: string;
  readonly in: ParameterLocation;
  /** For path parameters: the name used in the Fastify URL (a safe identifier). */
  readonly routeName: string;
  readonly required: boolean;
  readonly schema: JsonSchema;
  readonly description: string | undefined;
}

export interface MediaIR {
  readonly kind: 'media';
  readonly mediaType: string;
  /** Converted schema; `{}` when the spec gives none. */
  readonly schema: JsonSchema;
  /** True for JSON media types (`application/json`, `*+json`), which Fastify parses and serializes. */
  readonly json: boolean;
  /**
   * Request bodies: true when Fastify validates this media type against `schema` (JSON, text, and
   * urlencoded forms whose fields are all flat); false when the body arrives unvalidated.
   */
  readonly validated: boolean;
}

export interface RequestBodyIR {
  readonly kind: 'request-body';
  readonly required: boolean;
  readonly contents: readonly MediaIR[];
}

export interface ResponseIR {
  readonly kind: 'response';
  /** `200`, `2XX`, `default`. */
  readonly status: string;
  readonly description: string | undefined;
  readonly contents: readonly MediaIR[];
}
