/**
 * Names of a CRUD resource: the schema, tag, path and operationId names derived from an endpoint name
 * such as `blog-posts`, with singular and plural from the shared inflection (inflect.ts).
 */

import { createHash } from 'node:crypto';
import { BackdevError } from '../errors.js';
import { camelCase, kebabCase, toFileStem, toIdentifier } from '../ir/names.js';
import { pluralWord, singularWord } from './inflect.js';

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

/** Singular and plural of one word or of a name's last word: re-exported from the shared inflection. */
export { pluralize, singularize } from './inflect.js';

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
  // The plural is always made from the singular, so that `/indices` and `/indexes` name the same
  // resource and the path agrees with the table the database design makes from the schema name.
  const singularLast = singularWord(last);
  const pluralLast = pluralWord(singularLast);
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
