/**
 * add-auth: IR (security schemes and requirements) → view (view-model.ts) → FilePlan[] through the
 * templates, which print spec text only through the escaping helpers: the enforcement wiring
 * (`src/generated/auth.gen.ts`, generated), the verifiers configured from the environment (`src/auth.ts`,
 * yours), `.env.example`, the tables the schemes need (append-only migrations), and the call in
 * `buildApp` that installs it all before the routes.
 */
import { readFileSync } from 'node:fs';
import type { OutputDirs } from '../core/config.js';
import type { ApiIR } from '../core/ir/types.js';
import type { FilePlan, Plan, ProjectFiles } from '../core/plan/types.js';
import { nextMigrationNumber, userFile } from '../core/plan/user-file.js';
import { formatTypeScript, tidy } from '../core/render/format.js';
import { loadTemplates } from '../core/render/templates.js';
import { insertBeforeCall } from '../core/ts/merge.js';
import { buildAuthView, LOGIN_ATTEMPTS_PER_MINUTE } from './view-model.js';

export const GENERATOR = 'add-auth';
const APP_FILE = 'src/app.ts';
const AUTH_FILE = 'src/auth.ts';
const DB_MODULE = 'src/db.ts';
export { LOGIN_ATTEMPTS_PER_MINUTE };
const RATE_LIMIT_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }
).dependencies['@fastify/rate-limit']!;

export interface AddAuthOptions {
  dirs: OutputDirs;
  /** Only these schemes (default: every declared one). */
  schemes?: readonly string[] | undefined;
  /** The local-accounts endpoints are in the spec (`--accounts`). */
  accounts: boolean;
  templates?: string | undefined;
}

export async function planAddAuth(api: ApiIR, files: ProjectFiles, options: AddAuthOptions, accountsScheme: string | undefined): Promise<Plan> {
  const { view, warnings } = buildAuthView(api, { schemes: options.schemes, accounts: options.accounts, accountsScheme });
  const templates = loadTemplates(GENERATOR, options.templates);
  const out: FilePlan[] = [];
  out.push({ path: `${options.dirs.generated}/auth.gen.ts`, ownership: 'generated', content: tidy(templates.render('auth.gen.ts.hbs', view)) });
  out.push(await userFile(files, AUTH_FILE, () => formatTypeScript(templates.render('auth.ts.hbs', view), AUTH_FILE)));
  if (view.usesDb) out.push(await userFile(files, DB_MODULE, () => formatTypeScript(templates.render('db.ts.hbs', view), DB_MODULE)));
  const env = files.read('.env.example');
  const envText = templates.render('env.example.hbs', view);
  out.push({ path: '.env.example', ownership: env === undefined ? 'scaffold' : 'user-edit', content: mergeEnv(env, envText) });

  // Tables, once: a migration per table the schemes need, numbered after the existing ones.
  const migrationsDir = `${options.dirs.db}/migrations`;
  const existing = files.list(migrationsDir);
  let number = nextMigrationNumber(existing);
  // Each migration is self-contained (no import of the runtime), so what it does never changes later.
  const tables = [...(view.apiKeys ? ['auth_api_keys'] : []), ...(view.basic || view.accounts ? ['auth_users'] : []), ...(view.accounts ? ['auth_refresh_tokens'] : [])];
  for (const name of tables) {
    if (existing.some((f) => f.endsWith(`_${name}.ts`))) continue;
    const path = `${migrationsDir}/${String(number++).padStart(4, '0')}_${name}.ts`;
    out.push({ path, ownership: 'append-only', content: templates.render(`migrations/${name}.ts.hbs`, view) });
  }

  const readme = files.read('README.md');
  if (readme !== undefined && !readme.includes('## Authentication')) {
    out.push({ path: 'README.md', ownership: 'user-edit', content: `${readme.replace(/\n*$/, '\n')}${templates.render('readme-section.md.hbs', view)}` });
  }
  // The generated wiring imports @fastify/rate-limit: a project made before it was a default gets it added.
  const pkgText = files.read('package.json');
  if (pkgText !== undefined && view.rateLimits.length > 0) {
    const pkg = JSON.parse(pkgText) as { dependencies?: Record<string, string> };
    if (!pkg.dependencies?.['@fastify/rate-limit']) {
      pkg.dependencies = { ...pkg.dependencies, '@fastify/rate-limit': RATE_LIMIT_VERSION };
      out.push({ path: 'package.json', ownership: 'user-edit', content: JSON.stringify(pkg, null, 2) + '\n' });
      warnings.push({ code: 'DEPENDENCY_ADDED', subject: 'package.json', message: 'added @fastify/rate-limit (login rate limiting): run npm install' });
    }
  }
  const app = files.read(APP_FILE);
  if (app !== undefined) {
    const merged = wireApp(app, view.usesDb);
    if (merged) out.push({ path: APP_FILE, ownership: 'scaffold', content: merged });
    else {
      warnings.push({
        code: 'APP_NOT_WIRED',
        subject: APP_FILE,
        message: 'could not find `registerRoutes(…)` in buildApp(); call `await registerAuth(app, createVerifiers())` before it yourself',
      });
    }
  }
  return { generator: GENERATOR, files: out, warnings };
}

/** Adds `registerAuth(…)` before `registerRoutes(…)` in buildApp (and the database shutdown hook). */
function wireApp(app: string, usesDb: boolean): string | undefined {
  let text = app;
  if (!/\bregisterAuth\(/.test(text)) {
    const optional = /\bauth\?:\s*boolean/.test(text);
    const call = optional ? 'if (options.auth !== false) await registerAuth(app, createVerifiers());' : 'await registerAuth(app, createVerifiers());';
    const merged = insertBeforeCall(text, 'buildApp', 'registerRoutes', call, [
      { from: './generated/auth.gen.js', name: 'registerAuth' },
      { from: './auth.js', name: 'createVerifiers' },
    ]);
    if (!merged) return undefined;
    text = merged;
  }
  if (usesDb && !/\bdb\.destroy\(\)/.test(text)) {
    const merged = insertBeforeCall(text, 'buildApp', 'registerRoutes', "app.addHook('onClose', async () => {\n  await db.destroy();\n});", [{ from: './db.js', name: 'db' }]);
    if (merged) text = merged;
  }
  return text;
}

/** `.env.example` gains the lines it lacks (by variable name or exact comment). */
function mergeEnv(existing: string | undefined, wanted: string): string {
  if (existing === undefined) return wanted;
  const have = new Set(existing.split('\n').map((l) => (/^([A-Z0-9_]+)=/.exec(l)?.[1] ?? l).trim()));
  const missing = wanted.split('\n').filter((l) => l.trim() !== '' && !have.has((/^([A-Z0-9_]+)=/.exec(l)?.[1] ?? l).trim()));
  if (missing.length === 0) return existing;
  return `${existing.replace(/\n*$/, '\n')}\n${missing.join('\n')}\n`;
}

