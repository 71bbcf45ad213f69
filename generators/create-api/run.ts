/**
 * create-api end to end: options (+ config file) → spec → IR → plan → apply → summary. Both fronts (the
 * yargs CLI and plop) call `runCreateApi`.
 */
import path from 'node:path';
import { findConfig, loadConfig, CONFIG_FILE, type OutputDirs } from '../core/config.js';
import { BackdevError, type Warning } from '../core/errors.js';
import { DB_SNAPSHOT_PATH, modelDrift } from '../core/db/drift.js';
import { parseSnapshot } from '../core/db/snapshot.js';
import { buildApi } from '../core/ir/build.js';
import { applyPlan, projectFiles, type ApplyReport } from '../core/plan/apply.js';
import type { Plan } from '../core/plan/types.js';
import { printSummary, printWarnings, type Output } from '../core/report.js';
import { loadSpec, readSpecText } from '../core/spec/load.js';
import { addEndpoint } from './endpoint.js';
import { parseFields } from '../core/resource/fields.js';
import { GENERATOR, planCreateApi } from './plan.js';

export interface CreateApiOptions {
  /** Spec file or URL; defaults to `spec` in backdev.config.json. */
  spec?: string | undefined;
  /** Output (project) root; defaults to the folder holding backdev.config.json, else the current folder. */
  out?: string | undefined;
  /** Template override folder; defaults to `templates` in backdev.config.json. */
  templates?: string | undefined;
  /** Add a CRUD resource with this name to the spec first. */
  endpoint?: string | undefined;
  /** Fields of the `endpoint` resource. */
  fields?: string | undefined;
  force?: boolean | undefined;
  dryRun?: boolean | undefined;
  check?: boolean | undefined;
  verbose?: boolean | undefined;
  /** Folder relative paths are resolved against (default: process.cwd()). */
  cwd?: string | undefined;
}

export interface CreateApiResult {
  report: ApplyReport;
  root: string;
  spec: string;
  /** Process exit code: 0, or 1 when `check` found drift. */
  exitCode: number;
}

export interface ResolvedTarget {
  root: string;
  dirs: OutputDirs;
  spec: string;
  templates: string | undefined;
}

