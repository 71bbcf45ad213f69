/**
 * What a resource adds to a spec: its schemas (`<Name>`, `<Name>Create`, `<Name>Update`, `<Name>Page`,
 * `Error`) and its collection and item paths, as plain objects; and the plan of what is actually appended.
 */

import type { FieldSpec } from '../fields.js';
import type { ResourceNames } from './names.js';

export type Obj = { [key: string]: unknown };

export interface Additions {
  schemas: [string, Obj][];
  errorSchema: Obj;
  errorName: string;
  paths: [string, Obj][];
}

export interface Plan {
  /** Entries to append to `paths`. */
  paths: [string, Obj][];
  /** Entries to append to `components.schemas`. */
  schemas: [string, Obj][];
  /** Item to append to the top-level `tags` list. */
  tag: Obj | undefined;
  /** Entries to append to `components.securitySchemes` (add-auth). */
  securitySchemes?: [string, Obj][];
}

const ref = (name: string): Obj => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Obj): Obj => ({ 'application/json': { schema } });

function fieldSchema(field: FieldSpec, withDefault: boolean): Obj {
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
  if (withDefault && field.default !== undefined) s.default = field.default;
  if (field.unique) s['x-backdev-unique'] = true;
  if (field.index) s['x-backdev-index'] = true;
  return s;
}

function article(phrase: string): string {
  return /^([aeio]|u[^aeiou][^aeiou])/.test(phrase) ? `an ${phrase}` : `a ${phrase}`;
}

/** The error body of a resource's 4xx responses, and of the handlers create-api writes for them. */
export const ERROR_SCHEMA: Obj = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'Stable machine-readable code' },
    message: { type: 'string', description: 'Human-readable explanation' },
    details: { description: 'Extra information, such as the invalid fields' },
  },
};

/** `errorName`: the schema name the error responses refer to (`Error` unless the spec has another `Error`). */
export function buildAdditions(names: ResourceNames, fields: FieldSpec[], openapi31: boolean, errorName = 'Error'): Additions {
  const errorSchema = ERROR_SCHEMA;
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
  const update: Obj = { type: 'object', properties: fieldProps(false), additionalProperties: false, minProperties: 1 };
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
  const error = (description: string): Obj => ({ description, content: json(ref(errorName)) });
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
        '400': error('The request is invalid'),
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
        '400': error('The request is invalid'),
        '409': error(`A unique field conflicts with an existing ${one}`),
      },
    },
  };
  const notFound = error(`No ${one} has this id`);
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
      responses: { '200': { description: `The ${one}`, content: json(ref(N)) }, '404': notFound },
    },
    patch: {
      tags,
      summary: `Update ${article(one)}`,
      operationId: names.operationIds.update,
      ...crud('update'),
      requestBody: { required: true, content: json(ref(`${N}Update`)) },
      responses: {
        '200': { description: `The updated ${one}`, content: json(ref(N)) },
        '400': error('The request is invalid'),
        '404': notFound,
        '409': error(`A unique field conflicts with an existing ${one}`),
      },
    },
    delete: {
      tags,
      summary: `Delete ${article(one)}`,
      operationId: names.operationIds.delete,
      ...crud('delete'),
      responses: { '204': { description: `The ${one} was deleted` }, '404': notFound },
    },
  };
  return {
    schemas: [
      [N, main],
      [`${N}Create`, create],
      [`${N}Update`, update],
      [`${N}Page`, page],
    ],
    errorSchema,
    errorName,
    paths: [
      [names.collectionPath, collection],
      [names.itemPath, item],
    ],
  };
}
