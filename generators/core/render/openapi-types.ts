/**
 * openapi-typescript's types for a spec (create-api's `openapi.gen.ts`, add-health's upstream types), and
 * the document handed to it, made into a form it types correctly. Real specs do things
 * its output cannot express, and a types file that does not compile is worse than a slightly looser one:
 * - `$ref`s deep into another object (`#/components/schemas/A/properties/b`, `#/paths/…/schema/items`)
 *   become indexed-access types that are wrong or circular: a schema target is copied once into
 *   `components.schemas` (named after the end of its pointer) and referred to there; any other target
 *   is copied in place;
 * - a schema position holding a string or number (invalid) becomes `{}` (any value);
 * - `required` in an `allOf` branch (or schema) that declares no properties of its own becomes
 *   `WithRequired<…>`, which fails on names no branch declares or on a nullable branch: dropped, and so
 *   are unknown `required` names elsewhere in an `allOf`;
 * - `nullable: true` (without `type`) or `type: null` next to `oneOf`/`anyOf` becomes `null & (…)`
 *   (never, or a circular type): null is made one of the alternatives instead;
 * - a schema that contains itself through alternatives or array items only (`X = string | X[]`) is a type
 *   TypeScript cannot resolve inside `components`: the inner reference becomes `{}` (any value);
 * - an enum of scalars on an object or array type is dropped (it contradicts the type);
 * - media and parameter `examples` are left out (no effect on types; their `$ref`s may be URLs);
 * - `discriminator` makes it add the discriminator property again next to a declared one (a duplicate
 *   identifier): discriminators are left out (the alternatives and their properties stay).
 * Validation schemas are converted from the original document; only typing sees this copy.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BackdevError } from '../errors.js';
import { isObject, type Obj } from '../json.js';
import { hashContent } from '../plan/manifest.js';
import type { FilePlan, ProjectFiles } from '../plan/types.js';
import { parsePointer, resolvePointer } from '../spec/pointer.js';

/** `#/components/<kind>/<name>`: what openapi-typescript turns into a named type. */
const isWholeComponentRef = (ref: string) => /^#\/components\/[^/]+\/[^/]+$/.test(ref);

const SCHEMA_LIST_KEYS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const SCHEMA_KEYS = ['items', 'additionalProperties', 'not', 'contains', 'if', 'then', 'else', 'propertyNames'];
const SCHEMA_MAP_KEYS = ['properties', 'patternProperties', '$defs', 'definitions'];

export function prepareForTypes(doc: Obj): Obj {
  // `visit` builds new objects and arrays and never changes the ones it is given, so the document is read in
  // place (a full copy of a large spec costs time and memory); only data under `example`, `default`, `enum`
  // and the like is shared, and the result is only ever serialized.
  const copy = doc;
  // Deep refs to schemas become refs to hoisted copies (`components.schemas.<name>`), each copied once:
  // inlining them instead multiplies on specs that chain such refs (one grew 155 KB → 161 MB).
  const hoisted = new Map<string, string>();
  const taken = new Set(Object.keys(componentSchemas(copy)));
  collectDeepRefs(copy)
    .filter(looksLikeSchemaRef)
    .sort()
    .forEach((ref) => {
      const parts = parsePointer(ref);
      const base = parts.slice(-2).join('_').replace(/[^A-Za-z0-9_]/g, '_') || 'Schema';
      let name = base;
      for (let n = 2; taken.has(name); n++) name = `${base}${n}`;
      taken.add(name);
      hoisted.set(ref, name);
    });
  const inlining = new Set<string>();

  /** Returns the node to put in place of `node` (a new object when it changed). */
  const visit = (node: unknown, inSchema: boolean, depth: number): unknown => {
    // In a schema position, anything but an object or a boolean is invalid: it becomes `{}` (any value).
    if (Array.isArray(node)) return inSchema ? {} : node.map((v) => visit(v, false, depth));
    if (!isObject(node)) return inSchema && typeof node !== 'boolean' ? {} : node;
    if (typeof node.$ref === 'string' && node.$ref.startsWith('#') && !isWholeComponentRef(node.$ref)) {
      const ref = node.$ref;
      const name = hoisted.get(ref);
      if (name) return { $ref: `#/components/schemas/${escapeToken(name)}` };
      const target = resolvePointer(copy, ref);
      if (target === undefined || inlining.has(ref) || depth > 20) return inSchema ? {} : node;
      inlining.add(ref);
      const inlined = visit(target, inSchema, depth + 1);
      inlining.delete(ref);
      return inlined;
    }
    const out: Obj = {};
    for (const [key, value] of Object.entries(node)) {
      if (inSchema && SCHEMA_LIST_KEYS.includes(key) && Array.isArray(value)) out[key] = value.map((v) => visit(v, true, depth));
      else if (inSchema && SCHEMA_KEYS.includes(key)) out[key] = visit(value, true, depth);
      else if (inSchema && SCHEMA_MAP_KEYS.includes(key) && isObject(value)) {
        out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, visit(v, true, depth)]));
      } else if (key === 'schema' || (key === 'schemas' && !inSchema)) {
        out[key] = key === 'schema' ? visit(value, true, depth) : isObject(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, visit(v, true, depth)])) : value;
      } else if (!inSchema && key === 'examples' && ('schema' in node || 'in' in node)) {
        // Media and parameter examples do not affect types, and their $refs may point at URLs.
        continue;
      } else if (inSchema && (key === 'example' || key === 'examples' || key === 'default' || key === 'enum' || key === 'const')) {
        out[key] = value; // data, not schemas
      } else out[key] = visit(value, false, depth);
    }
    if (inSchema) {
      delete out.discriminator;
      // An enum of scalars on an object or array type contradicts itself; openapi-typescript chokes on it.
      if (Array.isArray(out.enum) && (out.type === 'object' || out.type === 'array') && out.enum.some((v) => v === null || typeof v !== 'object')) {
        delete out.enum;
      }
      if (Array.isArray(out.allOf)) dropUnknownRequired(out, copy);
      const key = Array.isArray(out.oneOf) ? 'oneOf' : Array.isArray(out.anyOf) ? 'anyOf' : undefined;
      const typeNull = out.type === 'null' || (Array.isArray(out.type) && out.type.includes('null'));
      if (key && ((out.nullable === true && out.type === undefined) || typeNull)) {
        out[key] = [...(out[key] as unknown[]), { enum: [null] }];
        delete out.nullable;
        if (out.type === 'null') delete out.type;
        else if (Array.isArray(out.type)) {
          const rest = out.type.filter((t) => t !== 'null');
          if (rest.length === 0) delete out.type;
          else out.type = rest.length === 1 ? rest[0] : rest;
        }
      }
    }
    return out;
  };
  const prepared = visit(copy, false, 0) as Obj;
  if (hoisted.size > 0) {
    const schemas = componentSchemas(prepared, true);
    for (const [ref, name] of hoisted) schemas[name] = visit(resolvePointer(copy, ref), true, 0);
  }
  breakUnionCycles(prepared);
  return prepared;
}

