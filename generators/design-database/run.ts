/**
 * design-database end to end: options (+ config) → models (spec and/or --fields) → plan → apply → summary.
 *
 * Models described with `--fields` (no spec schema) are kept in `.backdev/db-models.json` as JSON Schemas,
 * so that later runs design them again; delete an entry there to drop its table.
 */
import path from 'node:path';
import { findConfig, loadConfig, type OutputDirs } from '../core/config.js';
import { BackdevError } from '../core/errors.js';
import { applyPlan, projectFiles, type ApplyReport } from '../core/plan/apply.js';
import type { FilePlan, Plan, ProjectFiles } from '../core/plan/types.js';
import { printSummary, printWarnings, type Output } from '../core/report.js';
import { loadSpec } from '../core/spec/load.js';
import { resourceNames } from '../core/resource/names.js';
import { buildAdditions } from '../core/resource/additions.js';
import { parseFields } from '../core/resource/fields.js';
import { modelFingerprints } from '../core/db/drift.js';
import { serializeSnapshot } from '../core/db/snapshot.js';
import { GENERATOR, planDesignDatabase, SNAPSHOT_PATH, type DesignPlan, type ModelSelection } from './plan.js';

export const FIELD_MODELS_PATH = '.backdev/db-models.json';

export interface DesignDatabaseOptions {
  spec?: string | undefined;
  out?: string | undefined;
  models?: string[] | undefined;
  all?: boolean | undefined;
  fields?: string | undefined;
  dialect?: string | undefined;
  primaryKey?: 'uuid' | 'identity' | undefined;
  /** `old:new` (column in every table) or `table.old:new` or `table:newTable`. */
  renames?: string[] | undefined;
  allowDestructive?: boolean | undefined;
  force?: boolean | undefined;
  dryRun?: boolean | undefined;
  check?: boolean | undefined;
  verbose?: boolean | undefined;
  cwd?: string | undefined;
}

type Obj = Record<string, unknown>;

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

export interface DesignInputs {
  plan: DesignPlan;
  /** The field-model file, when it changed. */
  extra: FilePlan[];
}

/** Plans a design-database run for a document (the spec's, or an empty one) in a project. */
export async function planDesign(
  doc: Obj,
  specFile: string,
  files: ProjectFiles,
  dirs: OutputDirs,
  options: Pick<DesignDatabaseOptions, 'models' | 'all' | 'fields' | 'primaryKey' | 'renames' | 'allowDestructive'>,
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
  });
  // The snapshot also records what each model looked like, for create-api's drift warning (core/db/drift.ts).
  const models = designed.schema.tables.map((t) => t.model).filter((m) => !m.includes('.'));
  const snapshot = serializeSnapshot(designed.schema, modelFingerprints(merged, models));
  const plan: DesignPlan = { ...designed, files: designed.files.map((f) => (f.path === SNAPSHOT_PATH ? { ...f, content: snapshot } : f)) };
  return { plan, extra };
}

export async function runDesignDatabase(options: DesignDatabaseOptions, output: Output): Promise<{ report: ApplyReport; plan: DesignPlan }> {
  if (options.dialect && options.dialect !== 'postgres') {
    throw new BackdevError('OPTION_INVALID', `--dialect ${options.dialect}: only postgres is supported`);
  }
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const configFile = findConfig(options.out ? path.resolve(cwd, options.out) : cwd);
  const { config, dir } = loadConfig(configFile);
  const root = options.out ? path.resolve(cwd, options.out) : (dir ?? cwd);
  const specPath = options.spec ? path.resolve(cwd, options.spec) : config.spec ? path.resolve(dir ?? root, config.spec) : undefined;
  let doc: Obj = { openapi: '3.1.0', info: { title: 'models', version: '0' }, components: { schemas: {} } };
  if (specPath) doc = (await loadSpec(specPath)).document;
  else if (options.fields === undefined) {
    throw new BackdevError('OPTION_INVALID', 'no spec to read models from: pass --spec, run inside a project, or describe a model with --model Name --fields "…"');
  }
  const files = projectFiles(root);
  const { plan, extra } = await planDesign(doc, specPath ?? FIELD_MODELS_PATH, files, config.output, options);
  const mode = options.check ? 'check' : options.dryRun ? 'dry-run' : 'write';
  const plans: Plan[] = [plan, ...(extra.length > 0 ? [{ generator: GENERATOR, files: extra, warnings: [] }] : [])];
  const report = applyPlan(plans.length === 1 ? plan : [{ ...plan, files: [...plan.files, ...extra] }], {
    root,
    force: options.force,
    dryRun: options.dryRun,
    check: options.check,
  });
  printWarnings(report.warnings, output, options.verbose);
  if (mode === 'dry-run' && report.diff) output.out(report.diff.trimEnd());
  if (plan.migrationFile) {
    output.out(`design-database: ${plan.migration.steps.length} step(s) in ${plan.migrationFile}`);
    for (const step of plan.migration.steps) output.out(`  ${step.destructive ? '!' : '+'} ${step.description}`);
  } else {
    output.out('design-database: the models match the last design; no migration');
  }
  printSummary(GENERATOR, report, output, mode);
  return { report, plan };
}
