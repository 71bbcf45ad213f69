/**
 * design-database: models (marked in the spec, named, all, or described with `--fields`) → a migration holding
 * only what changed, the Kysely `Database` types, repositories.
 */
import { BackdevError } from '../core/errors.js';
import { resolveTarget } from '../core/generator/target.js';
import type { DatabasePlanner, Generator, PlannedRun, WriteOptions } from '../core/generator/types.js';
import { projectFolder, projectQuestion } from '../core/generator/prompts.js';
import type { Obj } from '../core/json.js';
import type { Plan } from '../core/plan/types.js';
import { loadSpec } from '../core/spec/load.js';
import { FIELD_MODELS_PATH, GENERATOR, planDesign, type DesignChoices } from './plan.js';

export interface DesignDatabaseOptions extends WriteOptions, DesignChoices {
  spec?: string | undefined;
  out?: string | undefined;
  /** Template override folder; defaults to `templates` in backdev.config.json. */
  templates?: string | undefined;
  dialect?: string | undefined;
}

/** The document models are read from when there is no spec: only `--fields` models. */
const NO_SPEC: Obj = { openapi: '3.1.0', info: { title: 'models', version: '0' }, components: { schemas: {} } };

export const designDatabase: Generator<DesignDatabaseOptions> = {
  name: GENERATOR,
  outOfDate: 'the database design is out of date; run `backdev design-database` and commit the result',
  target: (options, cwd) => resolveTarget(options, cwd, false),
  validate(options) {
    if (options.dialect && options.dialect !== 'postgres') throw new BackdevError('OPTION_INVALID', `--dialect ${options.dialect}: only postgres is supported`);
  },
  interactive: {
    description: "Design tables from the spec's models: a migration, Database types, repositories",
    questions: () => [
      projectQuestion(true),
      { type: 'input', name: 'models', message: 'Schemas to design, space-separated (empty: those marked x-backdev-table; * for all)', default: '' },
      { type: 'confirm', name: 'allowDestructive', message: 'Accept drops and type narrowing?', default: false },
    ],
    options: (a) => {
      const models = String(a.models ?? '').trim();
      return {
        out: projectFolder(a.out),
        all: models === '*',
        models: models && models !== '*' ? models.split(/\s+/) : undefined,
        allowDestructive: a.allowDestructive === true,
      };
    },
  },
  async plan({ target, files }, options): Promise<PlannedRun> {
    if (!target.spec && options.fields === undefined) {
      throw new BackdevError('OPTION_INVALID', 'no spec to read models from: pass --spec, run inside a project, or describe a model with --model Name --fields "…"');
    }
    const doc = target.spec ? (await loadSpec(target.spec)).document : NO_SPEC;
    const { plan, extra } = await planDesign(doc, target.spec ?? FIELD_MODELS_PATH, files, target.dirs, { ...options, templates: target.templates });
    const plans: Plan[] = [extra.length > 0 ? { ...plan, files: [...plan.files, ...extra] } : plan];
    const notes = plan.migrationFile
      ? [`design-database: ${plan.migration.steps.length} step(s) in ${plan.migrationFile}`, ...plan.migration.steps.map((s) => `  ${s.destructive ? '!' : '+'} ${s.description}`)]
      : ['design-database: the models match the last design; no migration'];
    return {
      plans,
      notes,
      details: {
        migration: plan.migrationFile ?? null,
        tables: plan.schema.tables.length,
        steps: plan.migration.steps.map((s) => ({ description: s.description, destructive: s.destructive })),
      },
    };
  },
};

/** The database planner other generators use (create-api --endpoint): tables for the named models. */
export const planTables: DatabasePlanner = async (doc, specFile, files, dirs, options) =>
  (await planDesign(doc, specFile, files, dirs, { models: options.models, templates: options.templates })).plan;
