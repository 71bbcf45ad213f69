/**
 * The error catalogue. Every failure a user can cause has a stable code and a message that says what to
 * do; spec problems also carry where they are (file, line, column, JSON pointer).
 *
 * User mistakes (`BackdevError`) exit 1 with the message only; anything else is a bug and exits 2 with
 * its stack (see `cli.ts`).
 */
import type { WarningCode } from './warnings.js';

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
  PROJECT_NOT_FOUND: 'the command must run inside a backdev project',
  MIGRATION_FAILED: 'a migration failed to apply',
  MIGRATION_NOT_LOADED: 'a migration file could not be loaded',
  DATABASE_LOCKED: 'the embedded database is in use by another process',
  DATABASE_UNREACHABLE: 'the database server could not be reached or refused the connection',
  DESTRUCTIVE_CHANGE: 'a model change would drop or narrow data',
  USER_FILE_OUTDATED: 'a file of yours lacks what the newly generated code needs',
  TRACE_FILE_INVALID: 'the trace file is missing or not valid JSONL',
  SYNC_TABLES_MISSING: 'the sync tables are not in the database (their migration has not run)',
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
    const where = this.location ? `${terminalSafe(formatLocation(this.location))}: ` : '';
    const head = `${where}${this.message} [BACKDEV_${this.code}]`;
    // Messages and details quote spec text: nothing in them may act on the terminal (see terminalSafe).
    return terminalSafe(this.details.length > 0 ? `${head}\n${this.details.map((d) => `  ${d}`).join('\n')}` : head, true);
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
  /** Stable code from the warning catalogue (`warnings.ts`), e.g. `UNSUPPORTED_SCHEMA`. */
  code: WarningCode;
  /** What the warning is about: `operation listPets`, `schema Pet`, a file path. */
  subject: string;
  message: string;
}

/** One line: control characters and line breaks in the subject or message (spec text) show as escapes. */
export function formatWarning(w: Warning): string {
  return terminalSafe(`warning: ${w.subject}: ${w.message} [BACKDEV_${w.code}]`);
}

/**
 * A name from the spec as a message shows it: JSON-quoted, so where it starts and ends is clear and a quote,
 * line break or control character in it reads as an escape (`"a\nb"`), never as the text it would make.
 */
export function quoteName(name: string): string {
  return JSON.stringify(name);
}

/**
 * Characters that act on a terminal instead of showing: C0 controls (ESC starts colour, cursor and title
 * sequences; CR and BS overwrite), DEL, C1 controls (0x9B is a one-byte CSI), the Unicode line and
 * paragraph separators, and the bidirectional marks and overrides that reorder what a line appears to say.
 */
const TERMINAL_CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const TERMINAL_CONTROLS_BUT_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text made safe to print on a terminal: every character of TERMINAL_CONTROLS is written as an escape
 * (`\n`, `\r`, `\u001b`), so text that came from a spec cannot recolour, move the cursor, retitle the
 * window, hide or fake lines. Tabs stay; line feeds stay only with `keepNewlines` (text that is several
 * lines by design, such as an error with details).
 */
export function terminalSafe(text: string, keepNewlines = false): string {
  return text.replace(keepNewlines ? TERMINAL_CONTROLS_BUT_NEWLINE : TERMINAL_CONTROLS, (ch) => {
    if (ch === '\n') return '\\n';
    if (ch === '\r') return '\\r';
    return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
