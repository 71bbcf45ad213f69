/**
 * `add-auth --accounts`: the local-accounts endpoints added to the spec (register, login, refresh, logout)
 * with their schemas and a bearer scheme for the access tokens they issue. Edited in place like
 * `--endpoint` (comments and layout kept); running it again with the same result changes nothing.
 */
import { BackdevError } from '../core/errors.js';
import { toPointer } from '../core/spec/pointer.js';
import { openSpecForEdit, writeSpecEdit } from '../core/spec/edit/index.js';
import type { Obj } from '../core/json.js';
import type { SpecChanges } from '../core/spec/edit/changes.js';

export const ACCOUNT_ACTIONS = ['register', 'login', 'refresh', 'logout'] as const;
export type AccountAction = (typeof ACCOUNT_ACTIONS)[number];
export const ACCOUNTS_SCHEME = 'bearerAuth';
const TAG = 'auth';

const ref = (name: string): Obj => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Obj): Obj => ({ 'application/json': { schema } });

function additions(): { paths: [string, Obj][]; schemas: [string, Obj][]; scheme: Obj } {
  const problem = (description: string): Obj => ({ description, content: json(ref('AuthError')) });
  const op = (action: AccountAction, summary: string, body: string, responses: Obj): Obj => ({
    post: {
      tags: [TAG],
      summary,
      operationId: action === 'register' ? 'registerAccount' : `${action}Account`,
      security: [],
      'x-backdev-auth': action,
      requestBody: { required: true, content: json(ref(body)) },
      responses,
    },
  });
  const tokens = { description: 'A new access token and refresh token', content: json(ref('AuthTokens')) };
  return {
    paths: [
      ['/auth/register', op('register', 'Create an account', 'Credentials', { '201': { description: 'The account', content: json(ref('Account')) }, '400': problem('Invalid email or weak password'), '409': problem('The email is taken') })],
      ['/auth/login', op('login', 'Log in with email and password', 'Credentials', { '200': tokens, '401': problem('Wrong email or password'), '429': problem('Too many attempts; try again later') })],
      ['/auth/refresh', op('refresh', 'Trade a refresh token for new tokens (the old one stops working)', 'RefreshRequest', { '200': tokens, '401': problem('The refresh token is invalid, expired or was already used') })],
      ['/auth/logout', op('logout', 'Revoke a refresh token and its family', 'RefreshRequest', { '204': { description: 'Logged out' } })],
    ],
    schemas: [
      ['Credentials', { type: 'object', required: ['email', 'password'], properties: { email: { type: 'string', format: 'email', maxLength: 254 }, password: { type: 'string', minLength: 8, maxLength: 1024 } }, additionalProperties: false }],
      ['RefreshRequest', { type: 'object', required: ['refreshToken'], properties: { refreshToken: { type: 'string', minLength: 1, maxLength: 512 } }, additionalProperties: false }],
      ['Account', { type: 'object', required: ['id', 'email'], properties: { id: { type: 'string', format: 'uuid' }, email: { type: 'string', format: 'email' } } }],
      ['AuthTokens', { type: 'object', required: ['accessToken', 'refreshToken', 'tokenType', 'expiresIn'], properties: { accessToken: { type: 'string' }, refreshToken: { type: 'string' }, tokenType: { type: 'string', enum: ['Bearer'] }, expiresIn: { type: 'integer', description: 'Seconds until the access token expires' } } }],
      ['AuthError', { type: 'object', required: ['error', 'message'], properties: { error: { type: 'string' }, message: { type: 'string' } } }],
    ],
    scheme: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access tokens issued by /auth/login and /auth/refresh' },
  };
}

const stable = (v: unknown) => JSON.stringify(v);

export function addAccounts(specText: string, fileName: string): { text: string; changed: boolean } {
  const source = openSpecForEdit(specText, fileName);
  const root = source.root;
  const add = additions();
  const plan: SpecChanges = { paths: [], schemas: [], tag: undefined, securitySchemes: [] };
  const conflicts: string[] = [];
  const check = (where: Obj, key: string, value: Obj, pointer: (string | number)[], push: () => void) => {
    const existing = Object.prototype.hasOwnProperty.call(where, key) ? where[key] : undefined;
    if (existing === undefined) push();
    else if (stable(existing) !== stable(value)) conflicts.push(`#${toPointer(pointer)} already exists with other content`);
  };
  const paths = (root.paths ?? {}) as Obj;
  const components = (root.components ?? {}) as Obj;
  const schemas = (components.schemas ?? {}) as Obj;
  const schemes = (components.securitySchemes ?? {}) as Obj;
  for (const [p, item] of add.paths) check(paths, p, item, ['paths', p], () => plan.paths.push([p, item]));
  for (const [n, schema] of add.schemas) check(schemas, n, schema, ['components', 'schemas', n], () => plan.schemas.push([n, schema]));
  const bearer = schemes[ACCOUNTS_SCHEME];
  const isBearer = (v: unknown) => typeof v === 'object' && v !== null && (v as Obj).type === 'http' && String((v as Obj).scheme).toLowerCase() === 'bearer';
  if (bearer === undefined) plan.securitySchemes!.push([ACCOUNTS_SCHEME, add.scheme]);
  else if (!isBearer(bearer)) conflicts.push(`#/components/securitySchemes/${ACCOUNTS_SCHEME} exists and is not an http bearer scheme`);
  if (conflicts.length > 0) {
    throw new BackdevError('ENDPOINT_EXISTS', `add-auth --accounts cannot add its endpoints to ${fileName}: ${conflicts[0]}`, {
      details: conflicts.slice(1),
      location: { file: fileName },
    });
  }
  if (plan.paths.length === 0 && plan.schemas.length === 0 && plan.securitySchemes!.length === 0) return { text: specText, changed: false };
  const text = writeSpecEdit(source, plan);
  return { text, changed: text !== specText };
}
