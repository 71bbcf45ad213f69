/**
 * spec file(s) → one bundled OpenAPI 3.x document.
 *
 * Reads the root file (path or http(s) URL), parses YAML or JSON with located syntax errors, converts
 * Swagger 2.0 (with a notice), bundles multi-file `$ref`s into `components` (Redocly's bundler), checks
 * that every local `$ref` resolves, and checks the parts of the structure generators rely on. Every
 * failure is a `BackdevError` carrying file, line, column and JSON pointer.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { NormalizedProblem } from '@redocly/openapi-core';
import { parseDocument } from 'yaml';
import { BackdevError, type SourceLocation, type Warning } from '../errors.js';
import { locateOffset, locatePointer } from './locate.js';
import { parsePointer, resolvePointer, toPointer } from './pointer.js';
import { checkStructure } from './structure.js';

export type OpenApiVersion = '3.0' | '3.1';

export interface LoadedSpec {
  /** The bundled document: every `$ref` in it is local (`#/…`). Treat as read-only. */
  readonly document: Record<string, unknown>;
  readonly version: OpenApiVersion;
  /** The version the source was written in (`2.0` when it was converted). */
  readonly sourceVersion: '2.0' | OpenApiVersion;
  /** Absolute path or URL of the root file. */
  readonly root: string;
  /** Text of the root file, for locating problems found later. */
  readonly rootText: string;
  /** True when pointers into `document` are also pointers into the root file (single file, not converted). */
  readonly pointersMatchRoot: boolean;
  readonly warnings: readonly Warning[];
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

export async function readSpecText(ref: string): Promise<string> {
  if (isUrl(ref)) {
    let res: Response;
    try {
      res = await fetch(ref);
    } catch (err) {
      throw new BackdevError('SPEC_UNREADABLE', `cannot fetch ${ref}: ${(err as Error).message}`, {
        location: { file: ref },
      });
    }
    if (!res.ok) {
      throw new BackdevError('SPEC_UNREADABLE', `cannot fetch ${ref}: HTTP ${res.status}`, { location: { file: ref } });
    }
    return res.text();
  }
  try {
    return await readFile(ref, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a directory' : e.message;
    throw new BackdevError('SPEC_UNREADABLE', `cannot read the spec ${ref}: ${why}`, { location: { file: ref } });
  }
}

/** Parses YAML or JSON text; syntax errors carry line and column. */
export function parseSpecText(file: string, text: string): unknown {
  const trimmed = text.trimStart();
  if (file.toLowerCase().endsWith('.json') || trimmed.startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch (err) {
      const message = (err as Error).message;
      const at = /position (\d+)/.exec(message);
      const location = at ? locateOffset(file, text, Number(at[1])) : locateYamlError(file, text) ?? { file };
      throw new BackdevError('SPEC_SYNTAX', `invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`, {
        location,
      });
    }
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const [start] = first.pos;
    throw new BackdevError('SPEC_SYNTAX', `invalid YAML: ${firstLine(first.message)}`, {
      location: locateOffset(file, text, start),
    });
  }
  return doc.toJS({ maxAliasCount: 10_000 });
}

function locateYamlError(file: string, text: string): SourceLocation | undefined {
  const doc = parseDocument(text, { prettyErrors: false });
  const first = doc.errors[0];
  return first ? locateOffset(file, text, first.pos[0]) : undefined;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

export interface LoadOptions {
  /** Text to use for the root instead of reading it (the `--endpoint` flow edits the spec in memory). */
  rootText?: string;
}

export async function loadSpec(ref: string, options: LoadOptions = {}): Promise<LoadedSpec> {
  const root = isUrl(ref) ? ref : path.resolve(ref);
  const rootText = options.rootText ?? (await readSpecText(root));
  const parsed = parseSpecText(root, rootText);
  const warnings: Warning[] = [];

  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BackdevError(
      'SPEC_NOT_OPENAPI',
      `${root} is not an OpenAPI document: expected a mapping with an "openapi" field at the top level`,
      { location: { file: root, line: 1, column: 1, pointer: '' } },
    );
  }
  const top = parsed as Record<string, unknown>;
  let sourceVersion: LoadedSpec['sourceVersion'];
  let document: Record<string, unknown> = top;
  if (typeof top.openapi === 'string') {
    const m = /^3\.([01])\.\d+/.exec(top.openapi);
    if (!m) {
      throw new BackdevError(
        'SPEC_UNSUPPORTED_VERSION',
        `OpenAPI version "${top.openapi}" is not supported (3.0.x and 3.1.x are, and Swagger 2.0)`,
        { location: locatePointer(root, rootText, '/openapi') },
      );
    }
    sourceVersion = m[1] === '0' ? '3.0' : '3.1';
  } else if (top.swagger === '2.0' || top.swagger === 2) {
    sourceVersion = '2.0';
    document = await convertSwagger2(root, top);
    warnings.push({
      code: 'SWAGGER2_CONVERTED',
      subject: root,
      message: 'Swagger 2.0 document converted to OpenAPI 3.0; consider converting the source file itself',
    });
  } else {
    throw new BackdevError(
      'SPEC_NOT_OPENAPI',
      `${path.basename(root)} is not an OpenAPI document: it has no "openapi" (3.x) or "swagger: 2.0" field`,
      { location: { file: root, line: 1, column: 1, pointer: '' } },
    );
  }

  const external = sourceVersion !== '2.0' && hasExternalRef(document);
  if (external) document = await bundleExternal(root, rootText, document);
  const version: OpenApiVersion = sourceVersion === '3.1' ? '3.1' : '3.0';
  const pointersMatchRoot = !external && sourceVersion !== '2.0';
  const locate = (pointer: string): SourceLocation =>
    pointersMatchRoot ? locatePointer(root, rootText, pointer) : { file: root, pointer };

  checkLocalRefs(document, locate);
  checkStructure(document, version, locate, warnings);
  return Object.freeze({ document, version, sourceVersion, root, rootText, pointersMatchRoot, warnings });
}

async function convertSwagger2(root: string, doc: Record<string, unknown>): Promise<Record<string, unknown>> {
  const s2o = await import('swagger2openapi');
  try {
    const result = await s2o.convertObj(structuredClone(doc), {
      patch: true,
      warnOnly: true,
      resolve: hasExternalRef(doc),
      source: root,
      direct: false,
    });
    return result.openapi;
  } catch (err) {
    throw new BackdevError('SPEC_CONVERSION', `cannot convert Swagger 2.0: ${(err as Error).message}`, {
      location: { file: root },
      cause: err,
    });
  }
}

/** Walks every value once; calls `visit` on each object with its pointer segments. */
export function walkObjects(
  value: unknown,
  visit: (node: Record<string, unknown>, at: readonly (string | number)[]) => void,
): void {
  const stack: [unknown, (string | number)[]][] = [[value, []]];
  while (stack.length > 0) {
    const [node, at] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], [...at, i]]);
      continue;
    }
    const obj = node as Record<string, unknown>;
    visit(obj, at);
    const keys = Object.keys(obj);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      const child = obj[k];
      if (child !== null && typeof child === 'object') stack.push([child, [...at, k]]);
    }
  }
}

