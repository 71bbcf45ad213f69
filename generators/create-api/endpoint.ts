/**
 * `backdev create-api` spec editing: adds a CRUD resource (schemas `<Name>`, `<Name>Create`, `<Name>Update`,
 * `<Name>Page`, `Error` when missing, paths `/<plural>` and `/<plural>/{id}`, a tag) to an OpenAPI 3 document
 * given as text, and returns the new text.
 *
 * YAML is edited without re-dumping it: the document is parsed with `yaml`'s `parseDocument`, the edit is
 * applied with the Document API (the reference result), and the new nodes are rendered with the Document API
 * and spliced into the original text at the end of their parent mapping, so every existing byte (comments,
 * key order, quoting, blank lines, folded scalars) stays as it was. The spliced text is re-parsed and must
 * equal the Document-API result; if it ever does not (exotic layouts such as a non-empty flow-style `paths`),
 * the Document-API result is stringified instead, which keeps comments, order and quoting but may reflow
 * some lines.
 *
 * JSON is parsed with an order-preserving parser (so keys such as `"404"` before `"200"` keep their order)
 * and re-serialised with the file's indentation.
 */

import { Document, isCollection, isMap, isPair, isScalar, isSeq, parseDocument, visit, Scalar } from 'yaml';
import type { Pair, ToStringOptions, YAMLMap, YAMLSeq } from 'yaml';
import { BackdevError } from '../core/errors.js';
import type { FieldSpec } from './fields.js';

export interface EndpointEdit {
  /** The new spec text (the input itself when nothing changed). */
  text: string;
  changed: boolean;
  schemaName: string;
  tag: string;
  /** `[list, create, get, update, delete]`. */
  operationIds: string[];
}

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

// ---------------------------------------------------------------------------------------------------------
// Names

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

// ---------------------------------------------------------------------------------------------------------
// What gets added

type Obj = { [key: string]: unknown };

interface Additions {
  schemas: [string, Obj][];
  errorSchema: Obj;
  paths: [string, Obj][];
}

const ref = (name: string): Obj => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Obj): Obj => ({ 'application/json': { schema } });

function fieldSchema(field: FieldSpec, withDefault: boolean): Obj {
  const s: Obj = {};
  switch (field.type) {
    case 'string':
      s.type = 'string';
      break;
    case 'text':
      s.type = 'string';
      s['x-backdev-type'] = 'text';
      break;
    case 'integer':
      s.type = 'integer';
      s.format = 'int32';
      break;
    case 'bigint':
      s.type = 'integer';
      s.format = 'int64';
      break;
    case 'number':
      s.type = 'number';
      break;
    case 'boolean':
      s.type = 'boolean';
      break;
    case 'date':
      s.type = 'string';
      s.format = 'date';
      break;
    case 'datetime':
      s.type = 'string';
      s.format = 'date-time';
      break;
    case 'uuid':
      s.type = 'string';
      s.format = 'uuid';
      break;
    case 'email':
      s.type = 'string';
      s.format = 'email';
      break;
    case 'enum':
      s.type = 'string';
      s.enum = [...(field.enumValues ?? [])];
      break;
    case 'ref':
      s.type = 'string';
      s.format = 'uuid';
      s['x-backdev-ref'] = field.ref;
      break;
  }
  if (withDefault && field.default !== undefined) s.default = field.default;
  if (field.unique) s['x-backdev-unique'] = true;
  if (field.index) s['x-backdev-index'] = true;
  return s;
}

function article(phrase: string): string {
  return /^([aeio]|u[^aeiou][^aeiou])/.test(phrase) ? `an ${phrase}` : `a ${phrase}`;
}

