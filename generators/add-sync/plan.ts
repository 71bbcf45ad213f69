/**
 * add-sync: the source (view-model.ts) + the table the database planner designed for it → FilePlan[]: the
 * external record types (`src/sync/<job>.openapi.gen.ts`, openapi-typescript over the schema and what it
 * refers to), the mapping record → row (`src/sync/<job>.mapping.ts`, yours, written once), the job
 * (`src/sync/<job>.gen.ts`: the stream, its pagination and watermark, the job factory) and, once per
 * project, the migration creating the sync tables (checkpoints, run ledger, pauses).
 */
import type { OutputDirs } from '../core/config.js';
import type { TableIR } from '../core/db/types.js';
import { isObject, type Obj } from '../core/json.js';
import { moduleSpecifier } from '../core/module-paths.js';
import type { FilePlan, ProjectFiles } from '../core/plan/types.js';
import { nextMigrationNumber, userFile } from '../core/plan/user-file.js';
import { formatTypeScript } from '../core/render/format.js';
import { openapiTypesFile } from '../core/render/openapi-types.js';
import { loadTemplates } from '../core/render/templates.js';
import type { LoadedSpec } from '../core/spec/load.js';
import type { jobNames, SyncSource } from './view-model.js';

export const GENERATOR = 'add-sync';
/** design-database keeps models that are not in the spec here (it reads them on every run). */
export const DB_MODELS_PATH = '.backdev/db-models.json';
export const SYNC_DIR = 'src/sync';
const SYNC_TABLES_MIGRATION = /^\d{4}_backdev_sync_tables\.(ts|js)$/;

/** The schema and every component schema it reaches through `$ref`s: all the record types need. */
export function typesDocument(doc: Obj, schema: string): Obj {
  const components = isObject(doc.components) && isObject(doc.components.schemas) ? (doc.components.schemas as Obj) : {};
  const keep: Obj = {};
  const stack = [schema];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (name in keep || !(name in components)) continue;
    keep[name] = components[name];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (isObject(node)) {
        const m = typeof node.$ref === 'string' ? /^#\/components\/schemas\/(.+)$/.exec(node.$ref) : null;
        if (m) stack.push(m[1]!.replace(/~1/g, '/').replace(/~0/g, '~'));
        for (const v of Object.values(node)) if (v !== null && typeof v === 'object') walk(v);
      }
    };
    walk(components[name]);
  }
  const sorted = Object.fromEntries(Object.keys(keep).sort().map((k) => [k, keep[k]]));
  return { openapi: typeof doc.openapi === 'string' ? doc.openapi : '3.0.3', info: { title: 'records', version: '0' }, paths: {}, components: { schemas: sorted } };
}

export interface SyncPlanInput {
  spec: LoadedSpec;
  /** The spec as given on the command line (recorded in the job file). */
  sourceRef: string;
  source: SyncSource;
  names: ReturnType<typeof jobNames>;
  table: TableIR;
  dirs: OutputDirs;
  /** Migration files the database planner adds in this run (their numbers are taken). */
  plannedMigrations: readonly string[];
  templates?: string | undefined;
}

export async function planSyncFiles(files: ProjectFiles, input: SyncPlanInput): Promise<FilePlan[]> {
  const { source, names, table, dirs } = input;
  const templates = loadTemplates(GENERATOR, input.templates);
  const byProperty = new Map(table.columns.map((c) => [c.property, c.name]));
  const columns = source.properties
    .filter((p) => byProperty.has(p.name))
    .map((p) => ({ column: byProperty.get(p.name)!, property: p.name, json: p.kind === 'json', key: p.key, required: p.required }));
  const view = {
    names,
    title: source.title,
    sourceRef: input.sourceRef,
    schemaName: source.schema,
    operation: { ...source.operation, method: source.operation.method.toUpperCase() },
    table: table.name,
    columns,
    pagination: { ...source.pagination, hasOptions: Object.keys(source.pagination.options).length > 0 },
    records: source.recordsPath !== undefined && source.recordsPath !== 'data' ? source.recordsPath : undefined,
    incremental: source.incremental ? { ...source.incremental, unix: source.incremental.format === 'unix', overlap: source.incremental.format === 'unix' ? 1 : 60_000 } : undefined,
    baseUrl: source.baseUrl ?? 'http://localhost',
    schemaModule: moduleSpecifier(SYNC_DIR, `${dirs.db}/schema.gen.ts`).replace(/\.ts$/, '.js'),
  };
  const out: FilePlan[] = [];
  out.push(await openapiTypesFile(typesDocument(input.spec.document, source.schema), input.spec.root, files, `${SYNC_DIR}/${names.stem}.openapi.gen.ts`, templates.render('partials/types-header.hbs', view)));
  const mapping = `${SYNC_DIR}/${names.stem}.mapping.ts`;
  out.push(await userFile(files, mapping, () => formatTypeScript(templates.render('mapping.ts.hbs', view), mapping)));
  const job = `${SYNC_DIR}/${names.stem}.gen.ts`;
  out.push({ path: job, ownership: 'generated', content: await formatTypeScript(templates.render('job.gen.ts.hbs', view), job) });
  const migrationsDir = `${dirs.db}/migrations`;
  const existing = files.list(migrationsDir);
  if (!existing.some((f) => SYNC_TABLES_MIGRATION.test(f))) {
    const planned = input.plannedMigrations.map((p) => p.slice(p.lastIndexOf('/') + 1));
    const number = nextMigrationNumber([...existing, ...planned]);
    out.push({ path: `${migrationsDir}/${String(number).padStart(4, '0')}_backdev_sync_tables.ts`, ownership: 'append-only', content: templates.render('sync-tables-migration.ts.hbs', view) });
  }
  return out;
}
