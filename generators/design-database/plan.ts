/**
 * design-database: models (+ the last snapshot, + the user's files) → FilePlan[]: a new migration holding
 * only what changed (append-only), the Kysely `Database` types and the snapshot (generated), a repository
 * per new model and `src/db.ts` (yours, written once), and a shutdown hook merged into `src/app.ts`.
 */
import { sep } from 'node:path';
import { DB_SNAPSHOT_PATH } from '../core/db/drift.js';
import type { OutputDirs } from '../core/config.js';
import { diffSchemas, type Migration } from '../core/db/diff.js';
import { renderMigration } from '../core/db/render-migration.js';
import { parseSnapshot, serializeSnapshot } from '../core/db/snapshot.js';
import type { DbSchema } from '../core/db/types.js';
import { BackdevError, type Warning } from '../core/errors.js';
import { APP_FILE, planAppWiring } from '../core/plan/app-file.js';
import type { FilePlan, Plan, ProjectFiles } from '../core/plan/types.js';
import { nextMigrationNumber, userFile } from '../core/plan/user-file.js';
import { BUNDLED_TEMPLATES, loadTemplates } from '../core/render/templates.js';
import { formatTypeScript, tidy } from '../core/render/format.js';
import { moduleSpecifier } from '../core/module-paths.js';
import { modelFingerprints } from '../core/db/drift.js';
import { isObject, type Obj } from '../core/json.js';
import { buildAdditions } from '../core/resource/additions.js';
import { parseFields } from '../core/resource/fields.js';
import { resourceNames } from '../core/resource/names.js';
import { designSchema } from './mapping.js';
import { layoutRepository } from './repository-layout.js';
import { buildDatabaseView } from './view-model.js';

export const GENERATOR = 'design-database';
/** Where the snapshot of the last design is kept. */
export const SNAPSHOT_PATH = DB_SNAPSHOT_PATH;
const DB_MODULE = 'src/db.ts';

export type ModelSelection = { kind: 'names'; names: readonly string[] } | { kind: 'all' } | { kind: 'marked' };

export interface DesignOptions {
  dirs: OutputDirs;
  models: ModelSelection;
  primaryKey: 'uuid' | 'identity';
  renames?: { table?: Record<string, string>; column?: Record<string, string> };
  allowDestructive?: boolean;
  templates?: string | undefined;
}

export interface DesignPlan extends Plan {
  schema: DbSchema;
  migration: Migration;
  /** The migration file written, if anything changed. */
  migrationFile: string | undefined;
}


function componentSchemas(doc: Obj): Obj {
  const components = isObject(doc.components) ? doc.components : {};
  return isObject(components.schemas) ? components.schemas : {};
}

/** Which models to design: the selection, plus every model designed before that the spec still has. */
export function selectModels(doc: Obj, selection: ModelSelection, previous: DbSchema | undefined, file: string): string[] {
  const schemas = componentSchemas(doc);
  const isObjectSchema = (s: unknown) => isObject(s) && (s.type === 'object' || isObject(s.properties) || Array.isArray(s.allOf));
  let chosen: string[];
  if (selection.kind === 'names') {
    for (const name of selection.names) {
      if (!(name in schemas)) {
        const known = Object.keys(schemas).filter(isObjectSchemaName(schemas)).slice(0, 20).join(', ');
        throw new BackdevError('OPTION_INVALID', `--model ${name}: no schema "${name}" in ${file} (object schemas: ${known || 'none'})`);
      }
    }
    chosen = [...selection.names];
  } else if (selection.kind === 'all') {
    chosen = Object.keys(schemas).filter((n) => isObjectSchema(schemas[n]));
  } else {
    chosen = Object.keys(schemas).filter((n) => isObject(schemas[n]) && (schemas[n] as Obj)['x-backdev-table'] === true);
  }
  const earlier = (previous?.tables ?? []).map((t) => t.model).filter((m) => !m.includes('.') && m in schemas);
  return [...new Set([...chosen, ...earlier])].sort();
}

function isObjectSchemaName(schemas: Obj) {
  return (n: string) => isObject(schemas[n]) && ((schemas[n] as Obj).type === 'object' || isObject((schemas[n] as Obj).properties));
}

/**
 * A migration runs in one transaction, and PostgreSQL can only hold so many locks in one (64 per
 * connection slot by default): dropping hundreds of tables at once fails with "out of shared memory".
 * A large change is therefore cut into consecutive migrations of at most this many steps; the step order
 * (tables before the foreign keys that need them) is kept, so each part applies and reverts on its own.
 */
export const MAX_STEPS_PER_MIGRATION = 100;

