/**
 * The operations of a bundled OpenAPI 3.x document, as the conformance run needs them: parameters, request
 * bodies and declared responses with their schemas converted by `SchemaSet`.
 */
import { derefObject, SchemaSet, type Schema } from './schema.js';
import { isObject } from '../../../generators/core/json.js';

export const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
export type Method = (typeof METHODS)[number];

export interface ParamSpec {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: Schema;
  style: string;
  explode: boolean;
}

export interface MediaSpec {
  mediaType: string;
  schema: Schema;
  json: boolean;
}

export interface ResponseSpec {
  /** `200`, `4XX`, `default`. */
  status: string;
  /** Empty when the response declares no content. */
  contents: MediaSpec[];
  /** An error response whose JSON schema no body satisfies (set by `judgeable`): its body is not judged. */
  unsatisfiable?: boolean;
}

export interface OperationSpec {
  /** `POST /products`. */
  key: string;
  method: Method;
  path: string;
  operationId: string | undefined;
  params: ParamSpec[];
  body: { required: boolean; contents: MediaSpec[] } | undefined;
  responses: ResponseSpec[];
  /** `x-backdev-crud` (an operation backed by a generated repository). */
  crud: { model: string; action: string } | undefined;
}

export interface SpecModel {
  version: '3.0' | '3.1';
  schemas: SchemaSet;
  operations: OperationSpec[];
}

export function isJsonMediaType(mediaType: string): boolean {
  const base = mediaType.split(';')[0]!.trim().toLowerCase();
  return base === 'application/json' || base === 'text/json' || /^[a-z]+\/[^;]*\+json$/.test(base) || base === '*/*' || base === 'application/*';
}

/** Headers a spec may not describe as parameters (OpenAPI: they are ignored). */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

export function specModel(doc: Record<string, unknown>): SpecModel {
  const openapi = String(doc['openapi'] ?? '');
  const version = openapi.startsWith('3.1') ? '3.1' : '3.0';
  const schemas = new SchemaSet(doc, version);
  const operations: OperationSpec[] = [];
  const paths = isObject(doc['paths']) ? doc['paths'] : {};
  for (const path of Object.keys(paths).sort()) {
    const item = derefObject(doc, paths[path]);
    if (!isObject(item)) continue;
    const shared = Array.isArray(item['parameters']) ? item['parameters'] : [];
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const params = new Map<string, ParamSpec>();
      for (const raw of [...shared, ...(Array.isArray(op['parameters']) ? op['parameters'] : [])]) {
        const p = derefObject(doc, raw);
        if (!isObject(p) || typeof p['name'] !== 'string' || typeof p['in'] !== 'string') continue;
        const where = p['in'] as ParamSpec['in'];
        if (!['path', 'query', 'header', 'cookie'].includes(where)) continue;
        const name = where === 'header' ? p['name'].toLowerCase() : p['name'];
        if (where === 'header' && IGNORED_HEADERS.has(name)) continue;
        let rawSchema = p['schema'];
        if (rawSchema === undefined && isObject(p['content'])) {
          const first = Object.values(p['content'])[0];
          rawSchema = isObject(first) ? first['schema'] : undefined;
        }
        const style = typeof p['style'] === 'string' ? p['style'] : where === 'query' || where === 'cookie' ? 'form' : 'simple';
        params.set(`${where} ${name}`, {
          name,
          in: where,
          required: where === 'path' ? true : p['required'] === true,
          schema: schemas.convert(rawSchema ?? {}, 'request'),
          style,
          explode: typeof p['explode'] === 'boolean' ? p['explode'] : style === 'form',
        });
      }
      let body: OperationSpec['body'];
      const rb = derefObject(doc, op['requestBody']);
      if (isObject(rb) && isObject(rb['content'])) {
        const contents: MediaSpec[] = [];
        for (const [mediaType, media] of Object.entries(rb['content'])) {
          const m = derefObject(doc, media);
          contents.push({ mediaType, schema: schemas.convert(isObject(m) ? (m['schema'] ?? {}) : {}, 'request'), json: isJsonMediaType(mediaType) });
        }
        body = { required: rb['required'] === true, contents };
      }
      const responses: ResponseSpec[] = [];
      if (isObject(op['responses'])) {
        for (const [status, raw] of Object.entries(op['responses'])) {
          const r = derefObject(doc, raw);
          const contents: MediaSpec[] = [];
          if (isObject(r) && isObject(r['content'])) {
            for (const [mediaType, media] of Object.entries(r['content'])) {
              const m = derefObject(doc, media);
              const hasSchema = isObject(m) && m['schema'] !== undefined;
              contents.push({ mediaType, schema: hasSchema ? schemas.convert(m['schema'], 'response') : true, json: isJsonMediaType(mediaType) });
            }
          }
          responses.push({ status: status.toUpperCase() === 'DEFAULT' ? 'default' : status.toUpperCase(), contents });
        }
      }
      const crud = isObject(op['x-backdev-crud']) ? (op['x-backdev-crud'] as { model: string; action: string }) : undefined;
      operations.push({
        key: `${method.toUpperCase()} ${path}`,
        method,
        path,
        operationId: typeof op['operationId'] === 'string' ? op['operationId'] : undefined,
        params: [...params.values()],
        body,
        responses,
        crud,
      });
    }
  }
  return { version, schemas, operations };
}

/** The declared response for a status: the exact code, then its range (`4XX`), then `default`. */
export function declaredResponse(op: OperationSpec, status: number): ResponseSpec | undefined {
  const code = String(status);
  return (
    op.responses.find((r) => r.status === code) ??
    op.responses.find((r) => r.status === `${code[0]}XX`) ??
    op.responses.find((r) => r.status === 'default')
  );
}

/** Whether any declared response could describe a 4xx (an explicit 4xx code, `4XX` or `default`). */
export function declaresClientErrors(op: OperationSpec): boolean {
  return op.responses.some((r) => r.status === 'default' || r.status.startsWith('4'));
}

/**
 * Whether the operation declares a status a server can refuse an invalid request with: 400, 422, `4XX` or
 * `default`. One that declares only others (401, 404) leaves the refusal undescribed: a gap in the spec.
 */
export function declaresRefusal(op: OperationSpec): boolean {
  return op.responses.some((r) => ['400', '422', '4XX', 'default'].includes(r.status));
}