function componentSchemas(doc: Obj, create = false): Obj {
  if (!isObject(doc.components)) {
    if (!create) return {};
    doc.components = {};
  }
  const components = doc.components as Obj;
  if (!isObject(components.schemas)) {
    if (!create) return {};
    components.schemas = {};
  }
  return components.schemas as Obj;
}

const escapeToken = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

function collectDeepRefs(doc: unknown): string[] {
  const refs = new Set<string>();
  const stack: unknown[] = [doc];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) stack.push(...node);
    else if (isObject(node)) {
      if (typeof node.$ref === 'string' && node.$ref.startsWith('#') && !isWholeComponentRef(node.$ref)) refs.add(node.$ref);
      for (const v of Object.values(node)) if (v !== null && typeof v === 'object') stack.push(v);
    }
  }
  return [...refs];
}

function looksLikeSchemaRef(ref: string): boolean {
  const parts = parsePointer(ref);
  return parts.includes('schema') || parts.includes('schemas') || parts.includes('properties');
}

/** Property names an allOf branch declares, following whole-component refs and nested allOf. */
function declared(schema: unknown, doc: Obj, seen = new Set<unknown>()): Set<string> {
  const names = new Set<string>();
  if (!isObject(schema) || seen.has(schema)) return names;
  seen.add(schema);
  const target = typeof schema.$ref === 'string' ? resolvePointer(doc, schema.$ref) : schema;
  if (!isObject(target)) return names;
  if (isObject(target.properties)) for (const k of Object.keys(target.properties)) names.add(k);
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const list = target[key];
    if (Array.isArray(list)) for (const b of list) for (const n of declared(b, doc, seen)) names.add(n);
  }
  return names;
}

function dropUnknownRequired(schema: Obj, doc: Obj): void {
  const branches = schema.allOf as unknown[];
  const known = new Set<string>();
  for (const b of branches) for (const n of declared(b, doc)) known.add(n);
  if (isObject(schema.properties)) for (const k of Object.keys(schema.properties)) known.add(k);
  const prune = (s: Obj) => {
    if (!Array.isArray(s.required)) return;
    if (!isObject(s.properties)) delete s.required;
    else s.required = s.required.filter((r) => typeof r === 'string' && known.has(r));
  };
  prune(schema);
  for (const b of branches) if (isObject(b) && b.$ref === undefined) prune(b);
}

