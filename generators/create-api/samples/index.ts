/**
 * Sample values for converted schemas (see `core/ir/json-schema.ts`): one the schema accepts and one it rejects,
 * as fastify's request validation sees them. Every answer is checked with an Ajv instance configured like
 * fastify's, so a sample is never a guess: when no candidate passes the check the answer is `ok: false` with
 * the reason.
 */
export { createValidator, SAMPLES_SCHEMA_ID } from './ajv-cache.js';
export { jsonParserRefusal } from './body-parser.js';
export type { Sample } from './common.js';
export { invalidSample } from './invalid.js';
export { validSample } from './valid.js';