export function splitMigration(migration: Migration): Migration[] {
  const { steps } = migration;
  if (steps.length === 0) return [];
  if (steps.length <= MAX_STEPS_PER_MIGRATION) return [migration];
  const count = Math.ceil(steps.length / MAX_STEPS_PER_MIGRATION);
  return Array.from({ length: count }, (_, i) => {
    const part = steps.slice(i * MAX_STEPS_PER_MIGRATION, (i + 1) * MAX_STEPS_PER_MIGRATION);
    return { steps: part, destructive: part.filter((s) => s.destructive), name: `${migration.name}_part${i + 1}_of_${count}` };
  });
}


export async function planDesignDatabase(doc: Obj, specFile: string, files: ProjectFiles, options: DesignOptions): Promise<DesignPlan> {
  const { dirs } = options;
  const warnings: Warning[] = [];
  const snapshotText = files.read(SNAPSHOT_PATH);
  const previous = snapshotText === undefined ? undefined : parseSnapshot(snapshotText, SNAPSHOT_PATH);
  const models = selectModels(doc, options.models, previous, specFile);
  if (models.length === 0 && !previous) {
    throw new BackdevError(
      'OPTION_INVALID',
      `no models to design: name them with --model, use --all, or mark schemas with "x-backdev-table: true" in ${specFile}`,
    );
  }
  const existingTables = new Map((previous?.tables ?? []).map((t) => [t.model, t.name]));
  const schema = designSchema(doc, models, { primaryKey: options.primaryKey, timestamps: true, existingTables }, warnings);
  const migration = diffSchemas(previous, schema, options.renames ? { renames: options.renames } : {});
  if (migration.destructive.length > 0 && !options.allowDestructive) {
    throw new BackdevError(
      'DESTRUCTIVE_CHANGE',
      `this change would lose data; nothing was written. Rerun with --allow-destructive to accept these steps (renames need --rename old:new)`,
      { details: migration.destructive.map((s) => s.description) },
    );
  }

  const templates = loadTemplates(GENERATOR, options.templates);
  const out: FilePlan[] = [];
  const migrationsDir = `${dirs.db}/migrations`;
  let migrationFile: string | undefined;
  const parts = splitMigration(migration);
  let number = nextMigrationNumber(files.list(migrationsDir));
  for (const part of parts) {
    const file = `${migrationsDir}/${String(number++).padStart(4, '0')}_${part.name}.ts`;
    migrationFile ??= file;
    out.push({ path: file, ownership: 'append-only', content: renderMigration(part) });
  }
  const required = (model: string): ReadonlySet<string> | undefined => {
    const s = componentSchemas(doc)[model];
    return isObject(s) && Array.isArray(s.required) ? new Set(s.required.filter((r): r is string => typeof r === 'string')) : undefined;
  };
  const view = buildDatabaseView(schema, required);
  // The bundled repository template renders formatted code (repository-layout.ts); a user's goes through prettier.
  const bundledRepository = templates.source('repository.ts.hbs').startsWith(BUNDLED_TEMPLATES + sep);
  const userRepository = (text: string, file: string) => (bundledRepository ? layoutRepository(text) : formatTypeScript(text, file));
  out.push({ path: `${dirs.db}/schema.gen.ts`, ownership: 'generated', content: tidy(templates.render('schema.gen.ts.hbs', view)) });
  out.push({ path: SNAPSHOT_PATH, ownership: 'generated', content: serializeSnapshot(schema) });
  for (const model of view.models) {
    const base = `${dirs.db}/repositories/${model.fileStem}.gen.ts`;
    out.push({ path: base, ownership: 'generated', content: tidy(templates.render('repository.gen.ts.hbs', { ...view, model })) });
    const path = `${dirs.db}/repositories/${model.fileStem}.ts`;
    out.push(await userFile(files, path, () => userRepository(templates.render('repository.ts.hbs', { ...view, model }), path)));
  }
  const dbView = { imports: { schemaFromDbModule: moduleSpecifier('src', `${dirs.db}/schema.gen.js`) } };
  out.push(await userFile(files, DB_MODULE, () => formatTypeScript(templates.render('db.ts.hbs', dbView), DB_MODULE)));
  // ts-morph (core/ts) loads only when src/app.ts does not close the database yet: on the first design.
  const closesDb = (app: string) => /\bdb\.destroy\(\)/.test(app);
  const appText = files.read(APP_FILE);
  const merge = appText === undefined || closesDb(appText) ? undefined : await import('../core/ts/merge.js');
  const wiring = planAppWiring(
    files,
    (app) => (closesDb(app) || !merge ? app : merge.insertBeforeReturn(app, 'buildApp', templates.render('app/close-db.ts.hbs', {}).trim(), [{ from: './db.js', name: 'db' }])),
    "could not find `return app` in buildApp(); close the database on shutdown yourself: app.addHook('onClose', () => db.destroy())",
  );
  out.push(...wiring.files);
  warnings.push(...wiring.warnings);
  return { generator: GENERATOR, files: out, warnings, schema, migration, migrationFile };
}