/** Replaces `$ref`s to a component schema reached from itself through allOf/anyOf/oneOf/items only. */
function breakUnionCycles(doc: Obj): void {
  const schemas = componentSchemas(doc);
  for (const [name, schema] of Object.entries(schemas)) {
    const self = `#/components/schemas/${escapeToken(name)}`;
    const walk = (node: unknown): unknown => {
      if (!isObject(node)) return node;
      if (node.$ref === self) return {};
      for (const key of ['allOf', 'anyOf', 'oneOf']) if (Array.isArray(node[key])) node[key] = (node[key] as unknown[]).map(walk);
      if (node.items !== undefined) node.items = walk(node.items);
      return node;
    };
    schemas[name] = walk(schema);
  }
}

const OPENAPI_TYPESCRIPT_VERSION: string = createRequire(import.meta.url)('openapi-typescript/package.json').version;

/** The input of openapi-typescript for a document, and its types when they are already being computed. */
export interface TypesJob {
  readonly documentJson: string;
  readonly types: Promise<string> | undefined;
  /**
   * `types` are made in this thread (no worker): the caller awaits them before building anything else, so
   * that openapi-typescript's syntax trees, the largest passing data of a run, are not held in memory
   * beside the rest of it (on a spec with 22,000 operations that is several hundred MB of peak memory).
   */
  readonly inThread: boolean;
}

/**
 * Prepares `document` for typing and, unless the file at `path` may be reused (it is intact and recorded
 * with the hash of its inputs), starts typing it now: in a worker thread beside the caller's own work, or
 * in this thread (`inThread`). The result is the same as without it: `openapiTypesFile` decides what the
 * file is.
 */
export function startTypes(document: Obj, specFile: string, files: ProjectFiles, path: string): TypesJob {
  const documentJson = JSON.stringify(prepareForTypes(document));
  const recorded = files.recorded(path);
  const reusable = recorded?.inputHash !== undefined && recorded.hash !== undefined && files.read(path) !== undefined;
  if (reusable) return { documentJson, types: undefined, inThread: false };
  const inThread = !typesWorker();
  const types = typesFor(specFile, documentJson);
  types.catch(() => {}); // handled where it is awaited; not an unhandled rejection meanwhile
  return { documentJson, types, inThread };
}

/**
 * The generated file at `path`: `header` + openapi-typescript's types for `document` (`paths`, `components`,
 * `operations`). Its output depends only on the document and its version, so when both are what produced
 * the file on disk (recorded in the manifest) and the file is intact, the file is reused: a no-change
 * regeneration of a large spec skips the slowest step. `specFile` locates the error when it cannot type it.
 * `job`: from `startTypes` on the same document.
 */
export async function openapiTypesFile(document: Obj, specFile: string, files: ProjectFiles, path: string, header: string, job?: TypesJob): Promise<FilePlan> {
  const documentJson = job?.documentJson ?? JSON.stringify(prepareForTypes(document));
  const inputHash = hashContent(`openapi-typescript@${OPENAPI_TYPESCRIPT_VERSION}\n${header}\n${documentJson}`);
  const recorded = files.recorded(path);
  if (recorded?.inputHash === inputHash && recorded.hash) {
    const disk = files.read(path);
    if (disk !== undefined && hashContent(disk) === recorded.hash) return { path, ownership: 'generated', content: disk, inputHash };
  }
  return { path, ownership: 'generated', content: header + (await (job?.types ?? typesFor(specFile, documentJson))), inputHash };
}

const WORKER = new URL('./openapi-types-worker.js', import.meta.url);

/**
 * Whether types are computed in a worker thread, beside the rest of the run: with more than two cores (on
 * two, the machine has little to spare, and the second heap costs a third more peak memory), in the
 * compiled package (from sources the worker's module is TypeScript). BACKDEV_TYPES_WORKER=1 or 0 decides.
 */
function typesWorker(): boolean {
  const forced = process.env.BACKDEV_TYPES_WORKER;
  if (forced === '0') return false;
  if (!existsSync(fileURLToPath(WORKER))) return false;
  return forced === '1' || availableParallelism() > 2;
}

/** The types of `documentJson`: in a worker thread (see `typesWorker`), else here. */
async function typesFor(specFile: string, documentJson: string): Promise<string> {
  try {
    if (!typesWorker()) return await (await import('./openapi-types-transform.js')).typesText(documentJson);
    return await inWorker(WORKER, documentJson);
  } catch (err) {
    throw new BackdevError('SPEC_INVALID', `openapi-typescript could not type the spec: ${(err as Error).message}`, {
      location: { file: specFile },
      cause: err,
    });
  }
}

function inWorker(url: URL, documentJson: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: documentJson });
    let settled = false;
    worker.once('message', (m: { text?: string; error?: string }) => {
      settled = true;
      if (m.text !== undefined) resolve(m.text);
      else reject(new Error(m.error ?? 'no result'));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`its worker thread ended (exit code ${code}) without a result`));
    });
  });
}
