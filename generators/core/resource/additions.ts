/**
 * What a resource adds to a spec: its schemas (`<Name>`, `<Name>Create`, `<Name>Update`, `<Name>Page`,
 * `Problem`), the error responses its operations share (`components.responses`: `BadRequest`, `NotFound`,
 * `Conflict`, `UnprocessableContent`) and its collection and item paths, as plain objects; and the plan of
 * what is actually appended.
 */

import { DATE_PATTERN, DATE_TIME_PATTERN, INDEXED_TEXT_MAX_LENGTH, NO_NUL_PATTERN, type FieldSpec } from './fields.js';
import type { Obj } from '../json.js';
import type { ResourceNames } from './names.js';


export interface Additions {
  schemas: [string, Obj][];
  /** The problem details schema and the name the responses refer to it by. */
  problemSchema: Obj;
  problemName: string;
  /** `components.responses` entries the operations refer to (by the names in `ProblemNames.responses`). */
  responses: [string, Obj][];
  paths: [string, Obj][];
}

/** The error responses of a resource, by what they mean. */
export const PROBLEM_RESPONSES = ['BadRequest', 'NotFound', 'Conflict', 'UnprocessableContent'] as const;
export type ProblemResponse = (typeof PROBLEM_RESPONSES)[number];

/** Names the additions use for the problem schema and responses (others when the spec has different ones). */
export interface ProblemNames {
  schema: string;
  responses: Record<ProblemResponse, string>;
}

export const DEFAULT_PROBLEM_NAMES: ProblemNames = {
  schema: 'Problem',
  responses: { BadRequest: 'BadRequest', NotFound: 'NotFound', Conflict: 'Conflict', UnprocessableContent: 'UnprocessableContent' },
};


const ref = (name: string): Obj => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Obj): Obj => ({ 'application/json': { schema } });

/** The schema of a field's property (in `<Name>` and `<Name>Create`: with its default). */
export function fieldSchema(field: FieldSpec, withDefault: boolean): Obj {
  const s: Obj = {};
  switch (field.type) {
    case 'string':
      s.type = 'string';
      break;
    case 'text':
      s.type = 'string';
      s['x-backdev-type'] = 'text';
      break;
    case 'integer':
      s.type = 'integer';
      s.format = 'int32';
      break;
    case 'bigint':
      s.type = 'integer';
      s.format = 'int64';
      break;
    case 'number':
      s.type = 'number';
      break;
    case 'boolean':
      s.type = 'boolean';
      break;
    case 'date':
      s.type = 'string';
      s.format = 'date';
      break;
    case 'datetime':
      s.type = 'string';
      s.format = 'date-time';
      break;
    case 'uuid':
      s.type = 'string';
      s.format = 'uuid';
      break;
    case 'email':
      s.type = 'string';
      s.format = 'email';
      break;
    case 'enum':
      s.type = 'string';
      s.enum = [...(field.enumValues ?? [])];
      break;
    case 'ref':
      s.type = 'string';
      s.format = 'uuid';
      s['x-backdev-ref'] = field.ref;
      break;
  }
  // What PostgreSQL refuses is refused by validation first (a 400 naming the field, never a database error):
  // NUL in text, dates outside its range, an indexed value too long for a btree entry.
  if (field.type === 'string' || field.type === 'text') s.pattern = NO_NUL_PATTERN;
  if (field.type === 'date') s.pattern = DATE_PATTERN;
  if (field.type === 'datetime') s.pattern = DATE_TIME_PATTERN;
  if ((field.unique || field.index) && (field.type === 'string' || field.type === 'text' || field.type === 'email')) s.maxLength = INDEXED_TEXT_MAX_LENGTH;
  if (withDefault && field.default !== undefined) s.default = field.default;
  if (field.unique) s['x-backdev-unique'] = true;
  if (field.index) s['x-backdev-index'] = true;
  return s;
}

/**
 * The schema of a field's property in `<Name>Update`: no default, and an optional field also takes `null`,
 * which clears it (the column is set to NULL; the resource then leaves the property out).
 */
export function updateFieldSchema(field: FieldSpec, openapi31: boolean): Obj {
  const s = fieldSchema(field, false);
  if (!field.optional) return s;
  const out: Obj = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'type' && openapi31) out.type = [v, 'null'];
    else if (k === 'enum') out.enum = [...(v as unknown[]), null];
    else out[k] = v;
    if (k === 'type' && !openapi31) out.nullable = true;
  }
  return out;
}

function article(phrase: string): string {
  return /^([aeio]|u[^aeiou][^aeiou])/.test(phrase) ? `an ${phrase}` : `a ${phrase}`;
}

/** The body of every error a generated server sends: RFC 9457 problem details. */
export const PROBLEM_SCHEMA: Obj = {
  type: 'object',
  description: 'An error (RFC 9457 problem details)',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', description: 'A URI identifying the kind of problem (`about:blank`: see the status)' },
    title: { type: 'string', description: "The status's reason phrase" },
    status: { type: 'integer', description: 'The HTTP status code' },
    detail: { type: 'string', description: 'What went wrong, for people' },
    instance: { type: 'string', description: 'The request, as `urn:request:<id>` (the id is in the server log)' },
    errors: {
      type: 'array',
      description: 'The invalid places of the request',
      items: {
        type: 'object',
        required: ['pointer', 'message'],
        properties: {
          pointer: { type: 'string', description: 'JSON pointer into the request, location first: `/body/price`, `/query/limit`' },
          message: { type: 'string' },
        },
      },
    },
  },
};

