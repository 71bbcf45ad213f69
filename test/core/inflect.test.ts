/**
 * One inflection for every name: a resource added with `create-api --endpoint <given>` and the table
 * `design-database` makes for its model get their singular and plural from the same rules. Each row runs
 * the real functions: addEndpoint (path, operationIds, model) → designSchema (table) → the design-database
 * view (repository file, factory, entity type), and the repository names create-api's handlers import.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tableName } from '../../generators/core/db/names.js';
import type { Warning } from '../../generators/core/errors.js';
import { parseFields } from '../../generators/core/resource/fields.js';
import { pluralize, pluralWord, singularize, singularWord } from '../../generators/core/resource/inflect.js';
import { repositoryNames, resourceNames } from '../../generators/core/resource/names.js';
import { addEndpoint } from '../../generators/create-api/endpoint.js';
import { designSchema } from '../../generators/design-database/mapping.js';
import { buildDatabaseView } from '../../generators/design-database/view-model.js';

const EMPTY_SPEC = 'openapi: 3.1.0\ninfo:\n  title: t\n  version: "1"\npaths: {}\n';
const FIELDS = parseFields('name:string');

/** [what the user types, the schema (type) name, the plural in kebab case (path segment)] */
const NOUNS: [given: string, type: string, plural: string][] = [
  // Irregular plurals.
  ['person', 'Person', 'people'],
  ['child', 'Child', 'children'],
  ['leaf', 'Leaf', 'leaves'],
  ['mouse', 'Mouse', 'mice'],
  ['index', 'Index', 'indexes'],
  ['analysis', 'Analysis', 'analyses'],
  ['criterion', 'Criterion', 'criteria'],
  ['ox', 'Ox', 'oxen'],
  ['goose', 'Goose', 'geese'],
  ['cactus', 'Cactus', 'cacti'],
  ['octopus', 'Octopus', 'octopuses'],
  ['quiz', 'Quiz', 'quizzes'],
  ['bus', 'Bus', 'buses'],
  ['box', 'Box', 'boxes'],
  ['hero', 'Hero', 'heroes'],
  ['category', 'Category', 'categories'],
  ['status', 'Status', 'statuses'],
  ['address', 'Address', 'addresses'],
  ['alias', 'Alias', 'aliases'],
  ['matrix', 'Matrix', 'matrices'],
  ['vertex', 'Vertex', 'vertices'],
  ['half', 'Half', 'halves'],
  ['knife', 'Knife', 'knives'],
  ['wife', 'Wife', 'wives'],
  ['life', 'Life', 'lives'],
  ['wolf', 'Wolf', 'wolves'],
  ['photo', 'Photo', 'photos'],
  ['piano', 'Piano', 'pianos'],
  ['cookie', 'Cookie', 'cookies'],
  ['cache', 'Cache', 'caches'],
  // Same in both numbers.
  ['staff', 'Staff', 'staff'],
  ['media', 'Media', 'media'],
  ['news', 'News', 'news'],
  ['equipment', 'Equipment', 'equipment'],
  ['series', 'Series', 'series'],
  ['species', 'Species', 'species'],
  ['data', 'Data', 'data'],
  ['information', 'Information', 'information'],
  ['software', 'Software', 'software'],
  ['feedback', 'Feedback', 'feedback'],
  ['sheep', 'Sheep', 'sheep'],
  ['fish', 'Fish', 'fish'],
  ['deer', 'Deer', 'deer'],
  // Several words: only the last is inflected.
  ['blog-posts', 'BlogPost', 'blog-posts'],
  ['BlogPost', 'BlogPost', 'blog-posts'],
  ['user_profile', 'UserProfile', 'user-profiles'],
  ['order_item', 'OrderItem', 'order-items'],
  ['APIKeys', 'ApiKey', 'api-keys'],
  ['tree-leaf', 'TreeLeaf', 'tree-leaves'],
  ['SearchIndex', 'SearchIndex', 'search-indexes'],
  ['support-staff', 'SupportStaff', 'support-staff'],
  ['SocialMedia', 'SocialMedia', 'social-media'],
  ['knowledge-bases', 'KnowledgeBase', 'knowledge-bases'],
  // Already plural: stays plural, singular type.
  ['users', 'User', 'users'],
  ['people', 'Person', 'people'],
  ['children', 'Child', 'children'],
  ['leaves', 'Leaf', 'leaves'],
  ['mice', 'Mouse', 'mice'],
  ['categories', 'Category', 'categories'],
  ['addresses', 'Address', 'addresses'],
  ['statuses', 'Status', 'statuses'],
  ['quizzes', 'Quiz', 'quizzes'],
  ['wolves', 'Wolf', 'wolves'],
  ['indices', 'Index', 'indexes'],
  // A last word with digits is not inflected, on either side.
  ['item2', 'Item2', 'item2'],
];