function hasExternalRef(doc: unknown): boolean {
  let found = false;
  walkObjects(doc, (node) => {
    if (!found && typeof node.$ref === 'string' && !node.$ref.startsWith('#')) found = true;
  });
  return found;
}

async function bundleExternal(
  root: string,
  rootText: string,
  parsed: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { bundle, createConfig, Source } = await import('@redocly/openapi-core'); // only multi-file specs need it
  const config = await createConfig({});
  const result = await bundle({
    doc: { source: new Source(root, rootText), parsed },
    config,
    dereference: false,
  });
  const problem = result.problems.find((p) => p.severity === 'error') ?? result.problems[0];
  if (problem) throw problemToError(problem, root, parsed);
  return result.bundle.parsed as Record<string, unknown>;
}

function problemToError(problem: NormalizedProblem, root: string, rootDoc: unknown): BackdevError {
  const loc = problem.location[0];
  const file = loc?.source.absoluteRef ?? root;
  const pointer = loc?.pointer ?? '';
  // A file that does not parse: the parser's message carries "(line:column)" of the problem.
  const parseFailure = /^Failed to parse: (.*?)(?: in "[^"]*")? \((\d+):(\d+)\)/s.exec(problem.message);
  if (parseFailure) {
    return new BackdevError('SPEC_SYNTAX', `invalid YAML or JSON: ${parseFailure[1]}`, {
      location: { file, line: Number(parseFailure[2]), column: Number(parseFailure[3]) },
    });
  }
  const location = loc ? locatePointer(file, loc.source.body, pointer) : { file };
  const unresolved = problem.message.startsWith("Can't resolve $ref");
  const target = file === root ? resolvePointer(rootDoc, pointer) : undefined;
  const ref = target !== null && typeof target === 'object' ? (target as { $ref?: unknown }).$ref : undefined;
  const why = problem.message.slice("Can't resolve $ref".length).replace(/^:\s*/, '');
  const message = unresolved
    ? `$ref ${typeof ref === 'string' ? `"${ref}" ` : ''}cannot be resolved${why ? `: ${why}` : ''}`
    : problem.message;
  return new BackdevError(unresolved ? 'SPEC_REF_UNRESOLVED' : 'SPEC_INVALID', message, {
    location: { ...location, pointer: toPointer(parsePointer(pointer)) },
  });
}

function checkLocalRefs(doc: Record<string, unknown>, locate: (pointer: string) => SourceLocation): void {
  const seen = new Map<string, boolean>();
  walkObjects(doc, (node, at) => {
    const ref = node.$ref;
    if (typeof ref !== 'string') return;
    let ok = seen.get(ref);
    if (ok === undefined) {
      ok = ref.startsWith('#') && resolvePointer(doc, ref) !== undefined;
      seen.set(ref, ok);
    }
    if (!ok) {
      const pointer = toPointer([...at, '$ref']);
      throw new BackdevError('SPEC_REF_UNRESOLVED', `$ref "${ref}" points at nothing in the document`, {
        location: locate(pointer),
      });
    }
  });
}