/** The shared error responses, referring to the problem schema by `problemName`. */
export function problemResponses(problemName: string): Record<ProblemResponse, Obj> {
  const response = (description: string): Obj => ({ description, content: { 'application/problem+json': { schema: ref(problemName) } } });
  return {
    BadRequest: response('The request is invalid (`errors` points at each invalid place)'),
    NotFound: response('Nothing has this id'),
    Conflict: response('The request conflicts with existing data (a unique field, or rows that still refer to this one)'),
    UnprocessableContent: response('The request refers to something that does not exist (`errors` names the field)'),
  };
}

/** `problem`: the names the error responses use (the defaults unless the spec has others by those names). */
export function buildAdditions(names: ResourceNames, fields: FieldSpec[], openapi31: boolean, problem: ProblemNames = DEFAULT_PROBLEM_NAMES): Additions {
  const problemSchema = PROBLEM_SCHEMA;
  const sharedResponses = problemResponses(problem.schema);
  const N = names.schemaName;
  const one = names.singularWords.join(' ');
  const many = names.pluralWords.join(' ');
  const fieldProps = (withDefault: boolean): Obj =>
    Object.fromEntries(fields.map((f) => [f.name, fieldSchema(f, withDefault)]));
  const readOnly = (format: string): Obj => ({ type: 'string', format, readOnly: true });

  const main: Obj = {
    type: 'object',
    'x-backdev-table': true,
    required: ['id', ...fields.filter((f) => !f.optional).map((f) => f.name), 'createdAt', 'updatedAt'],
    properties: {
      id: readOnly('uuid'),
      ...fieldProps(true),
      createdAt: readOnly('date-time'),
      updatedAt: readOnly('date-time'),
    },
    additionalProperties: false,
  };
  const createRequired = fields.filter((f) => !f.optional && f.default === undefined).map((f) => f.name);
  const create: Obj = {
    type: 'object',
    ...(createRequired.length > 0 ? { required: createRequired } : {}),
    properties: fieldProps(true),
    additionalProperties: false,
  };
  // No `default` here: Ajv's useDefaults (Fastify's default) would reset omitted fields on every PATCH.
  // An optional field takes `null` (it clears the field).
  const update: Obj = {
    type: 'object',
    properties: Object.fromEntries(fields.map((f) => [f.name, updateFieldSchema(f, openapi31)])),
    additionalProperties: false,
    minProperties: 1,
  };
  const page: Obj = {
    type: 'object',
    required: ['items', 'nextCursor'],
    properties: {
      items: { type: 'array', items: ref(N) },
      nextCursor: openapi31
        ? { type: ['string', 'null'], description: 'Pass as `cursor` to get the next page; null on the last page' }
        : {
            type: 'string',
            nullable: true,
            description: 'Pass as `cursor` to get the next page; null on the last page',
          },
    },
    additionalProperties: false,
  };
  const error = (kind: ProblemResponse): Obj => ({ $ref: `#/components/responses/${problem.responses[kind]}` });
  const tags = [names.tag];
  // Marks the operation as one of the resource's CRUD actions: create-api then writes a handler backed
  // by the model's repository instead of a 501 stub.
  const crud = (action: 'list' | 'create' | 'get' | 'update' | 'delete'): Obj => ({ 'x-backdev-crud': { model: N, action } });
  const collection: Obj = {
    get: {
      tags,
      summary: `List ${many}`,
      operationId: names.operationIds.list,
      ...crud('list'),
      parameters: [
        {
          name: 'limit',
          in: 'query',
          description: 'Maximum number of items to return',
          schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
        },
        {
          name: 'cursor',
          in: 'query',
          description: 'The `nextCursor` of the previous page',
          schema: { type: 'string' },
        },
      ],
      responses: {
        '200': { description: `A page of ${many}`, content: json(ref(`${N}Page`)) },
        '400': error('BadRequest'),
      },
    },
    post: {
      tags,
      summary: `Create ${article(one)}`,
      operationId: names.operationIds.create,
      ...crud('create'),
      requestBody: { required: true, content: json(ref(`${N}Create`)) },
      responses: {
        '201': { description: `The created ${one}`, content: json(ref(N)) },
        '400': error('BadRequest'),
        '409': error('Conflict'),
        '422': error('UnprocessableContent'),
      },
    },
  };
  const item: Obj = {
    parameters: [
      {
        name: 'id',
        in: 'path',
        required: true,
        description: `The ${one} id`,
        schema: { type: 'string', format: 'uuid' },
      },
    ],
    get: {
      tags,
      summary: `Get ${article(one)}`,
      operationId: names.operationIds.get,
      ...crud('get'),
      responses: { '200': { description: `The ${one}`, content: json(ref(N)) }, '400': error('BadRequest'), '404': error('NotFound') },
    },
    patch: {
      tags,
      summary: `Update ${article(one)}`,
      operationId: names.operationIds.update,
      ...crud('update'),
      requestBody: { required: true, content: json(ref(`${N}Update`)) },
      responses: {
        '200': { description: `The updated ${one}`, content: json(ref(N)) },
        '400': error('BadRequest'),
        '404': error('NotFound'),
        '409': error('Conflict'),
        '422': error('UnprocessableContent'),
      },
    },
    delete: {
      tags,
      summary: `Delete ${article(one)}`,
      operationId: names.operationIds.delete,
      ...crud('delete'),
      responses: {
        '204': { description: `The ${one} was deleted` },
        '400': error('BadRequest'),
        '404': error('NotFound'),
        '409': error('Conflict'),
      },
    },
  };
  return {
    schemas: [
      [N, main],
      [`${N}Create`, create],
      [`${N}Update`, update],
      [`${N}Page`, page],
    ],
    problemSchema,
    problemName: problem.schema,
    responses: PROBLEM_RESPONSES.map((kind) => [problem.responses[kind], sharedResponses[kind]]),
    paths: [
      [names.collectionPath, collection],
      [names.itemPath, item],
    ],
  };
}
