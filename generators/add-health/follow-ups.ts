/**
 * add-health's share of another generator's run: when that run writes the project's database module in a
 * project where add-health has run, /health/ready's module is re-rendered with the database check.
 *
 * Every run of another generator asks (a no-change rerun too), and most projects have no add-health: this
 * module decides that from the plans and the manifest alone, and loads the planner, the spec loader and the
 * templates only when there is something to re-render.
 */
import type { OutputDirs } from '../core/config.js';
import type { FollowUpPlanner } from '../core/generator/types.js';
import type { Plan, ProjectFiles } from '../core/plan/types.js';

export const GENERATOR = 'add-health';
/** The project's database module. */
export const DB_FILE = 'src/db.ts';

/** Whether add-health has run in the project (its routes module is recorded in the manifest). */
export function hasHealth(files: ProjectFiles, dirs: OutputDirs): boolean {
  return files.recorded(`${dirs.generated}/health.gen.ts`) !== undefined;
}

/** The project's database module as these plans leave it (design-database, add-auth, create-api --endpoint), if they plan it. */
export function plannedDatabase(plans: readonly Plan[]): string | undefined {
  for (const p of plans) for (const f of p.files) if (f.path === DB_FILE && f.ownership !== 'user-edit') return f.content;
  return undefined;
}

export const healthFollowUps: FollowUpPlanner = async (generator, plans, { target, files }) => {
  const dbModule = plannedDatabase(plans);
  if (generator === GENERATOR || dbModule === undefined || target.spec === undefined || !hasHealth(files, target.dirs)) return [];
  const [{ loadSpec }, { buildApi }, { planReadinessFollowUp }] = await Promise.all([
    import('../core/spec/load.js'),
    import('../core/ir/build.js'),
    import('./plan.js'),
  ]);
  const api = buildApi(await loadSpec(target.spec));
  return [planReadinessFollowUp(api, files, dbModule, { dirs: target.dirs, templates: target.templates })];
};
