/**
 * SQL identifiers for the database design. Every table, column, index and constraint name the design
 * uses is made here: snake_case of `[a-z0-9_]` only, never empty, never starting with a digit, at most 63
 * bytes (PostgreSQL's NAMEDATALEN - 1; longer names are shortened deterministically with a hash of the
 * full name), and unique where PostgreSQL needs it (`SqlNameTable`). Names are still always quoted where
 * SQL is written (`quoteIdent`, Kysely), so reserved words such as `user` or `order` are fine.
 */
import { createHash } from 'node:crypto';

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

function snake(raw: string, fallback: string): string {
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

const IRREGULAR: Record<string, string> = {
  person: 'people',
  man: 'men',
  woman: 'women',
  child: 'children',
  mouse: 'mice',
  goose: 'geese',
  foot: 'feet',
  tooth: 'teeth',
  ox: 'oxen',
  leaf: 'leaves',
  life: 'lives',
  knife: 'knives',
  wife: 'wives',
  half: 'halves',
  shelf: 'shelves',
  criterion: 'criteria',
  datum: 'data',
  index: 'indexes',
  quiz: 'quizzes',
};

const UNCOUNTABLE = new Set([
  'data',
  'metadata',
  'information',
  'equipment',
  'news',
  'series',
  'species',
  'sheep',
  'fish',
  'deer',
  'software',
  'hardware',
  'feedback',
  'media',
  'people',
  'children',
  'staff',
  'analytics',
]);

/** Simple English plural of one lower-case word: `post` → `posts`, `category` → `categories`, `box` → `boxes`. */
export function pluralize(word: string): string {
  const w = word.toLowerCase();
  if (w === '' || UNCOUNTABLE.has(w) || /[^a-z]/.test(w.slice(-1))) return word;
  const irregular = IRREGULAR[w];
  if (irregular !== undefined) return irregular;
  if (/(ss|us|as|x|z|ch|sh)$/.test(w)) return `${w}es`;
  if (/is$/.test(w)) return `${w.slice(0, -2)}es`;
  // Any other final `s` (users, settings, items): already plural.
  if (/s$/.test(w)) return w;
  if (/[^aeiou]y$/.test(w)) return `${w.slice(0, -1)}ies`;
  return `${w}s`;
}

/** The reverse of `pluralize`, good enough for column names: `tags` → `tag`, `categories` → `category`. */
export function singularize(word: string): string {
  const w = word.toLowerCase();
  if (UNCOUNTABLE.has(w) && !Object.values(IRREGULAR).includes(w)) return w;
  for (const [one, many] of Object.entries(IRREGULAR)) if (many === w) return one;
  if (/[^aeiou]ies$/.test(w)) return `${w.slice(0, -3)}y`;
  if (/(ss|x|z|ch|sh|us|as)es$/.test(w)) return w.slice(0, -2);
  if (/[^s]s$/.test(w)) return w.slice(0, -1);
  return w;
}

/** The table of a model: plural snake case of its name, `BlogPost` → `blog_posts`, `Category` → `categories`. */
export function tableName(model: string): string {
  const name = snake(model, 'table');
  const cut = name.lastIndexOf('_');
  const head = name.slice(0, cut + 1);
  const last = name.slice(cut + 1);
  // A name ending in digits (`item_2`) or a single letter is left as it is.
  if (!/^[a-z]{2,}$/.test(last)) return fitIdentifier(name);
  return fitIdentifier(head + pluralize(last));
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
