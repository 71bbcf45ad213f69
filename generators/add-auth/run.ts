/**
 * add-auth end to end: options (+ config) → (with --accounts, the accounts endpoints added to the spec) →
 * IR → the create-api plan (so new endpoints get their handlers) + the add-auth plan → one apply.
 */
import path from 'node:path';
import { BackdevError } from '../core/errors.js';
import { buildApi } from '../core/ir/build.js';
import { applyPlan, projectFiles, type ApplyReport } from '../core/plan/apply.js';
import type { Plan } from '../core/plan/types.js';
import { printSummary, printWarnings, type Output } from '../core/report.js';
import { loadSpec, readSpecText } from '../core/spec/load.js';
import { GENERATOR as CREATE_API, planCreateApi } from '../create-api/plan.js';
import { resolveTarget } from '../create-api/run.js';
import { ACCOUNTS_SCHEME, addAccounts } from './accounts-spec.js';
import { GENERATOR, planAddAuth } from './plan.js';

export interface AddAuthOptions {
  spec?: string | undefined;
  out?: string | undefined;
  schemes?: string[] | undefined;
  accounts?: boolean | undefined;
  templates?: string | undefined;
  force?: boolean | undefined;
  dryRun?: boolean | undefined;
  check?: boolean | undefined;
  verbose?: boolean | undefined;
  cwd?: string | undefined;
}

export async function runAddAuth(options: AddAuthOptions, output: Output): Promise<{ report: ApplyReport; exitCode: number }> {
  const target = resolveTarget(options);
  let rootText: string | undefined;
  const extra: Plan['files'][number][] = [];
  if (options.accounts) {
    if (/^https?:\/\//i.test(target.spec)) throw new BackdevError('OPTION_INVALID', '--accounts edits the spec, so the spec must be a local file');
    const relSpec = path.relative(target.root, target.spec);
    if (relSpec.startsWith('..') || path.isAbsolute(relSpec)) {
      throw new BackdevError('OPTION_INVALID', `--accounts edits the spec, which must be inside the project ${target.root}`);
    }
    const edit = addAccounts(await readSpecText(target.spec), target.spec);
    rootText = edit.text;
    if (edit.changed) {
      extra.push({ path: relSpec.split(path.sep).join('/'), ownership: 'user-edit', content: edit.text });
    }
  }
  const spec = await loadSpec(target.spec, rootText === undefined ? {} : { rootText });
  const api = buildApi(spec);
  const files = projectFiles(target.root);
  const apiPlan = await planCreateApi(spec, api, files, { dirs: target.dirs, templates: target.templates });
  // Local accounts stay on once added: a later run without --accounts (a --check in CI) plans the same files.
  const accounts = options.accounts || (files.read('src/auth.ts')?.includes('createAccounts(') ?? false);
  const authPlan = await planAddAuth(api, files, { dirs: target.dirs, schemes: options.schemes, accounts, templates: target.templates }, accounts ? ACCOUNTS_SCHEME : undefined);
  const plans: Plan[] = [{ ...apiPlan, files: [...apiPlan.files, ...extra] }, authPlan];
  const mode = options.check ? 'check' : options.dryRun ? 'dry-run' : 'write';
  const report = applyPlan(plans, { root: target.root, force: options.force, dryRun: options.dryRun, check: options.check });
  if (extra.length > 0) {
    output.out(`add-auth: ${mode === 'write' ? 'added' : 'would add'} /auth/register, /auth/login, /auth/refresh, /auth/logout to ${extra[0]!.path}`);
  }
  printWarnings(report.warnings, output, options.verbose);
  if (mode === 'dry-run' && report.diff) output.out(report.diff.trimEnd());
  printSummary(`${GENERATOR} (+${CREATE_API})`, report, output, mode);
  if (mode === 'write') {
    const migrations = report.created.filter((f) => f.startsWith(`${target.dirs.db}/migrations/`));
    output.out(
      migrations.length > 0
        ? `add-auth: set the AUTH_* variables of .env.example, then \`npm run db:migrate\` for the new tables (${migrations.join(', ')})`
        : 'add-auth: set the AUTH_* variables of .env.example',
    );
  }
  if (mode === 'check' && report.changed) {
    output.err('add-auth --check: the auth wiring is out of date; run `backdev add-auth` (with the options you used) and commit the result');
    return { report, exitCode: 1 };
  }
  return { report, exitCode: 0 };
}
