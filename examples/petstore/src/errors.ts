/**
 * How error answers look where the spec declares its own error body. The server builds every error as an
 * RFC 9457 problem (`status`, `title`, `detail`, `instance`, `errors`); for a status whose declared body
 * is not a problem, it sends what the function for that schema below returns, with the declared media
 * type. This file is yours: backdev created it to fit the spec's schemas and only appends functions for
 * schemas it lacks.
 */
import type { ProblemDetails } from './generated/http.gen.js';
import type { components } from './generated/openapi.gen.js';

/**
 * The error body declared as the Error schema, made from the problem (`status`,
 * `title`, `detail`, `instance`, `errors`). Declared by:
 * - GET /owners/{ownerId}/pets 400
 * - GET /pets default
 * - POST /pets 400
 * - GET /pets/{petId} 400
 * - GET /pets/{petId} 404
 * - DELETE /pets/{petId} 400
 */
export function errorBody(problem: ProblemDetails): components['schemas']['Error'] {
  return {
    code: problem.status,
    message: problem.detail ?? problem.title,
  };
}
