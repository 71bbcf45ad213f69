/**
 * Has a table-backed model changed since its tables were designed? design-database stores a fingerprint
 * of every model it designs in the snapshot (`models`: name → hash); create-api compares the spec with
 * it, so that a property added to a table-backed schema is reported at once instead of as 500s from a
 * database that lacks its column.
 *
 * The fingerprint covers what the design is made from: the schema without its documentation keywords
 * (description, examples, …), and the schemas it extends through `allOf` / `oneOf` / `anyOf` references
 * (a property added to a base schema changes the table too). Schemas referenced from properties are not
 * followed: they are tables of their own (with their own fingerprint) or stored as JSON.
 */
import { createHash } from 'node:crypto';
import { isObject as isObj, type Obj } from '../json.js';

/** Where design-database keeps the snapshot of the last design. */
export const DB_SNAPSHOT_PATH = '.backdev/db-snapshot.json';


/** Keywords that document a schema without changing its data. */
const DOCUMENTATION = new Set(['description', 'title', 'example', 'examples', 'externalDocs', 'deprecated', 'xml', '$comment']);
const SCHEMA_REF = /^#\/components\/schemas\/([^/]+)$/;

function componentSchemas(doc: Obj): Obj {
  const components = isObj(doc.components) ? doc.components : {};
  return isObj(components.schemas) ? components.schemas : {};
}

function stripDocs(value: unknown, depth = 0): unknown {
  if (depth > 64) return value;
  if (Array.isArray(value)) return value.map((v) => stripDocs(v, depth + 1));
  if (!isObj(value)) return value;
  const out: Obj = {};
  for (const key of Object.keys(value).sort()) {
    if (DOCUMENTATION.has(key)) continue;
    // `properties` maps names to schemas: a property may be called "description".
    if (key === 'properties' && isObj(value[key])) {
      const props = value[key] as Obj;
      out[key] = Object.fromEntries(Object.keys(props).sort().map((p) => [p, stripDocs(props[p], depth + 1)]));
      continue;
    }
    out[key] = stripDocs(value[key], depth + 1);
  }
  return out;
}

/** The fingerprint of model `name` in `doc` (undefined when the spec has no such schema). */
export function modelFingerprint(doc: Obj, name: string): string | undefined {
  const schemas = componentSchemas(doc);
  if (!isObj(schemas[name])) return undefined;
  const parts: Obj = {};
  const visit = (n: string) => {
    const schema = schemas[n];
    if (n in parts || !isObj(schema)) return;
    parts[n] = stripDocs(schema);
    for (const key of ['allOf', 'oneOf', 'anyOf']) {
      const list = schema[key];
      if (!Array.isArray(list)) continue;
      for (const member of list) {
        const ref = isObj(member) && typeof member.$ref === 'string' ? SCHEMA_REF.exec(member.$ref)?.[1] : undefined;
        if (ref !== undefined) visit(decodeURIComponent(ref.replace(/~1/g, '/').replace(/~0/g, '~')));
      }
    }
  };
  visit(name);
  const ordered = Object.fromEntries(Object.keys(parts).sort().map((k) => [k, parts[k]]));
  return 'sha256-' + createHash('sha256').update(JSON.stringify(ordered), 'utf8').digest('hex');
}

/** Fingerprints of `models` (those the document has), sorted by name: what the snapshot records. */
export function modelFingerprints(doc: Obj, models: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of [...models].sort()) {
    const f = modelFingerprint(doc, m);
    if (f !== undefined) out[m] = f;
  }
  return out;
}

/** The model fingerprints a snapshot records (empty for a snapshot written before they were recorded). */
export function recordedFingerprints(snapshotText: string | undefined): Record<string, string> | undefined {
  if (snapshotText === undefined) return undefined;
  try {
    const data = JSON.parse(snapshotText) as unknown;
    if (!isObj(data)) return undefined;
    const models = data.models;
    if (!isObj(models)) return {};
    return Object.fromEntries(Object.entries(models).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return undefined;
  }
}

export interface ModelDrift {
  model: string;
  /** `changed`: differs from its design; `undesigned`: marked x-backdev-table, never designed. */
  kind: 'changed' | 'undesigned';
}

/**
 * Table-backed models of `doc` whose tables no longer match: recorded in the snapshot with another
 * fingerprint, or marked `x-backdev-table` and not designed yet. Sorted by model name.
 */
export function modelDrift(doc: Obj, snapshotText: string | undefined): ModelDrift[] {
  const recorded = recordedFingerprints(snapshotText) ?? {};
  const designed = new Set(Object.keys(recorded));
  let tables: string[] = [];
  try {
    const data = snapshotText === undefined ? undefined : (JSON.parse(snapshotText) as Obj);
    tables = Array.isArray(data?.tables) ? data.tables.map((t) => (isObj(t) && typeof t.model === 'string' ? t.model : '')).filter(Boolean) : [];
  } catch {
    /* design-database reports an unreadable snapshot */
  }
  for (const t of tables) designed.add(t);
  const schemas = componentSchemas(doc);
  const out: ModelDrift[] = [];
  for (const name of Object.keys(schemas).sort()) {
    const schema = schemas[name];
    if (!isObj(schema)) continue;
    const fingerprint = recorded[name];
    if (fingerprint !== undefined) {
      if (modelFingerprint(doc, name) !== fingerprint) out.push({ model: name, kind: 'changed' });
    } else if (schema['x-backdev-table'] === true && !designed.has(name)) {
      out.push({ model: name, kind: 'undesigned' });
    }
  }
  return out;
}
