/**
 * Checks one response against the spec: the status is declared for the operation (the exact code, then its
 * `4XX` range, then `default`), the content type is one of that response's media types, and the body
 * validates against that media type's schema. A 5xx is always a failure; an invalid request must get a 4xx.
 *
 * One allowance: when a request is invalid and the operation declares no response a 4xx could use (no 4xx
 * code, no `4XX`, no `default`), the server cannot answer within the spec; any 4xx is accepted then, and
 * its body must be a problem details object (the servers' one error format).
 */
import { PROBLEM_SCHEMA as RESOURCE_PROBLEM_SCHEMA } from '../../../generators/core/resource/additions.js';
import type { RequestKind } from './requests.js';
import type { Schema, SchemaSet } from './schema.js';
import { declaredResponse, declaresClientErrors, declaresRefusal, isJsonMediaType, type OperationSpec } from './spec.js';

export type FailureCategory = '5xx' | 'invalid accepted' | 'undeclared status' | 'content type' | 'body' | 'no response';

export interface Verdict {
  ok: boolean;
  category?: FailureCategory;
  /** What was violated, one line. */
  problem?: string;
  /** The response was outside the spec only because the spec declares no error response, or declares one
   * whose schema no body satisfies. */
  undeclarable?: boolean;
}

export interface ObservedResponse {
  status: number;
  contentType: string | undefined;
  body: string;
}

/** Problem details (RFC 9457) as the servers send them, for errors the spec cannot describe: the schema
 * `--endpoint` resources declare. */
export const PROBLEM_SCHEMA = RESOURCE_PROBLEM_SCHEMA as Schema;

function baseType(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

/** Whether a response's media type matches a declared one (`application/json`, `application/*`, `*\/*`). */
export function mediaMatches(declared: string, actual: string): boolean {
  const d = baseType(declared);
  const a = baseType(actual);
  if (d === a || d === '*/*') return true;
  const [dt, ds] = d.split('/');
  const [at] = a.split('/');
  return ds === '*' && dt === at;
}

export function checkResponse(schemas: SchemaSet, op: OperationSpec, kind: RequestKind, method: string, res: ObservedResponse): Verdict {
  if (res.status >= 500) return { ok: false, category: '5xx', problem: `${res.status} ${res.body.slice(0, 100)}` };
  if (kind === 'invalid' && (res.status < 400 || res.status >= 500)) {
    return { ok: false, category: 'invalid accepted', problem: `an invalid request got ${res.status}` };
  }
  const declared = declaredResponse(op, res.status);
  if (!declared) {
    // The spec declares no status to refuse invalid input with (no 400, 422, 4XX or default): a 400
    // problem is the answer it leaves open; anything else still has to be declared.
    if (kind === 'invalid' && (!declaresClientErrors(op) || (res.status === 400 && !declaresRefusal(op)))) {
      const problem = checkProblem(schemas, res);
      if (problem) return { ok: false, category: 'body', problem: `${res.status} (the spec declares no refusal status): ${problem}` };
      return { ok: true, undeclarable: true };
    }
    const statuses = op.responses.map((r) => r.status).join(', ');
    return { ok: false, category: 'undeclared status', problem: `status ${res.status} is not declared (declared: ${statuses})` };
  }
  const hasBody = res.body.length > 0;
  // No body satisfies the declared schema: only the status and the content type can be judged.
  if (declared.unsatisfiable) {
    if (res.contentType && declared.contents.some((c) => mediaMatches(c.mediaType, res.contentType!))) return { ok: true, undeclarable: true };
    return { ok: false, category: 'content type', problem: `${res.status} content-type ${res.contentType ?? '(none)'} is not declared` };
  }
  if (declared.contents.length === 0) {
    if (hasBody)
      return { ok: false, category: 'body', problem: `${res.status} declares no content but the body is ${JSON.stringify(res.body.slice(0, 60))}` };
    return { ok: true };
  }
  if (!hasBody) {
    if (method === 'HEAD' || res.status === 204 || res.status === 304) return { ok: true };
    return {
      ok: false,
      category: 'body',
      problem: `${res.status} declares content (${declared.contents.map((c) => c.mediaType).join(', ')}) but the body is empty`,
    };
  }
  if (!res.contentType)
    return { ok: false, category: 'content type', problem: `no content-type (declared: ${declared.contents.map((c) => c.mediaType).join(', ')})` };
  const media =
    declared.contents.find((c) => baseType(c.mediaType) === baseType(res.contentType!)) ??
    declared.contents.find((c) => mediaMatches(c.mediaType, res.contentType!));
  if (!media) {
    return {
      ok: false,
      category: 'content type',
      problem: `${res.status} content-type ${baseType(res.contentType)} is not declared (declared: ${declared.contents.map((c) => c.mediaType).join(', ')})`,
    };
  }
  if (media.schema === true) return { ok: true };
  const json = isJsonMediaType(res.contentType) || (media.json && baseType(media.mediaType) !== '*/*');
  let value: unknown;
  if (json) {
    try {
      value = JSON.parse(res.body);
    } catch {
      return { ok: false, category: 'body', problem: `${res.status} body is not JSON: ${JSON.stringify(res.body.slice(0, 60))}` };
    }
  } else if (baseType(res.contentType) === 'text/plain' && (schemas.valid(media.schema, 'x') || schemas.valid(media.schema, ''))) {
    value = res.body; // a string schema for plain text (any other schema describes a value in some encoding)
  } else {
    return { ok: true }; // XML, binary and other encodings: the schema describes a value this check cannot decode
  }
  const error = schemas.check(media.schema, value);
  if (error) return { ok: false, category: 'body', problem: `${res.status} ${baseType(res.contentType)}: ${error}` };
  return { ok: true };
}

function checkProblem(schemas: SchemaSet, res: ObservedResponse): string | undefined {
  if (!res.contentType || baseType(res.contentType) !== 'application/problem+json')
    return `content-type ${res.contentType ?? '(none)'} is not application/problem+json`;
  let value: unknown;
  try {
    value = JSON.parse(res.body);
  } catch {
    return 'body is not JSON';
  }
  const error = schemas.check(PROBLEM_SCHEMA, value);
  if (error) return `not a problem details object: ${error}`;
  if ((value as { status?: unknown }).status !== res.status)
    return `problem status ${String((value as { status?: unknown }).status)} differs from ${res.status}`;
  return undefined;
}
