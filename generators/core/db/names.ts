/**
 * SQL identifiers for the database design. Every table, column, index and constraint name the design
 * uses is made here: snake_case of `[a-z0-9_]` only, never empty, never starting with a digit, at most 63
 * bytes (PostgreSQL's NAMEDATALEN - 1; longer names are shortened deterministically with a hash of the
 * full name), and unique where PostgreSQL needs it (`SqlNameTable`). Names are still always quoted where
 * SQL is written (`quoteIdent`, Kysely), so reserved words such as `user` or `order` are fine.
 */
import { createHash } from 'node:crypto';
import { pluralize } from '../resource/inflect.js';

/** PostgreSQL truncates identifiers longer than this many bytes. */
export const MAX_IDENTIFIER_BYTES = 63;

/** `[a-z_][a-z0-9_]*`, at most 63 bytes: what `toSqlName` and friends produce and snapshots must hold. */
export function isSqlName(name: string): boolean {
  return /^[a-z_][a-z0-9_]*$/.test(name) && name.length <= MAX_IDENTIFIER_BYTES;
}

/**
 * snake_case SQL name: `BlogPost` → `blog_post`, `createdAt` → `created_at`, `HTTPServer` → `http_server`.
 * Accents are dropped (`café` → `cafe`); any other character that is not an ASCII letter or digit becomes
 * `_` (`Größe` → `gro_e`; runs collapsed, trimmed at the ends); a name
 * with nothing left is `fallback`; a leading digit gets a `_` prefix; over 63 bytes it is shortened.
 */
export function toSqlName(raw: string, fallback = 'unnamed'): string {
  return fitIdentifier(snake(raw, fallback));
}

/** Already snake_case (lower-case ASCII words joined by single `_`): what `snake` would return unchanged. */
const SNAKE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

function snake(raw: string, fallback: string): string {
  if (typeof raw === 'string' && SNAKE.test(raw)) return raw;
  let name = String(raw)
    // Letters with accents lose them (é → e); any other non-ASCII character becomes `_` below.
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (name === '') name = toSqlNameFallback(fallback);
  if (/^[0-9]/.test(name)) name = `_${name}`;
  return name;
}

function toSqlNameFallback(fallback: string): string {
  const name = fallback.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return name === '' ? 'unnamed' : name;
}

/**
 * Shortens a name over 63 bytes to a prefix, `_` and the first 8 hex digits of the SHA-256 of the whole
 * name, so that different long names stay different and the same name always gets the same result.
 */
export function fitIdentifier(name: string): string {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes <= MAX_IDENTIFIER_BYTES) return name;
  const hash = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 8);
  const room = MAX_IDENTIFIER_BYTES - hash.length - 1;
  let prefix = '';
  for (const ch of name) {
    if (Buffer.byteLength(prefix + ch, 'utf8') > room) break;
    prefix += ch;
  }
  prefix = prefix.replace(/_+$/, '');
  return `${prefix}_${hash}`;
}

/** Singular and plural of a word or of a name's last word: the shared inflection, the same as paths and types use. */
export { pluralize, singularize } from '../resource/inflect.js';

/**
 * The table of a model: plural snake case of its name, `BlogPost` → `blog_posts`, `Category` → `categories`,
 * `Staff` → `staff`. Only the last word is inflected, by the same rules as the resource's path
 * (core/resource/inflect.ts); a name ending in digits (`item_2`) or a single letter is left as it is.
 */
export function tableName(model: string): string {
  return fitIdentifier(pluralize(snake(model, 'table')));
}

/** `<table>_<columns>_idx`, or `_key` for a unique index. */
export function indexName(table: string, columns: readonly string[], unique: boolean): string {
  return fitIdentifier(`${table}_${columns.join('_')}_${unique ? 'key' : 'idx'}`);
}

export function foreignKeyName(table: string, columns: readonly string[]): string {
  return fitIdentifier(`${table}_${columns.join('_')}_fkey`);
}

export function checkName(table: string, column: string): string {
  return fitIdentifier(`${table}_${column}_check`);
}

/** The primary key constraint (and its index) of a table: `<table>_pkey`. */
export function primaryKeyName(table: string): string {
  return fitIdentifier(`${table}_pkey`);
}

/** `"name"` with `"` doubled: a PostgreSQL quoted identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Hands out unique SQL names. Callers must `claim` in a deterministic order: the first claimant of a name
 * keeps it, later ones get `<name>_2`, `<name>_3`, … (shortened to 63 bytes like any other name).
 */
export class SqlNameTable {
  readonly #taken = new Set<string>();

  constructor(reserved: Iterable<string> = []) {
    for (const name of reserved) this.#taken.add(name);
  }

  has(name: string): boolean {
    return this.#taken.has(name);
  }

  claim(wanted: string): string {
    let name = fitIdentifier(wanted);
    for (let i = 2; this.#taken.has(name); i++) name = fitIdentifier(`${wanted}_${i}`);
    this.#taken.add(name);
    return name;
  }
}
