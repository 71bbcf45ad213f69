/**
 * Checks the parts of an OpenAPI document that generators rely on, with located errors. Full schema
 * validation is a linter's job; this catches what would otherwise crash generation or produce code that
 * does not compile, and turns it into a message pointing at the spot.
 */
import { BackdevError, type SourceLocation, type Warning } from '../errors.js';
import { isObject } from '../json.js';
import { deref, toPointer } from './pointer.js';
import type { OpenApiVersion } from './load.js';

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
const PARAM_LOCATIONS = new Set(['query', 'header', 'path', 'cookie']);

type Locate = (pointer: string) => SourceLocation;


export function checkStructure(
  doc: Record<string, unknown>,
  version: OpenApiVersion,
  locate: Locate,
  warnings: Warning[],
): void {
  const fail = (at: (string | number)[], message: string): never => {
    throw new BackdevError('SPEC_INVALID', message, { location: locate(toPointer(at)) });
  };
  if (!isObject(doc.info)) fail(['info'], 'the document needs an "info" object with "title" and "version"');
  if (doc.paths === undefined) {
    if (version === '3.0') fail([], 'an OpenAPI 3.0 document needs a "paths" object');
    return;
  }
  if (!isObject(doc.paths)) fail(['paths'], '"paths" must be an object mapping paths to path items');
  const paths = doc.paths as Record<string, unknown>;
  for (const [p, item] of Object.entries(paths)) {
    if (p.startsWith('x-')) continue;
    if (!p.startsWith('/')) fail(['paths', p], `path "${p}" must start with "/"`);
    if (!isObject(item)) fail(['paths', p], `path item "${p}" must be an object`);
    const pathItem = item as Record<string, unknown>;
    checkParameters(doc, pathItem.parameters, ['paths', p, 'parameters'], fail);
    for (const method of HTTP_METHODS) {
      const op = pathItem[method];
      if (op === undefined) continue;
      const at = ['paths', p, method];
      if (!isObject(op)) fail(at, `operation ${method.toUpperCase()} ${p} must be an object`);
      const operation = op as Record<string, unknown>;
      checkParameters(doc, operation.parameters, [...at, 'parameters'], fail);
      if (operation.operationId !== undefined && typeof operation.operationId !== 'string') {
        fail([...at, 'operationId'], `operationId of ${method.toUpperCase()} ${p} must be a string`);
      }
      if (operation.responses !== undefined && !isObject(operation.responses)) {
        fail([...at, 'responses'], `responses of ${method.toUpperCase()} ${p} must be an object`);
      }
      if (operation.responses === undefined) {
        warnings.push({
          code: 'NO_RESPONSES',
          subject: `operation ${method.toUpperCase()} ${p}`,
          message: 'declares no responses; its handler may answer with any status and body',
        });
      }
      if (operation.tags !== undefined && !Array.isArray(operation.tags)) {
        fail([...at, 'tags'], `tags of ${method.toUpperCase()} ${p} must be a list of strings`);
      }
    }
  }
}

function checkParameters(
  doc: Record<string, unknown>,
  params: unknown,
  at: (string | number)[],
  fail: (at: (string | number)[], message: string) => never,
): void {
  if (params === undefined) return;
  if (!Array.isArray(params)) fail(at, '"parameters" must be a list');
  (params as unknown[]).forEach((raw, i) => {
    const param = deref(doc, raw);
    if (!isObject(param)) return fail([...at, i], 'a parameter must be an object');
    if (typeof param.name !== 'string' || param.name === '') fail([...at, i], 'a parameter needs a "name"');
    if (typeof param.in !== 'string' || !PARAM_LOCATIONS.has(param.in)) {
      fail([...at, i], `parameter "${String(param.name)}" needs "in": one of query, header, path, cookie`);
    }
  });
}