/** Everything the two generators name for one resource. */
function namesOf(given: string) {
  // create-api --endpoint: the spec it writes.
  const edit = addEndpoint(EMPTY_SPEC, 'openapi.yaml', given, FIELDS);
  const doc = parse(edit.text) as { paths: Record<string, Record<string, { operationId: string; 'x-backdev-crud': { model: string } }>> };
  const paths = Object.keys(doc.paths);
  const list = doc.paths[paths[0]!]!.get!;
  const model = list['x-backdev-crud'].model;
  const operationIds = paths
    .flatMap((p) => Object.values(doc.paths[p]!).flatMap((op) => (typeof op.operationId === 'string' ? [op.operationId] : [])))
    .sort();
  // design-database on that spec: the table and the repository it generates for the model.
  const warnings: Warning[] = [];
  const schema = designSchema(doc, [model], { primaryKey: 'uuid', timestamps: false }, warnings);
  const view = buildDatabaseView(schema, () => undefined);
  return {
    paths,
    operationIds,
    model,
    tables: schema.tables.map((t) => t.name),
    tableTypes: view.tables.map((t) => t.typeName),
    dbRepository: view.models.map((m) => ({ fileStem: m.fileStem, entity: m.entity, factory: m.factory })),
    // create-api's handlers import the repository by these names (create-api/view-model.ts, crudView).
    apiRepository: repositoryNames(model),
  };
}

const pascal = (kebab: string): string => kebab.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
const camel = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);
const kebabOfType = (type: string): string => type.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

describe('one inflection for paths, tables, repositories and types', () => {
  it.each(NOUNS)('%s → type %s, plural %s', (given, type, plural) => {
    const n = namesOf(given);
    const table = plural.replace(/-/g, '_');

    // Type and operationIds.
    expect(n.model).toBe(type);
    expect(resourceNames(given).schemaName).toBe(type);
    expect(n.operationIds).toEqual([`create${type}`, `delete${type}`, `get${type}`, `list${pascal(plural)}`, `update${type}`].sort());
    // Path.
    expect(n.paths).toEqual([`/${plural}`, `/${plural}/{id}`]);
    // Table: the design of the model is named like the path, and tableName agrees.
    expect(n.tables).toEqual([table]);
    expect(tableName(type)).toBe(table);
    expect(n.tableTypes).toEqual([`${pascal(plural)}Table`]);
    // Repository: the same file, entity and factory on both sides.
    const repository = { fileStem: kebabOfType(type), entity: type, factory: `${camel(type)}Repository` };
    expect(n.dbRepository).toEqual([repository]);
    expect(n.apiRepository).toEqual(repository);
  });

  it('singular and plural round-trip for every noun of the table', () => {
    for (const [given, type, plural] of NOUNS) {
      const last = kebabOfType(type).split('-').pop()!;
      const pluralLast = plural.split('-').pop()!;
      expect(singularWord(pluralLast), given).toBe(last);
      expect(pluralWord(last), given).toBe(pluralLast);
      expect(pluralWord(pluralLast), `${given}: a plural stays plural`).toBe(pluralLast);
      expect(singularWord(last), `${given}: a singular stays singular`).toBe(last);
    }
  });
});

describe('inflect', () => {
  it.each([
    ['blog-post', 'blog-posts'],
    ['BlogPost', 'BlogPosts'],
    ['user_profile', 'user_profiles'],
    ['orderItem', 'orderItems'],
    ['APIKEY', 'APIKEYS'],
    ['HTTPServer', 'HTTPServers'],
    ['team_staff', 'team_staff'],
    ['item_2', 'item_2'],
    ['PlanA', 'PlanA'],
    ['', ''],
  ])('pluralize(%j) = %j and back', (one, many) => {
    expect(pluralize(one)).toBe(many);
    expect(singularize(many)).toBe(one);
    expect(pluralize(many)).toBe(many);
  });

  it('leaves pronouns, verbs and acronyms alone (the library would turn `me` into `us`)', () => {
    for (const word of ['me', 'us', 'is', 'this', 'sms', 'dns', 'os']) {
      expect(singularWord(word)).toBe(word);
      expect(pluralWord(word)).toBe(word);
    }
    expect(resourceNames('about-us').tag).toBe('about-us');
  });

  it('reads `indices` as `index` but writes `indexes`; `bases` is `base`, `basis` pluralizes to `bases`', () => {
    expect(singularWord('indices')).toBe('index');
    expect(pluralWord('indices')).toBe('indexes');
    expect(singularWord('bases')).toBe('base');
    expect(singularWord('basis')).toBe('basis');
    expect(pluralWord('basis')).toBe('bases');
    expect(singularWord('axis')).toBe('axis');
  });

  it('is deterministic: the same answer whatever was asked before', () => {
    const words = NOUNS.map(([g]) => g);
    const first = words.map((w) => [pluralize(w), singularize(w)]);
    const again = [...words].reverse().map((w) => [pluralize(w), singularize(w)]).reverse();
    expect(again).toEqual(first);
  });
});