export const FIELD_MODELS_PATH = '.backdev/db-models.json';


/** `--rename` hints: `table.old:new` renames a column, `old_table:new_table` a table. */
export function parseRenames(values: readonly string[]): { table: Record<string, string>; column: Record<string, string> } {
  const table: Record<string, string> = {};
  const column: Record<string, string> = {};
  for (const v of values) {
    const m = /^([A-Za-z_][\w]*)(?:\.([A-Za-z_][\w]*))?:([A-Za-z_][\w]*)$/.exec(v);
    if (!m) throw new BackdevError('OPTION_INVALID', `--rename ${v}: expected table.old_column:new_column or old_table:new_table`);
    if (m[2]) column[`${m[1]}.${m[2]}`] = m[3]!;
    else table[m[1]!] = m[3]!;
  }
  return { table, column };
}

function readFieldModels(files: ProjectFiles): Obj {
  const text = files.read(FIELD_MODELS_PATH);
  if (text === undefined) return {};
  try {
    const data = JSON.parse(text) as unknown;
    if (data !== null && typeof data === 'object' && !Array.isArray(data)) return data as Obj;
  } catch {
    /* reported below */
  }
  throw new BackdevError('CONFIG_INVALID', `${FIELD_MODELS_PATH} is not a JSON object of model schemas`, { location: { file: FIELD_MODELS_PATH } });
}

/** What a design-database run is asked to design, and how. */
export interface DesignChoices {
  models?: string[] | undefined;
  all?: boolean | undefined;
  /** `--fields` for the single `--model`: a model described without the spec. */
  fields?: string | undefined;
  primaryKey?: 'uuid' | 'identity' | undefined;
  /** `old:new` (column in every table) or `table.old:new` or `table:newTable`. */
  renames?: string[] | undefined;
  allowDestructive?: boolean | undefined;
  templates?: string | undefined;
}

export interface DesignInputs {
  plan: DesignPlan;
  /** The field-model file, when it changed. */
  extra: FilePlan[];
}

/**
 * Plans a design-database run for a document (the spec's, or an empty one) in a project. Models described with
 * `--fields` (no spec schema) are kept in `.backdev/db-models.json` as JSON Schemas, so that later runs design
 * them again; delete an entry there to drop its table.
 */
export async function planDesign(
  doc: Obj,
  specFile: string,
  files: ProjectFiles,
  dirs: OutputDirs,
  options: DesignChoices,
): Promise<DesignInputs> {
  const fieldModels = readFieldModels(files);
  const extra: FilePlan[] = [];
  let selection: ModelSelection = options.all ? { kind: 'all' } : options.models?.length ? { kind: 'names', names: options.models } : { kind: 'marked' };
  if (options.fields !== undefined) {
    const name = options.models?.[0];
    if (!name || options.models!.length !== 1) throw new BackdevError('OPTION_INVALID', '--fields describes one model: name it with a single --model');
    const names = resourceNames(name);
    const [, schema] = buildAdditions(names, parseFields(options.fields), true).schemas[0]!;
    fieldModels[names.schemaName] = schema;
    selection = { kind: 'names', names: [names.schemaName] };
    const sorted = Object.fromEntries(Object.keys(fieldModels).sort().map((k) => [k, fieldModels[k]]));
    extra.push({ path: FIELD_MODELS_PATH, ownership: 'user-edit', content: JSON.stringify(sorted, null, 2) + '\n' });
  }
  const components = (doc.components ?? {}) as Obj;
  const schemas = { ...((components.schemas ?? {}) as Obj) };
  for (const [k, v] of Object.entries(fieldModels)) {
    if (k in schemas && options.fields !== undefined) {
      throw new BackdevError('OPTION_INVALID', `--model ${k}: the spec already has a schema "${k}"; change it there instead of with --fields`);
    }
    schemas[k] ??= v;
  }
  const merged = { ...doc, components: { ...components, schemas } };
  const renames = options.renames?.length ? parseRenames(options.renames) : undefined;
  const designed = await planDesignDatabase(merged, specFile, files, {
    dirs,
    models: selection,
    primaryKey: options.primaryKey ?? 'uuid',
    ...(renames ? { renames } : {}),
    allowDestructive: options.allowDestructive ?? false,
    templates: options.templates,
  });
  // The snapshot also records what each model looked like, for create-api's drift warning (core/db/drift.ts).
  const models = designed.schema.tables.map((t) => t.model).filter((m) => !m.includes('.'));
  const snapshot = serializeSnapshot(designed.schema, modelFingerprints(merged, models));
  const plan: DesignPlan = { ...designed, files: designed.files.map((f) => (f.path === SNAPSHOT_PATH ? { ...f, content: snapshot } : f)) };
  return { plan, extra };
}
