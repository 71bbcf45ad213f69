/**
 * Safe names. Everything the spec names (operations, tags, parameters) becomes a JavaScript identifier or a
 * file name only through this module: reserved words, leading digits and odd characters are handled here,
 * and collisions are resolved deterministically (`NameTable`).
 */

const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally ' +
    'for function if import in instanceof new null return super switch this throw true try typeof var void ' +
    'while with as implements interface let package private protected public static yield await async any ' +
    'boolean constructor declare get module require number set string symbol type from of undefined never ' +
    'unknown object bigint arguments eval NaN Infinity globalThis'
  ).split(' '),
);

/** Splits `getPetById`, `get_pet-by.id`, `GET /pets/{id}` into lower-case words. */
export function words(raw: string): string[] {
  return raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

const cap = (w: string) => (w.length === 0 ? w : w[0]!.toUpperCase() + w.slice(1));

export function camelCase(raw: string): string {
  const [first = '', ...rest] = words(raw);
  return first + rest.map(cap).join('');
}

export function pascalCase(raw: string): string {
  return words(raw).map(cap).join('');
}

export function kebabCase(raw: string): string {
  return words(raw).join('-');
}

/** A valid, non-reserved identifier in the given case; `fallback` when the input has no usable letters. */
export function toIdentifier(raw: string, style: 'camel' | 'pascal', fallback: string): string {
  let id = style === 'camel' ? camelCase(raw) : pascalCase(raw);
  if (id === '') id = fallback;
  if (/^[0-9]/.test(id)) id = (style === 'camel' ? '_' : 'N') + id;
  if (RESERVED.has(id)) id = id + '_';
  return id;
}

/** True when `name` can be written as a bare property key / identifier. */
export function isSafeIdentifier(name: string): boolean {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) && !RESERVED.has(name);
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;

/** A file-name stem made only of `[a-z0-9-]`, never empty, never a device name. */
export function toFileStem(raw: string, fallback: string): string {
  let stem = kebabCase(raw).slice(0, 80).replace(/-+$/, '');
  if (stem === '') stem = fallback;
  if (WINDOWS_RESERVED.test(stem)) stem += '-';
  return stem;
}

/**
 * Hands out unique names. Callers must `claim` in a deterministic order (sorted input); the first claimant
 * of a name keeps it and later ones get `name2`, `name3`, …. Comparison can be case-insensitive (file
 * names on case-insensitive file systems).
 */
export class NameTable {
  readonly #taken = new Set<string>();
  readonly #caseInsensitive: boolean;

  constructor(options: { caseInsensitive?: boolean; reserved?: Iterable<string> } = {}) {
    this.#caseInsensitive = options.caseInsensitive ?? false;
    for (const r of options.reserved ?? []) this.#taken.add(this.#key(r));
  }

  #key(name: string): string {
    return this.#caseInsensitive ? name.toLowerCase() : name;
  }

  claim(name: string): string {
    let candidate = name;
    for (let n = 2; this.#taken.has(this.#key(candidate)); n++) candidate = `${name}${n}`;
    this.#taken.add(this.#key(candidate));
    return candidate;
  }
}