/** Works out the project root, spec, output folders and templates from options and the config file. */
export function resolveTarget(options: Pick<CreateApiOptions, 'spec' | 'out' | 'templates' | 'cwd'>): ResolvedTarget {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const configFile = options.out ? findConfigIn(path.resolve(cwd, options.out)) : findConfig(cwd);
  const { config, dir } = loadConfig(configFile);
  const root = options.out ? path.resolve(cwd, options.out) : (dir ?? cwd);
  const fromConfig = (p: string | undefined) => (p === undefined || /^https?:\/\//i.test(p) ? p : path.resolve(dir ?? root, p));
  const spec = options.spec ? (/^https?:\/\//i.test(options.spec) ? options.spec : path.resolve(cwd, options.spec)) : fromConfig(config.spec);
  if (!spec) {
    throw new BackdevError('OPTION_INVALID', `no spec given: pass --spec <file|url>, or run inside a project whose ${CONFIG_FILE} names one`);
  }
  const templates = options.templates ? path.resolve(cwd, options.templates) : fromConfig(config.templates);
  return { root, dirs: config.output, spec, templates };
}

/** The models with a table in the last design, from its snapshot (none when there is none or it is unreadable). */
function designedModels(snapshotText: string | undefined): string[] {
  if (snapshotText === undefined) return [];
  try {
    return parseSnapshot(snapshotText, DB_SNAPSHOT_PATH)
      .tables.map((t) => t.model)
      .filter((m) => !m.includes('.'));
  } catch {
    return [];
  }
}

function findConfigIn(dir: string): string | undefined {
  const file = findConfig(dir);
  return file && path.dirname(file) === dir ? file : undefined;
}

export async function runCreateApi(options: CreateApiOptions, output: Output): Promise<CreateApiResult> {
  const target = resolveTarget(options);
  let rootText: string | undefined;
  let specEdit: { path: string; content: string } | undefined;
  let endpointModel: string | undefined;
  let refTargets: string[] = [];
  let endpointExisted = false;
  if (options.endpoint !== undefined || options.fields !== undefined) {
    if (!options.endpoint || !options.fields) {
      throw new BackdevError('OPTION_INVALID', '--endpoint and --fields go together: --endpoint products --fields "name:string price:number"');
    }
    const fields = parseFields(options.fields);
    if (/^https?:\/\//i.test(target.spec)) throw new BackdevError('OPTION_INVALID', '--endpoint edits the spec, so the spec must be a local file');
    const relSpec = path.relative(target.root, target.spec);
    if (relSpec.startsWith('..') || path.isAbsolute(relSpec)) {
      throw new BackdevError('OPTION_INVALID', `--endpoint edits the spec, which must be inside the output folder ${target.root} (it is ${target.spec})`);
    }
    const original = await readSpecText(target.spec);
    const edit = addEndpoint(original, target.spec, options.endpoint, fields, {
      fieldsText: options.fields,
      checkRefs: true,
      knownModels: designedModels(projectFiles(target.root).read(DB_SNAPSHOT_PATH)),
    });
    rootText = edit.text;
    endpointModel = edit.schemaName;
    refTargets = edit.refTargets;
    endpointExisted = edit.existing;
    if (edit.changed) specEdit = { path: relSpec.split(path.sep).join('/'), content: edit.text };
    output.out(
      !edit.changed
        ? `create-api: ${edit.schemaName} is already in ${relSpec} as described`
        : edit.existing && edit.addedFields.length > 0
          ? `create-api: added ${edit.addedFields.join(', ')} to ${edit.schemaName}, ${edit.schemaName}Create and ${edit.schemaName}Update in ${relSpec}`
          : `create-api: added ${edit.schemaName} and ${edit.operationIds.join(', ')} to ${relSpec}`,
    );
  }
  const spec = await loadSpec(target.spec, rootText === undefined ? {} : { rootText });
  const api = buildApi(spec);
  const project = projectFiles(target.root);
  const plan = await planCreateApi(spec, api, project, { dirs: target.dirs, templates: target.templates });
  const files = specEdit ? [...plan.files, { ...specEdit, ownership: 'user-edit' as const }] : plan.files;
  // A table-backed schema that changed since design-database designed it: say so before it answers 500.
  // (With --endpoint, design-database runs in this same change.)
  const drift = endpointModel ? [] : modelDrift(spec.document, project.read(DB_SNAPSHOT_PATH));
  const driftWarnings: Warning[] = drift.map((d) => ({
    code: 'SCHEMA_NOT_MIGRATED',
    subject: `schema ${JSON.stringify(d.model)}`,
    message:
      d.kind === 'changed'
        ? 'changed since its table was designed, and no migration covers it: run `backdev design-database`, then `npm run db:migrate` and restart the server'
        : 'is marked x-backdev-table but has no table yet: run `backdev design-database`, then `npm run db:migrate` and restart the server',
  }));
  const plans: Plan[] = [{ ...plan, files, warnings: [...plan.warnings, ...driftWarnings] }];
  if (endpointModel) {
    // The resource's table, migration, types and repository, in the same all-or-nothing change.
    const { planDesign } = await import('../design-database/run.js');
    // Models the fields refer to get their table too (a foreign key needs it).
    const design = await planDesign(spec.document, target.spec, project, target.dirs, { models: [...new Set([endpointModel, ...refTargets])] });
    plans.push(design.plan);
    if (design.plan.migrationFile) output.out(`create-api: ${endpointExisted ? 'new columns of ' : ''}table ${design.plan.schema.tables.find((t) => t.model === endpointModel)?.name} in ${design.plan.migrationFile}`);
  }
  const mode = options.check ? 'check' : options.dryRun ? 'dry-run' : 'write';
  const report = applyPlan(plans, { root: target.root, force: options.force, dryRun: options.dryRun, check: options.check });
  printWarnings(report.warnings, output, options.verbose);
  if (mode === 'dry-run' && report.diff) output.out(report.diff.trimEnd());
  printSummary(GENERATOR, report, output, mode);
  let exitCode = 0;
  if (mode === 'check' && report.changed) {
    output.err(`create-api --check: the generated code is out of date; run \`backdev create-api\` and commit the result`);
    exitCode = 1;
  }
  if (mode === 'check' && drift.length > 0) {
    output.err(
      `create-api --check: the database design is out of date for ${drift.map((d) => d.model).join(', ')}; run \`backdev design-database\`, then \`npm run db:migrate\`, and commit the result`,
    );
    exitCode = 1;
  }
  return { report, root: target.root, spec: target.spec, exitCode };
}
