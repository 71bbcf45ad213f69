/**
 * YAML spec editing without re-dumping: parse the text, render the new entries, and splice them into the
 * original text so every existing byte stays as it was (falling back to the Document API when it cannot).
 */

import { Document, isCollection, isMap, isPair, isScalar, isSeq, parseDocument, visit, Scalar } from 'yaml';
import type { Pair, ToStringOptions, YAMLMap, YAMLSeq } from 'yaml';
import { BackdevError } from '../../errors.js';
import { locateOffset } from '../locate.js';
import type { Obj } from '../../json.js';
import type { SpecChanges } from './changes.js';

export function parseYaml(text: string, fileName: string): Document.Parsed {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const error = doc.errors[0];
  if (error !== undefined) {
    throw new BackdevError('SPEC_SYNTAX', `invalid YAML: ${error.message.split('\n')[0]}`, {
      location: locateOffset(fileName, text, error.pos[0]),
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

/**
 * YAML is edited without re-dumping it: the document is parsed with `yaml`'s `parseDocument`, the edit is
 * applied with the Document API (the reference result), and the new nodes are rendered with the Document API
 * and spliced into the original text at the end of their parent mapping, so every existing byte (comments,
 * key order, quoting, blank lines, folded scalars) stays as it was. The spliced text is re-parsed and must
 * equal the Document-API result; if it ever does not (exotic layouts such as a non-empty flow-style `paths`),
 * the Document-API result is stringified instead, which keeps comments, order and quoting but may reflow
 * some lines.
 */
export function editYaml(text: string, source: Document.Parsed, plan: SpecChanges): string {
  const style = detectYamlStyle(text, source);
  const options = toStringOptions(style);

  // The reference edit, with the Document API.
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (isMap(doc.contents) && doc.contents.flow) doc.contents.flow = false;
  const targets: [string[], [string, unknown][]][] = [
    [['paths'], plan.paths],
    [['components', 'schemas'], plan.schemas],
    [['components', 'responses'], plan.responses ?? []],
    [['components', 'securitySchemes'], plan.securitySchemes ?? []],
    ...(plan.inserts ?? []).map(({ path, entries }): [string[], [string, unknown][]] => [path, entries]),
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
  for (const { path, items } of plan.appends ?? []) {
    const seq = doc.getIn(path, true);
    if (!isSeq(seq)) throw new Error(`no list at ${path.join('.')}`);
    for (const item of items) seq.add(createNode(doc, item));
  }
  const expected = JSON.stringify(doc.toJS({ maxAliasCount: -1 }));

  const spliced = spliceYaml(text, source, targets, plan.tag, style, plan.appends ?? []);
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
  // Items appended to a block sequence are block items, even scalars.
  if (isSeq(doc.contents)) doc.contents.flow = false;
  const body = doc.toString(toStringOptions(style));
  const pad = ' '.repeat(column);
  return body
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join('\n')
    .concat('\n');
}

function nest(path: string[], entries: [string, unknown][]): Map<string, unknown> {
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
  targets: [string[], [string, unknown][]][],
  tag: Obj | undefined,
  style: YamlStyle,
  appends: { path: string[]; items: unknown[] }[] = [],
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

  // Blocks appended to the same mapping are merged first (`components:` with both `schemas` and
  // `responses` when the spec has no components yet): one block each.
  const appended = new Map<YAMLMap, Map<string, unknown>>();
  const merge = (into: Map<string, unknown>, from: Map<string, unknown>) => {
    for (const [k, v] of from) {
      const existing = into.get(k);
      if (existing instanceof Map && v instanceof Map) merge(existing as Map<string, unknown>, v as Map<string, unknown>);
      else into.set(k, v);
    }
  };
  for (const [path, entries] of targets) {
    if (entries.length === 0) continue;
    let map: YAMLMap = root;
    let done = false;
    for (let i = 0; i < path.length; i++) {
      const pair = findPair(map, path[i]!);
      if (pair === undefined) {
        const pending = appended.get(map) ?? new Map<string, unknown>();
        merge(pending, nest(path.slice(i), entries));
        appended.set(map, pending);
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
    if (!done) {
      const pending = appended.get(map) ?? new Map<string, unknown>();
      merge(pending, new Map(entries));
      appended.set(map, pending);
    }
  }
  for (const [map, entries] of appended) if (!appendToMap(map, entries)) return undefined;

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

  for (const { path, items } of appends) {
    let node: unknown = root;
    for (const key of path) node = isMap(node) ? findPair(node, key)?.value : undefined;
    if (!isSeq(node) || !node.range) return undefined;
    const seq = node;
    const range = node.range;
    if (seq.flow) {
      // `required: [id, title]`: add `, dueDate` before the closing bracket.
      const close = range[1] - 1;
      if (text[close] !== ']') return undefined;
      let before = close;
      while (before > 0 && /\s/.test(text[before - 1]!)) before--;
      const rendered = items.map((item) => {
        const one = new Document();
        one.contents = createNode(one, item) as typeof one.contents;
        return one.toString({ ...toStringOptions(style), lineWidth: 0 }).trim();
      });
      const prefix = seq.items.length === 0 ? '' : ', ';
      splices.push({ start: before, end: before, text: prefix + rendered.join(', '), column: Infinity });
    } else {
      const dash = dashColumn(text, seq.items[0]);
      if (dash === undefined) return undefined;
      splices.push(insertAfter(text, range[1], renderBlock(items, dash, style), dash));
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
