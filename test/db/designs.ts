/** Small builders for the database design tests: a spec with component schemas → DbSchema. */
import type { DbSchema } from '../../generators/core/db/types.js';
import type { Warning } from '../../generators/core/errors.js';
import { designSchema, type MappingOptions } from '../../generators/design-database/mapping.js';

export type Schemas = Record<string, unknown>;

export function spec(schemas: Schemas, version: '3.0.3' | '3.1.0' = '3.1.0'): Record<string, unknown> {
  return { openapi: version, info: { title: 't', version: '1' }, paths: {}, components: { schemas } };
}

/** An object schema: `required` lists the required properties. */
export function obj(properties: Record<string, unknown>, required: string[] = [], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'object', ...(required.length > 0 ? { required } : {}), properties, ...extra };
}

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export interface Designed {
  schema: DbSchema;
  warnings: Warning[];
}

/** Designs every schema in `schemas` (or `models`) with uuid keys and no automatic timestamps unless told. */
export function design(schemas: Schemas, options: Partial<MappingOptions> & { models?: string[] } = {}): Designed {
  const warnings: Warning[] = [];
  const { models, ...rest } = options;
  const schema = designSchema(spec(schemas), models ?? Object.keys(schemas), { primaryKey: 'uuid', timestamps: false, ...rest }, warnings);
  return { schema, warnings };
}
