/**
 * Names of a CRUD resource: deterministic English singular and plural, and the schema, tag, path and
 * operationId names derived from an endpoint name such as `blog-posts`.
 */

import { createHash } from 'node:crypto';
import { BackdevError } from '../errors.js';
import { camelCase, kebabCase, toFileStem, toIdentifier } from '../ir/names.js';

export interface ResourceNames {
  /** Lower-case words of the singular form: `['blog', 'post']`. */
  singularWords: string[];
  pluralWords: string[];
  /** `BlogPost` */
  schemaName: string;
  /** `blog-posts`, also the path segment */
  tag: string;
  /** `/blog-posts` */
  collectionPath: string;
  /** `/blog-posts/{id}` */
  itemPath: string;
  operationIds: { list: string; create: string; get: string; update: string; delete: string };
}

const UNCOUNTABLE = new Set([
  'data',
  'metadata',
  'information',
  'equipment',
  'feedback',
  'news',
  'series',
  'species',
  'software',
  'hardware',
]);
const IRREGULAR: Record<string, string> = { person: 'people', child: 'children', man: 'men', woman: 'women' };
const IRREGULAR_PLURAL: Record<string, string> = Object.fromEntries(Object.entries(IRREGULAR).map(([s, p]) => [p, s]));
/** Plurals the regular rules below would get wrong. */
const PLURAL_EXCEPTIONS: Record<string, string> = {
  movies: 'movie',
  cookies: 'cookie',
  calories: 'calorie',
  pies: 'pie',
  ties: 'tie',
  caches: 'cache',
  menus: 'menu',
  gurus: 'guru',
  quizzes: 'quiz',
};
/** Singulars ending in `s` that the rules below would take for plurals. */
const SINGULAR_S = new Set(['alias', 'bias', 'canvas', 'atlas', 'gas', 'lens', 'bus']);

/** Deterministic English singular of one lower-case word (regular rules plus a few exceptions). */
export function singularize(word: string): string {
  if (UNCOUNTABLE.has(word) || IRREGULAR[word] !== undefined || SINGULAR_S.has(word)) return word;
  const irregular = IRREGULAR_PLURAL[word] ?? PLURAL_EXCEPTIONS[word];
  if (irregular !== undefined) return irregular;
  if (/(ss|sis|xis|us)$/.test(word)) return word;
  if (/[^aeiou]ies$/.test(word) && word.length > 4) return word.slice(0, -3) + 'y';
  if (/(sses|shes|ches|xes|zzes)$/.test(word)) return word.slice(0, -2);
  if (/[^aeiou]uses$/.test(word)) return word.slice(0, -2);
  if (/iases$/.test(word)) return word.slice(0, -2);
  if (/yses$/.test(word)) return word.slice(0, -2) + 'is';
  if (/[^s]s$/.test(word)) return word.slice(0, -1);
  return word;
}

/** Deterministic English plural of one lower-case singular word. */
export function pluralize(word: string): string {
  if (UNCOUNTABLE.has(word)) return word;
  const irregular = IRREGULAR[word] ?? Object.entries(PLURAL_EXCEPTIONS).find(([, s]) => s === word)?.[0];
  if (irregular !== undefined) return irregular;
  if (/(sis|xis)$/.test(word)) return word.slice(0, -2) + 'es';
  if (/[^aeiou]y$/.test(word)) return word.slice(0, -1) + 'ies';
  if (/(s|x|z|ch|sh)$/.test(word)) return word + 'es';
  return word + 's';
}

const cap = (w: string): string => w.charAt(0).toUpperCase() + w.slice(1);

/** Derives every name of a resource from `products`, `product`, `blog-posts`, `BlogPost`, `blog_posts`. */
export function resourceNames(endpoint: string): ResourceNames {
  const raw = endpoint.trim().replace(/^\/+|\/+$/g, '');
  const words = raw
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[-_\s]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
  if (words.length === 0 || !words.every((w) => /^[a-z0-9]+$/.test(w)) || !/^[a-z]/.test(words[0]!)) {
    throw new BackdevError(
      'OPTION_INVALID',
      `invalid endpoint name "${endpoint}": use a resource name made of letters and digits, such as products, blog-posts or BlogPost`,
    );
  }
  const last = words[words.length - 1]!;
  const singularLast = singularize(last);
  const pluralLast = singularLast !== last || UNCOUNTABLE.has(last) ? last : pluralize(last);
  const singularWords = [...words.slice(0, -1), singularLast];
  const pluralWords = [...words.slice(0, -1), pluralLast];
  const schemaName = singularWords.map(cap).join('');
  const pluralPascal = pluralWords.map(cap).join('');
  const tag = pluralWords.join('-');
  return {
    singularWords,
    pluralWords,
    schemaName,
    tag,
    collectionPath: `/${tag}`,
    itemPath: `/${tag}/{id}`,
    operationIds: {
      list: `list${pluralPascal}`,
      create: `create${schemaName}`,
      get: `get${schemaName}`,
      update: `update${schemaName}`,
      delete: `delete${schemaName}`,
    },
  };
}

/** Names of a model's repository: its file stem (`db/repositories/<stem>.ts`), entity type and factory. */
export function repositoryNames(model: string): { fileStem: string; entity: string; factory: string } {
  const entity = toIdentifier(model, 'pascal', 'Entity');
  // A long name is cut with a hash of the whole, so that two models never share a file.
  let fileStem = kebabCase(model) || 'model';
  if (fileStem.length > 80) fileStem = `${fileStem.slice(0, 70).replace(/-+$/, '')}-${createHash('sha256').update(model).digest('hex').slice(0, 8)}`;
  return { fileStem: toFileStem(fileStem, 'model'), entity, factory: `${camelCase(entity) || 'entity'}Repository` };
}
