/**
 * add-sync: keep a table equal to a list of an external API. From the external spec (`--source`) and one of
 * its schemas (`--schema`), it designs the table through the database planner (the external id as key,
 * scalar properties as columns, nested objects as jsonb), writes the record types, your mapping record → row
 * (written once) and the job (stream, pagination, watermark, factory), and once per project the migration
 * of the sync tables. `backdev sync run <job>` runs it.
 */
import path from 'node:path';
import { BackdevError } from '../core/errors.js';
import { optional, projectFolder, projectQuestion } from '../core/generator/prompts.js';
import { resolveTarget } from '../core/generator/target.js';
import type { Generator, PlannedRun, WriteOptions } from '../core/generator/types.js';
import { isObject, type Obj } from '../core/json.js';
import { loadSpec } from '../core/spec/load.js';
import { DB_MODELS_PATH, GENERATOR, planSyncFiles, SYNC_DIR } from './plan.js';
import { buildSyncSource, defaultJobName, jobNameProblem, jobNames } from './view-model.js';

export interface AddSyncOptions extends WriteOptions {
  /** The external API's OpenAPI spec: a file or URL. */
  source?: string | undefined;
  /** The schema (components.schemas) whose records the table keeps. */
  schema?: string | undefined;
  /** The list operation: an operationId or `GET /path`; default the one GET listing the schema. */
  operation?: string | undefined;
  /** The job name (lowercase words joined by `-`); default `<api>-<schema plural>`. */
  name?: string | undefined;
  spec?: string | undefined;
  out?: string | undefined;
  templates?: string | undefined;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/** Usage problems of the options, before anything is read. */
export function syncOptionProblems(options: Pick<AddSyncOptions, 'source' | 'schema' | 'name'>): string[] {
  const problems: string[] = [];
  if (!options.source) problems.push('--source <external spec file|url> is required');
  if (!options.schema) problems.push('--schema <Name> is required (a schema of the external spec)');
  if (options.name !== undefined) {
    const p = jobNameProblem(options.name);
    if (p) problems.push(p);
  }
  return problems;
}

function readModels(text: string | undefined): Obj {
  if (text === undefined) return {};
  try {
    const data = JSON.parse(text) as unknown;
    if (isObject(data)) return data;
  } catch {
    /* reported below */
  }
  throw new BackdevError('CONFIG_INVALID', `${DB_MODELS_PATH} is not a JSON object of model schemas`, { location: { file: DB_MODELS_PATH } });
}

export const addSync: Generator<AddSyncOptions> = {
  name: GENERATOR,
  label: 'add-sync (+design-database)',
  outOfDate: 'the sync job or its table is out of date; run `backdev add-sync` again and commit the result',
  target: (options, cwd) => resolveTarget(options, cwd, false),
  validate(options) {
    const problems = syncOptionProblems(options);
    if (problems.length > 0) throw new BackdevError('OPTION_INVALID', problems[0]!, { details: problems.slice(1) });
  },
  interactive: {
    description: 'Keep a table equal to a list of an external API (its OpenAPI spec): table, typed mapping, sync job',
    questions: () => [
      projectQuestion(true),
      { type: 'input', name: 'source', message: "The external API's OpenAPI spec (file or URL)", validate: (v: string) => (v.trim() === '' ? 'a spec is required' : true) },
      { type: 'input', name: 'schema', message: 'The schema to keep in a table (e.g. customer)', validate: (v: string) => (v.trim() === '' ? 'a schema is required' : true) },
      { type: 'input', name: 'operation', message: 'The list operation, an operationId or "GET /path" (empty: the one GET listing it)', default: '' },
      {
        type: 'input',
        name: 'name',
        message: 'Job name (empty: <api>-<schema plural>)',
        default: '',
        validate: (v: string) => (v.trim() === '' ? true : (jobNameProblem(v.trim()) ?? true)),
      },
      { type: 'confirm', name: 'dryRun', message: 'Dry run (show the diff, write nothing)?', default: false },
    ],
    options: (a) => ({
      out: projectFolder(a.out),
      source: optional(a.source),
      schema: optional(a.schema),
      operation: optional(a.operation),
      name: optional(a.name),
      dryRun: a.dryRun === true,
    }),
  },
  async plan({ target, files, planners }, options): Promise<PlannedRun> {
    const cwd = path.resolve(options.cwd ?? process.cwd());
    const sourceRef = options.source!;
    const spec = await loadSpec(isUrl(sourceRef) ? sourceRef : path.resolve(cwd, sourceRef));
    const source = buildSyncSource(spec, options.schema!, options.operation);
    const names = jobNames(options.name ?? defaultJobName(source));
    // The table's model goes with the project's own models (the spec's, and those kept beside it), so the
    // design keeps every table it made before.
    const project: Obj = target.spec ? (await loadSpec(target.spec)).document : { openapi: '3.1.0', info: { title: 'models', version: '0' } };
    const components = isObject(project.components) ? project.components : {};
    const schemas = isObject(components.schemas) ? components.schemas : {};
    if (names.model in schemas) {
      throw new BackdevError('OPTION_INVALID', `the project's spec already has a schema "${names.model}": give the job another --name`);
    }
    const kept = readModels(files.read(DB_MODELS_PATH));
    kept[names.model] = source.model;
    const doc = { ...project, components: { ...components, schemas: { ...schemas, [names.model]: source.model } } };
    const design = await planners.database(doc, target.spec ?? DB_MODELS_PATH, files, target.dirs, { models: [names.model], templates: target.templates });
    const table = design.schema.tables.find((t) => t.model === names.model);
    if (!table) throw new Error(`bug: the database planner designed no table for ${names.model}`);
    const plannedMigrations = design.files.filter((f) => f.ownership === 'append-only').map((f) => f.path);
    const syncFiles = await planSyncFiles(files, { spec, sourceRef: isUrl(sourceRef) ? sourceRef : path.relative(target.root, path.resolve(cwd, sourceRef)).split(path.sep).join('/'), source, names, table, dirs: target.dirs, plannedMigrations, templates: target.templates });
    const sorted = Object.fromEntries(Object.keys(kept).sort().map((k) => [k, kept[k]]));
    const op = source.operation;
    return {
      plans: [
        design,
        {
          generator: GENERATOR,
          // One job per run: the files of the project's other jobs stay as they are (neither rewritten nor stale).
          partial: true,
          files: [...syncFiles, { path: DB_MODELS_PATH, ownership: 'user-edit', content: JSON.stringify(sorted, null, 2) + '\n' }],
          warnings: [],
        },
      ],
      notes: [
        `add-sync: job ${names.job} pulls ${op.method.toUpperCase()} ${op.path} (${source.schema}) into table ${table.name}; pages: ${source.pagination.kind} (${source.pagination.reason})`,
        source.incremental ? `  incremental on ${source.incremental.property} (${source.incremental.param})` : '  full reads every run (no timestamp the list can filter on)',
        ...(design.migrationFile ? [`  table ${table.name} in ${design.migrationFile}`] : []),
      ],
      next: () => [`add-sync: npm run db:migrate, then \`backdev sync run ${names.job}\` (SYNC_${names.env}_URL / SYNC_${names.env}_TOKEN); edit ${SYNC_DIR}/${names.stem}.mapping.ts to change what a row holds`],
      details: { job: names.job, table: table.name, pagination: source.pagination.kind, incremental: source.incremental?.param ?? null, migration: design.migrationFile ?? null },
    };
  },
};
