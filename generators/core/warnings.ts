/**
 * The warning catalogue, beside the error one (`errors.ts`): every non-fatal problem a generator reports has a
 * stable code listed here with its one-line meaning, and docs/errors.md documents each (a test checks both
 * ways). A warning never stops generation: a sound fallback is used and the warning says which.
 */

export const WarningCodes = {
  // Spec loading and structure
  SWAGGER2_CONVERTED: 'the spec was Swagger 2.0 and was converted to OpenAPI 3.0 in memory',
  NO_RESPONSES: 'an operation declares no responses',
  // Routes and parameters
  ROUTE_CONFLICT: 'two paths are the same Fastify route; the later one is left out',
  PATH_PARAMETER_UNDECLARED: 'a path template names a parameter that is not declared; it is read as a required string',
  PATH_PARAMETER_UNUSED: 'a path parameter does not appear in the path; it is ignored',
  PATH_WILDCARD: "a path has a `*` Fastify's router would read as a wildcard; the operation is left out",
  PATH_PARAMETER_BOUNDARY: 'two path parameters follow each other with nothing between them',
  QUERY_OBJECT_PARAMETER: 'an object-valued query parameter is not validated',
  COOKIE_PARAMETER: 'cookie parameters are not validated',
  BODY_NOT_VALIDATED: 'a request body media type Fastify does not parse arrives unvalidated',
  RESPONSE_STATUS: 'a response key that is not a status code is ignored',
  RESPONSE_NOT_SERIALIZABLE: "fast-json-stringify cannot build a response's schema; it is sent with JSON.stringify",
  ERROR_BODY_UNSATISFIABLE: 'no value satisfies the schema of an error response',
  CRUD_MARKER_INVALID: "an operation's x-backdev-crud does not name a schema and an action",
  // Schemas
  INVALID_SCHEMA: 'a schema (or part) is malformed; that part accepts any value',
  UNSUPPORTED_SCHEMA: "a valid keyword Fastify's validator cannot use was dropped",
  INVALID_PATTERN: 'a pattern is not a valid regular expression; it is not checked',
  UNRESOLVED_REF: 'a schema $ref could not be followed; that part accepts any value',
  REF_CYCLE: 'a reference cycle could not be expressed; the inner reference accepts any value',
  // Security
  SECURITY_INVALID: '`security` is not a list of requirements; it is ignored',
  SECURITY_UNKNOWN_SCHEME: 'a security requirement names an undeclared scheme; that alternative never passes',
  SECURITY_SCHEME_UNSUPPORTED: 'a security scheme type backdev cannot check; requirements naming it never pass',
  SECURITY_SCHEME_SKIPPED: 'add-auth configures only some schemes; alternatives needing the others never pass',
  // Database
  COLUMN_AS_JSONB: 'a property has no faithful column type; it is stored as jsonb',
  SCHEMA_NOT_MIGRATED: 'a table-backed schema changed since design-database last designed it',
  // Files and projects
  HANDLER_WITHOUT_OPERATION: 'a handler file exports a stub whose operation is gone',
  TEST_WITHOUT_OPERATION: 'a test file has a suite whose operation is gone',
  STALE_USER_FILE: 'a file you own is no longer generated; it is left in place',
  STALE_EDITED_FILE: 'a generated file is no longer produced but was edited by hand; it is left in place',
  APP_NOT_WIRED: 'src/app.ts could not be wired automatically; add the call yourself',
  DEPENDENCY_ADDED: 'a generator added a dependency to package.json; run npm install',
  NO_REALTIME_EVENTS: 'add-realtime found no create, update or delete operation of a resource to publish',
  HEALTH_ROUTE_IN_SPEC: 'the spec has its own /health/live or /health/ready; add-health leaves that route to it',
} as const;

export type WarningCode = keyof typeof WarningCodes;
