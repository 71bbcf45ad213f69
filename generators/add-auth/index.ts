/**
 * add-auth: the spec's securitySchemes → verifiers and per-operation enforcement; `--accounts` adds local
 * accounts (the endpoints go into the spec, and their handlers come from the API planner in the same change).
 */
import { editableSpec, resolveTarget } from '../core/generator/target.js';
import type { Generator, PlannedRun, WriteOptions } from '../core/generator/types.js';
import { projectFolder, projectQuestion } from '../core/generator/prompts.js';
import { buildApi } from '../core/ir/build.js';
import type { FilePlan } from '../core/plan/types.js';
import { loadSpec, readSpecText } from '../core/spec/load.js';
import { ACCOUNTS_SCHEME, addAccounts } from './accounts-spec.js';
import { GENERATOR, planAddAuth } from './plan.js';

export interface AddAuthOptions extends WriteOptions {
  spec?: string | undefined;
  out?: string | undefined;
  /** Only these securitySchemes (default: every scheme the spec declares). */
  schemes?: string[] | undefined;
  /** Add local accounts: register, login, refresh, logout. */
  accounts?: boolean | undefined;
  templates?: string | undefined;
}

export const addAuth: Generator<AddAuthOptions> = {
  name: GENERATOR,
  label: `${GENERATOR} (+create-api)`,
  outOfDate: 'the auth wiring is out of date; run `backdev add-auth` (with the options you used) and commit the result',
  target: (options, cwd) => resolveTarget(options, cwd),
  interactive: {
    description: "Enforce the spec's security schemes; optionally add local accounts",
    questions: () => [
      projectQuestion(true),
      { type: 'confirm', name: 'accounts', message: 'Add local accounts (register, login, refresh, logout)?', default: false },
    ],
    options: (a) => ({ out: projectFolder(a.out), accounts: a.accounts === true }),
  },
  async plan({ target, files, planners, mode }, options): Promise<PlannedRun> {
    let rootText: string | undefined;
    const extra: FilePlan[] = [];
    if (options.accounts) {
      const spec = editableSpec(target, '--accounts');
      const edit = addAccounts(await readSpecText(spec.file), spec.file);
      rootText = edit.text;
      if (edit.changed) extra.push({ path: spec.relative, ownership: 'user-edit', content: edit.text });
    }
    const spec = await loadSpec(target.spec!, rootText === undefined ? {} : { rootText });
    const api = buildApi(spec);
    const apiPlan = await planners.api(spec, api, files, { dirs: target.dirs, templates: target.templates });
    // Local accounts stay on once added: a later run without --accounts (a --check in CI) plans the same files.
    const accounts = options.accounts || (files.read('src/auth.ts')?.includes('createAccounts(') ?? false);
    const authPlan = await planAddAuth(
      api,
      files,
      { dirs: target.dirs, schemes: options.schemes, accounts, templates: target.templates },
      accounts ? ACCOUNTS_SCHEME : undefined,
    );
    const notes =
      extra.length > 0 ? [`add-auth: ${mode === 'write' ? 'added' : 'would add'} /auth/register, /auth/login, /auth/refresh, /auth/logout to ${extra[0]!.path}`] : [];
    return {
      plans: [{ ...apiPlan, files: [...apiPlan.files, ...extra] }, authPlan],
      notes,
      next: (report) => {
        const migrations = report.created.filter((f) => f.startsWith(`${target.dirs.db}/migrations/`));
        return [
          migrations.length > 0
            ? `add-auth: set the AUTH_* variables of .env.example, then \`npm run db:migrate\` for the new tables (${migrations.join(', ')})`
            : 'add-auth: set the AUTH_* variables of .env.example',
        ];
      },
    };
  },
};