function buildAdditions(names: ResourceNames, fields: FieldSpec[], openapi31: boolean): Additions {
  const N = names.schemaName;
  const one = names.singularWords.join(' ');
  const many = names.pluralWords.join(' ');
  const fieldProps = (withDefault: boolean): Obj =>
    Object.fromEntries(fields.map((f) => [f.name, fieldSchema(f, withDefault)]));
  const readOnly = (format: string): Obj => ({ type: 'string', format, readOnly: true });

  const main: Obj = {
    type: 'object',
    'x-backdev-table': true,
    required: ['id', ...fields.filter((f) => !f.optional).map((f) => f.name), 'createdAt', 'updatedAt'],
    properties: {
      id: readOnly('uuid'),
      ...fieldProps(true),
      createdAt: readOnly('date-time'),
      updatedAt: readOnly('date-time'),
    },
    additionalProperties: false,
  };
  const createRequired = fields.filter((f) => !f.optional && f.default === undefined).map((f) => f.name);
  const create: Obj = {
    type: 'object',
    ...(createRequired.length > 0 ? { required: createRequired } : {}),
    properties: fieldProps(true),
    additionalProperties: false,
  };
  // No `default` here: Ajv's useDefaults (Fastify's default) would reset omitted fields on every PATCH.
  const update: Obj = { type: 'object', properties: fieldProps(false), additionalProperties: false, minProperties: 1 };
  const page: Obj = {
    type: 'object',
    required: ['items', 'nextCursor'],
    properties: {
      items: { type: 'array', items: ref(N) },
      nextCursor: openapi31
        ? { type: ['string', 'null'], description: 'Pass as `cursor` to get the next page; null on the last page' }
        : {
            type: 'string',
            nullable: true,
            description: 'Pass as `cursor` to get the next page; null on the last page',
          },
    },
    additionalProperties: false,
  };
  const errorSchema: Obj = {
    type: 'object',
    required: ['error', 'message'],
    properties: {
      error: { type: 'string', description: 'Stable machine-readable code' },
      message: { type: 'string', description: 'Human-readable explanation' },
      details: { description: 'Extra information, such as the invalid fields' },
    },
  };

  const error = (description: string): Obj => ({ description, content: json(ref('Error')) });
  const tags = [names.tag];
  const collection: Obj = {
    get: {
      tags,
      summary: `List ${many}`,
      operationId: names.operationIds.list,
      parameters: [
        {
          name: 'limit',
          in: 'query',
          description: 'Maximum number of items to return',
          schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
        },
        {
          name: 'cursor',
          in: 'query',
          description: 'The `nextCursor` of the previous page',
          schema: { type: 'string' },
        },
      ],
      responses: {
        '200': { description: `A page of ${many}`, content: json(ref(`${N}Page`)) },
        '400': error('The request is invalid'),
      },
    },
    post: {
      tags,
      summary: `Create ${article(one)}`,
      operationId: names.operationIds.create,
      requestBody: { required: true, content: json(ref(`${N}Create`)) },
      responses: {
        '201': { description: `The created ${one}`, content: json(ref(N)) },
        '400': error('The request is invalid'),
        '409': error(`A unique field conflicts with an existing ${one}`),
      },
    },
  };
  const notFound = error(`No ${one} has this id`);
  const item: Obj = {
    parameters: [
      {
        name: 'id',
        in: 'path',
        required: true,
        description: `The ${one} id`,
        schema: { type: 'string', format: 'uuid' },
      },
    ],
    get: {
      tags,
      summary: `Get ${article(one)}`,
      operationId: names.operationIds.get,
      responses: { '200': { description: `The ${one}`, content: json(ref(N)) }, '404': notFound },
    },
    patch: {
      tags,
      summary: `Update ${article(one)}`,
      operationId: names.operationIds.update,
      requestBody: { required: true, content: json(ref(`${N}Update`)) },
      responses: {
        '200': { description: `The updated ${one}`, content: json(ref(N)) },
        '400': error('The request is invalid'),
        '404': notFound,
        '409': error(`A unique field conflicts with an existing ${one}`),
      },
    },
    delete: {
      tags,
      summary: `Delete ${article(one)}`,
      operationId: names.operationIds.delete,
      responses: { '204': { description: `The ${one} was deleted` }, '404': notFound },
    },
  };
  return {
    schemas: [
      [N, main],
      [`${N}Create`, create],
      [`${N}Update`, update],
      [`${N}Page`, page],
    ],
    errorSchema,
    paths: [
      [names.collectionPath, collection],
      [names.itemPath, item],
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Entry point

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface Plan {
  /** Entries to append to `paths`. */
  paths: [string, Obj][];
  /** Entries to append to `components.schemas`. */
  schemas: [string, Obj][];
  /** Item to append to the top-level `tags` list. */
  tag: Obj | undefined;
}

export function addEndpoint(specText: string, fileName: string, endpoint: string, fields: FieldSpec[]): EndpointEdit {
  const names = resourceNames(endpoint);
  checkFields(fields);
  const result: Omit<EndpointEdit, 'text' | 'changed'> = {
    schemaName: names.schemaName,
    tag: names.tag,
    operationIds: [
      names.operationIds.list,
      names.operationIds.create,
      names.operationIds.get,
      names.operationIds.update,
      names.operationIds.delete,
    ],
  };

  const bom = specText.startsWith('\uFEFF') ? '\uFEFF' : '';
  const text = specText.slice(bom.length);
  // A `.json` file is JSON; another file is JSON when it starts with `{` and parses as JSON (else it is YAML,
  // possibly in flow style).
  let json: JsonValue | undefined;
  if (/\.json$/i.test(fileName)) json = parseJson(text, fileName);
  else if (text.trimStart().startsWith('{')) {
    try {
      json = parseJson(text, fileName);
    } catch {
      json = undefined;
    }
  }
  const isJson = json !== undefined;
  const yamlDoc = isJson ? undefined : parseYaml(text, fileName);
  const spec = json !== undefined ? toPlain(json) : (yamlDoc!.toJS({ maxAliasCount: -1 }) as unknown);

  const openapi31 = checkOpenApi(spec, fileName);
  const root = spec as Obj;
  for (const [key, where] of [
    ['paths', root],
    ['components', root],
    ['schemas', root.components],
  ] as const) {
    const value = isObj(where) ? where[key] : undefined;
    if (value !== undefined && value !== null && !isObj(value)) {
      const pointer = key === 'schemas' ? '/components/schemas' : `/${key}`;
      throw new BackdevError(
        'SPEC_INVALID',
        `"${pointer.slice(1).replace('/', '.')}" must be a mapping in ${fileName}`,
        {
          location: { file: fileName, pointer },
        },
      );
    }
  }

  const additions = buildAdditions(names, fields, openapi31);
  const plan = planEdit(root, additions, names, fileName);
  if (plan.paths.length === 0 && plan.schemas.length === 0 && plan.tag === undefined) {
    return { ...result, text: specText, changed: false };
  }
  const edited = json !== undefined ? editJson(text, json, plan) : editYaml(text, yamlDoc!, plan);
  return { ...result, text: bom + edited, changed: edited !== text };
}

function checkFields(fields: FieldSpec[]): void {
  if (fields.length === 0) {
    throw new BackdevError(
      'FIELDS_SYNTAX',
      '--fields: a resource needs at least one field, e.g. --fields "name:string"',
    );
  }
  const seen = new Set<string>();
  for (const f of fields) {
    const key = f.name.toLowerCase();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(f.name) || ['id', 'createdat', 'updatedat'].includes(key.replace(/_/g, ''))) {
      throw new BackdevError('FIELDS_SYNTAX', `--fields: invalid or reserved field name "${f.name}"`);
    }
    if (seen.has(key)) throw new BackdevError('FIELDS_SYNTAX', `--fields: duplicate field name "${f.name}"`);
    seen.add(key);
  }
}

/** Returns true for OpenAPI 3.1+ (type arrays), false for 3.0 (`nullable`). */
function checkOpenApi(spec: unknown, fileName: string): boolean {
  const location = { file: fileName, line: 1, column: 1, pointer: '' };
  if (!isObj(spec)) {
    throw new BackdevError(
      'SPEC_NOT_OPENAPI',
      `${fileName} is not an OpenAPI document: expected a mapping at the top level`,
      {
        location,
      },
    );
  }
  const version = spec.openapi;
  if (typeof version === 'string') {
    const m = /^3\.(\d+)(\.|$)/.exec(version);
    if (m) return Number(m[1]) >= 1;
  }
  const what =
    spec.swagger !== undefined
      ? `it is a Swagger ${String(spec.swagger)} document; convert it to OpenAPI 3 first`
      : version === undefined
        ? 'it has no "openapi" field'
        : `"openapi" is ${JSON.stringify(version)}, expected a string such as "3.0.3" or "3.1.0"`;
  throw new BackdevError('SPEC_NOT_OPENAPI', `${fileName} is not an OpenAPI 3 document: ${what}`, { location });
}

const pointerOf = (...segments: string[]): string =>
  segments.map((s) => '/' + s.replace(/~/g, '~0').replace(/\//g, '~1')).join('');

function planEdit(root: Obj, add: Additions, names: ResourceNames, fileName: string): Plan {
  const conflicts: string[] = [];
  const details: string[] = [];
  const plan: Plan = { paths: [], schemas: [], tag: undefined };
  const hint = 'remove it or choose another endpoint name';

  const schemas = isObj(root.components) && isObj(root.components.schemas) ? root.components.schemas : {};
  for (const [name, schema] of add.schemas) {
    const existing = own(schemas, name);
    if (existing === undefined) plan.schemas.push([name, schema]);
    else if (!deepEqual(existing, schema)) {
      const pointer = pointerOf('components', 'schemas', name);
      conflicts.push(`schema "${name}" already exists in ${fileName} (#${pointer}); ${hint}`);
      details.push(
        `#${pointer} differs from what create-api adds, first at #${firstDifference(existing, schema, pointer)}`,
      );
    }
  }
  if (own(schemas, 'Error') === undefined) plan.schemas.push(['Error', add.errorSchema]);

  const paths = isObj(root.paths) ? root.paths : {};
  const template = (p: string) => p.replace(/\{[^}]*\}/g, '{}');
  const ours = new Set(add.paths.map(([p]) => p));
  for (const [path, item] of add.paths) {
    const existing = own(paths, path);
    const pointer = pointerOf('paths', path);
    if (existing === undefined) plan.paths.push([path, item]);
    else if (!deepEqual(existing, item)) {
      conflicts.push(`path "${path}" already exists in ${fileName} (#${pointer}); ${hint}`);
      details.push(
        `#${pointer} differs from what create-api adds, first at #${firstDifference(existing, item, pointer)}`,
      );
    }
    for (const other of Object.keys(paths)) {
      if (other !== path && !ours.has(other) && template(other) === template(path)) {
        conflicts.push(
          `path "${other}" in ${fileName} (#${pointerOf('paths', other)}) is the same route as "${path}"; ${hint}`,
        );
      }
    }
  }
  const wanted = new Set(Object.values(names.operationIds));
  for (const [path, item] of Object.entries(paths)) {
    if (ours.has(path) || !isObj(item)) continue;
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (isObj(op) && typeof op.operationId === 'string' && wanted.has(op.operationId)) {
        conflicts.push(
          `operationId "${op.operationId}" is already used by ${method.toUpperCase()} ${path} in ${fileName} (#${pointerOf('paths', path, method)}); rename it or choose another endpoint name`,
        );
      }
    }
  }
  if (conflicts.length > 0) {
    throw new BackdevError('ENDPOINT_EXISTS', conflicts[0]!, { details: [...conflicts.slice(1), ...details] });
  }

  if (Array.isArray(root.tags) && !root.tags.some((t) => isObj(t) && t.name === names.tag)) {
    plan.tag = { name: names.tag, description: `Operations on ${names.pluralWords.join(' ')}` };
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------------------
// YAML

function parseYaml(text: string, fileName: string): Document.Parsed {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const error = doc.errors[0];
  if (error !== undefined) {
    const { line, column } = lineColumn(text, error.pos[0]);
    throw new BackdevError('SPEC_SYNTAX', `invalid YAML: ${error.message.split('\n')[0]}`, {
      location: { file: fileName, line, column },
    });
  }
  return doc;
}

interface YamlStyle {
  indent: number;
  indentSeq: boolean;
  singleQuote: boolean;
  flowCollectionPadding: boolean;
  eol: string;
}

function detectYamlStyle(text: string, doc: Document.Parsed): YamlStyle {
  let indent: number | undefined;
  let indentSeq: boolean | undefined;
  let singleQuote: boolean | undefined;
  let anyQuote: boolean | undefined;
  let padding: boolean | undefined;
  visit(doc, {
    Pair(_, pair) {
      const keyStart = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
      if (keyStart === undefined) return;
      const keyCol = columnOf(text, keyStart);
      const value = pair.value;
      if (indent === undefined && isMap(value) && !value.flow) {
        const first = value.items[0];
        const start = first && isScalar(first.key) ? first.key.range?.[0] : undefined;
        if (start !== undefined && columnOf(text, start) > keyCol) indent = columnOf(text, start) - keyCol;
      }
      if (indentSeq === undefined && isSeq(value) && !value.flow && value.items.length > 0) {
        const dash = dashColumn(text, value.items[0]);
        if (dash !== undefined) indentSeq = dash > keyCol;
      }
      if (singleQuote === undefined && isScalar(pair.key) && pair.key.value === '$ref' && isScalar(value)) {
        if (value.type === Scalar.QUOTE_SINGLE) singleQuote = true;
        if (value.type === Scalar.QUOTE_DOUBLE) singleQuote = false;
      }
    },
    Scalar(_, node) {
      if (anyQuote === undefined && node.type === Scalar.QUOTE_SINGLE) anyQuote = true;
      if (anyQuote === undefined && node.type === Scalar.QUOTE_DOUBLE) anyQuote = false;
    },
    Node(_, node) {
      if (padding === undefined && isCollection(node) && node.flow && node.items.length > 0 && node.range) {
        const after = text[node.range[0] + 1];
        if (after !== undefined && after !== '\n' && after !== '\r') padding = after === ' ';
      }
    },
  });
  return {
    indent: indent ?? 2,
    indentSeq: indentSeq ?? true,
    singleQuote: singleQuote ?? anyQuote ?? true,
    flowCollectionPadding: padding ?? false,
    eol: text.includes('\r\n') ? '\r\n' : '\n',
  };
}

function toStringOptions(style: YamlStyle): ToStringOptions {
  return {
    indent: style.indent,
    indentSeq: style.indentSeq,
    singleQuote: style.singleQuote,
    flowCollectionPadding: style.flowCollectionPadding,
  };
}

/** A node for `value` in `doc`, with short lists of scalars in flow style (`required: [id, name]`). */
function createNode(doc: Document, value: unknown) {
  const node = doc.createNode(value, { aliasDuplicateObjects: false });
  visit(node, {
    Seq(_, seq) {
      if (seq.items.every((item) => isScalar(item))) seq.flow = true;
    },
  });
  return node;
}

function editYaml(text: string, source: Document.Parsed, plan: Plan): string {
  const style = detectYamlStyle(text, source);
  const options = toStringOptions(style);

  // The reference edit, with the Document API.
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (isMap(doc.contents) && doc.contents.flow) doc.contents.flow = false;
  const targets: [string[], [string, Obj][]][] = [
    [['paths'], plan.paths],
    [['components', 'schemas'], plan.schemas],
  ];
  for (const [path, entries] of targets) {
    if (entries.length === 0) continue;
    for (let i = 1; i <= path.length; i++) {
      const node = doc.getIn(path.slice(0, i), true);
      if (node === undefined) break;
      if (isScalar(node) && node.value === null) {
        const map = doc.createNode({});
        map.commentBefore = node.commentBefore;
        map.comment = node.comment;
        doc.setIn(path.slice(0, i), map);
      }
      // Block nodes cannot live in a flow mapping: the container becomes block style (its entries keep theirs).
      const map = doc.getIn(path.slice(0, i), true);
      if (isMap(map) && map.flow) map.flow = false;
    }
    for (const [key, value] of entries) doc.setIn([...path, key], createNode(doc, value));
  }
  if (plan.tag !== undefined) {
    const tags = doc.get('tags', true) as YAMLSeq;
    if (tags.flow && tags.items.length === 0) tags.flow = false;
    tags.add(createNode(doc, plan.tag));
  }
  const expected = JSON.stringify(doc.toJS({ maxAliasCount: -1 }));

  const spliced = spliceYaml(text, source, targets, plan.tag, style);
  if (spliced !== undefined) {
    const check = parseDocument(spliced, { uniqueKeys: true, prettyErrors: false });
    if (check.errors.length === 0 && JSON.stringify(check.toJS({ maxAliasCount: -1 })) === expected) return spliced;
  }
  return doc.toString(options).replace(/\r?\n/g, style.eol);
}

interface Splice {
  start: number;
  end: number;
  text: string;
  /** Column of the inserted block. */
  column: number;
}

/** Renders `value` (a mapping or a sequence) as block YAML whose lines start at `column`. */
function renderBlock(value: unknown, column: number, style: YamlStyle): string {
  const doc = new Document();
  doc.contents = createNode(doc, value) as typeof doc.contents;
  const body = doc.toString(toStringOptions(style));
  const pad = ' '.repeat(column);
  return body
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join('\n')
    .concat('\n');
}

function nest(path: string[], entries: [string, Obj][]): Map<string, unknown> {
  let value = new Map<string, unknown>(entries);
  for (let i = path.length - 1; i >= 0; i--) value = new Map<string, unknown>([[path[i]!, value]]);
  return value;
}

/**
 * Inserts the new entries as text; undefined when the layout is not one this handles (the caller then
 * falls back to stringifying the Document).
 */
function spliceYaml(
  text: string,
  doc: Document.Parsed,
  targets: [string[], [string, Obj][]][],
  tag: Obj | undefined,
  style: YamlStyle,
): string | undefined {
  const root = doc.contents;
  if (!isMap(root) || root.flow) return undefined;
  const splices: Splice[] = [];

  const appendToMap = (map: YAMLMap, entries: Map<string, unknown>): boolean => {
    const first = map.items[0];
    const keyStart = first && isScalar(first.key) ? first.key.range?.[0] : undefined;
    if (map.flow || keyStart === undefined || !map.range) return false;
    const column = columnOf(text, keyStart);
    splices.push(insertAfter(text, map.range[1], renderBlock(entries, column, style), column));
    return true;
  };

  for (const [path, entries] of targets) {
    if (entries.length === 0) continue;
    let map: YAMLMap = root;
    let done = false;
    for (let i = 0; i < path.length; i++) {
      const pair = findPair(map, path[i]!);
      if (pair === undefined) {
        if (!appendToMap(map, nest(path.slice(i), entries))) return undefined;
        done = true;
        break;
      }
      const value = pair.value;
      const empty =
        (isScalar(value) && value.value === null) || (isMap(value) && value.flow === true && value.items.length === 0);
      if (empty) {
        const block = nest(path.slice(i + 1), entries);
        const s = replaceValue(text, pair, block, style.indent, style);
        if (s === undefined) return undefined;
        splices.push(s);
        done = true;
        break;
      }
      if (!isMap(value)) return undefined;
      map = value;
    }
    if (!done && !appendToMap(map, new Map(entries))) return undefined;
  }

  if (tag !== undefined) {
    const pair = findPair(root, 'tags');
    const seq = pair?.value;
    if (pair === undefined || !isSeq(seq)) return undefined;
    if (seq.flow && seq.items.length === 0) {
      const s = replaceValue(text, pair, [tag], style.indentSeq ? style.indent : 0, style);
      if (s === undefined) return undefined;
      splices.push(s);
    } else if (seq.flow) {
      // `tags: [{name: pets}]`: add `, {name: products}` before the closing bracket.
      const close = seq.range ? seq.range[1] - 1 : -1;
      if (text[close] !== ']') return undefined;
      const item = new Document();
      const node = createNode(item, tag);
      if (isMap(node)) node.flow = true;
      item.contents = node as typeof item.contents;
      let before = close;
      while (before > 0 && /\s/.test(text[before - 1]!)) before--;
      const rendered = item.toString({ ...toStringOptions(style), lineWidth: 0 }).trim();
      splices.push({ start: before, end: before, text: `, ${rendered}`, column: Infinity });
    } else {
      const dash = dashColumn(text, seq.items[0]);
      if (dash === undefined || !seq.range) return undefined;
      splices.push(insertAfter(text, seq.range[1], renderBlock([tag], dash, style), dash));
    }
  }

  // Apply from the end so earlier offsets stay valid. Inserts at the same offset close several blocks at
  // once: the deepest one (largest column) continues its block first, then the shallower ones.
  let out = text;
  const ordered = splices
    .map((s, i) => ({ ...s, i }))
    .sort((a, b) => b.start - a.start || a.column - b.column || b.i - a.i);
  for (const s of ordered) out = out.slice(0, s.start) + s.text.replace(/\n/g, style.eol) + out.slice(s.end);
  return out;
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key) as Pair | undefined;
}

/** A splice inserting `block` on the line after `offset` (the end of a node's content). */
function insertAfter(text: string, offset: number, block: string, column: number): Splice {
  if (offset > 0 && text[offset - 1] === '\n') return { start: offset, end: offset, text: block, column };
  const nl = text.indexOf('\n', offset);
  if (nl < 0) return { start: text.length, end: text.length, text: '\n' + block, column };
  return { start: nl + 1, end: nl + 1, text: block, column };
}

/** A splice replacing an empty value (`key:`, `key: ~`, `key: {}`, `key: []`) with a block under the key. */
function replaceValue(
  text: string,
  pair: Pair,
  value: unknown,
  childIndent: number,
  style: YamlStyle,
): Splice | undefined {
  const key = pair.key;
  const node = pair.value;
  if (!isScalar(key) || !key.range || !(isScalar(node) || isCollection(node)) || !node.range) return undefined;
  let colon = node.range[0] - 1;
  while (colon >= 0 && (text[colon] === ' ' || text[colon] === '\t')) colon--;
  if (text[colon] !== ':' || colon < key.range[1]) return undefined;
  // Only the empty value itself and blanks are replaced; a comment after it stays on the key's line.
  const nl = text.indexOf('\n', node.range[0]);
  const replaced = text.slice(colon + 1, nl < 0 ? text.length : nl);
  const m = /^[ \t]*(?:~|null|Null|NULL|\{[ \t]*\}|\[[ \t]*\])?[ \t]*(#[^\r]*)?\r?$/.exec(replaced);
  if (!m) return undefined;
  const comment = m[1] === undefined ? '' : ` ${m[1]}`;
  const column = columnOf(text, key.range[0]) + childIndent;
  const block = renderBlock(value, column, style);
  return { start: colon + 1, end: nl < 0 ? text.length : nl + 1, text: `${comment}\n${block}`, column };
}

function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/** The column of the `-` of a block-sequence item, when the item starts on its dash's line. */
function dashColumn(text: string, item: unknown): number | undefined {
  const start = (item as { range?: [number, number, number] } | null)?.range?.[0];
  if (start === undefined) return undefined;
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const m = /^( *)-[ \t]+$/.exec(text.slice(lineStart, start));
  return m ? m[1]!.length : undefined;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

// ---------------------------------------------------------------------------------------------------------
// JSON (order-preserving)

/** A number kept as written, so re-serialising does not change `1.0` or big integers. */
class JsonNumber {
  constructor(readonly raw: string) {}
}
type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | Map<string, JsonValue>;

function parseJson(text: string, fileName: string): JsonValue {
  let i = 0;
  const fail = (message: string, at = i): never => {
    const { line, column } = lineColumn(text, at);
    throw new BackdevError('SPEC_SYNTAX', `invalid JSON: ${message}`, { location: { file: fileName, line, column } });
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const describe = () => (i >= text.length ? 'end of input' : JSON.stringify(text[i]));
  const value = (): JsonValue => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const map = new Map<string, JsonValue>();
      ws();
      if (text[i] === '}') {
        i++;
        return map;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a property name in double quotes, found ${describe()}`);
        const key = string();
        ws();
        if (text[i] !== ':') fail(`expected ":" after property name, found ${describe()}`);
        i++;
        const v = value();
        if (map.has(key)) map.delete(key);
        map.set(key, v);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return map;
        }
        fail(`expected "," or "}" after a property value, found ${describe()}`);
      }
    }
    if (c === '[') {
      i++;
      const list: JsonValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return list;
      }
      for (;;) {
        list.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return list;
        }
        fail(`expected "," or "]" after an array element, found ${describe()}`);
      }
    }
    if (c === '"') return string();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m && m[0] !== '-') {
      i += m[0].length;
      return new JsonNumber(m[0]);
    }
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return fail(`unexpected ${describe()}`);
  };
  const string = (): string => {
    const start = i;
    i++;
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('invalid \\u escape');
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail('invalid escape in string');
        i += 2;
        continue;
      }
      i++;
    }
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const result = value();
  ws();
  if (i < text.length) fail(`unexpected ${describe()} after the document`);
  return result;
}

function toPlain(value: JsonValue): unknown {
  if (value instanceof JsonNumber) return Number(value.raw);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Map) {
    const out: Obj = {};
    for (const [k, v] of value)
      Object.defineProperty(out, k, { value: toPlain(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

function stringifyJson(value: unknown, indent: string, eol: string, depth = 0): string {
  if (value instanceof JsonNumber) return value.raw;
  const inner = eol + indent.repeat(depth + 1);
  const outer = eol + indent.repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[${inner}${value.map((v) => stringifyJson(v, indent, eol, depth + 1)).join(`,${inner}`)}${outer}]`;
  }
  if (value instanceof Map || (typeof value === 'object' && value !== null)) {
    const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
    if (entries.length === 0) return '{}';
    const parts = entries.map(([k, v]) => `${JSON.stringify(k)}: ${stringifyJson(v, indent, eol, depth + 1)}`);
    return `{${inner}${parts.join(`,${inner}`)}${outer}}`;
  }
  return JSON.stringify(value);
}

function editJson(text: string, root: JsonValue, plan: Plan): string {
  const top = root as Map<string, JsonValue>;
  const mapAt = (parent: Map<string, JsonValue>, key: string): Map<string, JsonValue> => {
    const existing = parent.get(key);
    if (existing instanceof Map) return existing;
    const created = new Map<string, JsonValue>();
    parent.set(key, created);
    return created;
  };
  const asJson = (v: unknown) => v as JsonValue;
  if (plan.paths.length > 0) {
    const paths = mapAt(top, 'paths');
    for (const [key, value] of plan.paths) paths.set(key, asJson(value));
  }
  if (plan.schemas.length > 0) {
    const schemas = mapAt(mapAt(top, 'components'), 'schemas');
    for (const [key, value] of plan.schemas) schemas.set(key, asJson(value));
  }
  if (plan.tag !== undefined) (top.get('tags') as JsonValue[]).push(asJson(plan.tag));

  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const indent = /\n([ \t]+)\S/.exec(text)?.[1] ?? '  ';
  const trailing = /\r?\n$/.test(text) ? eol : '';
  const leading = /^\s*/.exec(text)![0];
  return leading + stringifyJson(top, indent, eol) + trailing;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(obj: Obj, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (!isObj(a) || !isObj(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]))
  );
}

/** JSON pointer (from `pointer`) of the first place where `a` and `b` differ. */
function firstDifference(a: unknown, b: unknown, pointer: string): string {
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) {
      if (!deepEqual(a[i], b[i])) return firstDifference(a[i], b[i], `${pointer}/${i}`);
    }
  }
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
    for (const k of keys) {
      if (!deepEqual(own(a, k), own(b, k))) return firstDifference(own(a, k), own(b, k), pointer + pointerOf(k));
    }
  }
  return pointer;
}
