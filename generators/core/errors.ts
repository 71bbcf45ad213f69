/**
 * The error catalogue. Every failure a user can cause has a stable code and a message that says what to
 * do; spec problems also carry where they are (file, line, column, JSON pointer).
 *
 * User mistakes (`BackdevError`) exit 1 with the message only; anything else is a bug and exits 2 with
 * its stack (see `cli.ts`).
 */

export interface SourceLocation {
  /** Path (or URL) of the file the problem is in. */
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
  /** RFC 6901 JSON pointer into that file, when known ("" is the document root). */
  pointer?: string;
}

export const ErrorCodes = {
  SPEC_UNREADABLE: 'the spec file could not be read',
  SPEC_SYNTAX: 'the spec is not valid YAML or JSON',
  SPEC_NOT_OPENAPI: 'the document is not an OpenAPI 3.x or Swagger 2.0 description',
  SPEC_UNSUPPORTED_VERSION: 'the OpenAPI version is not supported',
  SPEC_INVALID: 'the spec does not follow the OpenAPI structure',
  SPEC_REF_UNRESOLVED: 'a $ref points at nothing',
  SPEC_CONVERSION: 'the Swagger 2.0 document could not be converted to OpenAPI 3',
  CONFIG_INVALID: 'the backdev config file is invalid',
  FIELDS_SYNTAX: 'the --fields description is invalid',
  ENDPOINT_EXISTS: 'the endpoint already exists in the spec',
  OPTION_INVALID: 'a command-line option is invalid',
  TEMPLATE_INVALID: 'a template could not be compiled or rendered',
  GENERATED_FILE_EDITED: 'a generated file was edited by hand',
  OUTPUT_OUTSIDE_ROOT: 'an output path would leave the output directory',
  OUTPUT_CONFLICT: 'the output directory has files backdev did not write',
  INIT_TARGET_NOT_EMPTY: 'the target directory is not empty',
  MIGRATION_FAILED: 'a migration failed to apply',
  DESTRUCTIVE_CHANGE: 'a model change would drop or narrow data',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class BackdevError extends Error {
  readonly code: ErrorCode;
  readonly location: SourceLocation | undefined;
  /** Extra lines printed under the message (a list of files, a hint). */
  readonly details: readonly string[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { location?: SourceLocation; details?: readonly string[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BackdevError';
    this.code = code;
    this.location = options.location;
    this.details = options.details ?? [];
  }

  /** The one-paragraph text shown to a user: `file:line:col (pointer): message [code]`. */
  format(): string {
    const where = this.location ? `${formatLocation(this.location)}: ` : '';
    const head = `${where}${this.message} [BACKDEV_${this.code}]`;
    return this.details.length > 0 ? `${head}\n${this.details.map((d) => `  ${d}`).join('\n')}` : head;
  }
}

export function formatLocation(loc: SourceLocation): string {
  let text = loc.file;
  if (loc.line !== undefined) {
    text += `:${loc.line}`;
    if (loc.column !== undefined) text += `:${loc.column}`;
  }
  if (loc.pointer !== undefined) text += ` (#${loc.pointer})`;
  return text;
}

export function isBackdevError(value: unknown): value is BackdevError {
  return value instanceof BackdevError;
}

/** A non-fatal problem: generation goes on with a sound fallback. */
export interface Warning {
  /** Stable code, e.g. `UNSUPPORTED_SCHEMA`. */
  code: string;
  /** What the warning is about: `operation listPets`, `schema Pet`, a file path. */
  subject: string;
  message: string;
}

export function formatWarning(w: Warning): string {
  return `warning: ${w.subject}: ${w.message} [BACKDEV_${w.code}]`;
}
