/**
 * add-auth: IR (security schemes and requirements) → view (view-model.ts) → FilePlan[] through the
 * templates, which print spec text only through the escaping helpers: the enforcement wiring
 * (`src/generated/auth.gen.ts`, generated), the verifiers configured from the environment (`src/auth.ts`,
 * yours), `.env.example`, the tables the schemes need (append-only migrations), and the call in
 * `buildApp` that installs it all before the routes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { OutputDirs } from '../core/config.js';
import type { ApiIR } from '../core/ir/types.js';
import { planAppWiring } from '../core/plan/app-file.js';
import type { FilePlan, Plan, ProjectFiles } from '../core/plan/types.js';
import { nextMigrationNumber, userFile } from '../core/plan/user-file.js';
import { formatTypeScript, tidy } from '../core/render/format.js';
import { loadTemplates } from '../core/render/templates.js';
import { BackdevError } from '../core/errors.js';
import { PACKAGE_ROOT } from '../core/package-root.js';
import { propertyKey } from '../core/render/escape.js';
import { exportedNames, functionText, insertBeforeCall, objectLiteralKeys } from '../core/ts/merge.js';
import { buildAuthView, LOGIN_ATTEMPTS_PER_MINUTE, type AddAuthView } from './view-model.js';

export const GENERATOR = 'add-auth';
const AUTH_FILE = 'src/auth.ts';
const DB_MODULE = 'src/db.ts';
export { LOGIN_ATTEMPTS_PER_MINUTE };
const RATE_LIMIT_VERSION: string = (
  JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
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
  const renderAuth = (v: AddAuthView) => formatTypeScript(templates.render('auth.ts.hbs', v), AUTH_FILE);
  out.push(await planAuthFile(files, renderAuth, view, () => earlierViews(api, options, accountsScheme)));
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
  const wiring = planAppWiring(
    files,
    (app) => wireApp(app, view.usesDb, (name, v) => templates.render(`app/${name}.ts.hbs`, v).trim()),
    'could not find `registerRoutes(…)` in buildApp(); call `await registerAuth(app, createVerifiers())` before it yourself',
  );
  out.push(...wiring.files);
  warnings.push(...wiring.warnings);
  return { generator: GENERATOR, files: out, warnings };
}

/**
 * `src/auth.ts` is yours, written once. A later run that needs more of it (a verifier for a new scheme,
 * the `accounts` export the accounts handlers import) rewrites it when it is still exactly what an earlier
 * run wrote, and otherwise stops, naming the lines to add: it never leaves a project that does not compile.
 */
async function planAuthFile(
  files: ProjectFiles,
  render: (view: AddAuthView) => Promise<string>,
  view: AddAuthView,
  earlier: () => AddAuthView[],
): Promise<FilePlan> {
  const existing = files.read(AUTH_FILE);
  const wanted = await render(view);
  if (existing === undefined || existing === wanted) return { path: AUTH_FILE, ownership: 'scaffold', content: wanted };
  const lacks = authFileLacks(existing, wanted, view);
  if (lacks.length === 0) return { path: AUTH_FILE, ownership: 'scaffold', content: existing };
  for (const v of earlier()) {
    if ((await render(v)) === existing) return { path: AUTH_FILE, ownership: 'scaffold', content: wanted };
  }
  throw new BackdevError(
    'USER_FILE_OUTDATED',
    `this file of yours was edited since backdev wrote it and lacks what the new auth wiring needs; nothing was written. Add the lines below (or delete ${AUTH_FILE} to have it written afresh), then run add-auth again`,
    { details: lacks.flatMap((l) => l.split('\n')), location: { file: AUTH_FILE } },
  );
}

/** What `existing` lacks of `wanted`: each item a description followed by the lines to add. */
function authFileLacks(existing: string, wanted: string, view: AddAuthView): string[] {
  const lacks: string[] = [];
  const exported = exportedNames(existing);
  for (const name of ['createVerifiers', ...(view.accounts ? ['accounts'] : [])]) {
    if (exported.has(name)) continue;
    lacks.push(`- export function ${name}() (${name === 'accounts' ? 'the accounts handlers import it' : 'buildApp calls it'}), e.g.:\n${functionText(wanted, name) ?? ''}`);
  }
  if (view.accounts && !/\bcreateAccounts\(/.test(existing)) {
    lacks.push(
      "- the local accounts, created once in setup() after `config`, and returned with the verifiers (`accounts` in the object setup() keeps, `accounts: Accounts` in its type):\n" +
        (/^ *const key = config\.jwt!\.key;[\s\S]*?\n *\}\);$/m.exec(wanted)?.[0] ?? ''),
    );
  }
  // The imports those lines need.
  const runtimeImport = /^import \{[^}]*\} from 'backdev\/runtime\/auth';$/m.exec(wanted)?.[0];
  const needed = [...(runtimeImport?.matchAll(/\b(?:type\s+)?([A-Za-z_$][\w$]*)\s*,/g) ?? [])].map((m) => m[1]!).filter((n) => n !== 'type');
  const importLines = [
    ...(needed.some((n) => !new RegExp(`\\b${n}\\b`).test(existing)) && runtimeImport ? [runtimeImport] : []),
    ...(view.usesDb && !/from '\.\/db\.js'/.test(existing) ? ["import { db } from './db.js';"] : []),
  ];
  if (lacks.length > 0 && importLines.length > 0) lacks.push(`- the imports:\n${importLines.join('\n')}`);
  const keys = objectLiteralKeys(existing, 'verifiers');
  if (keys) {
    const wantedLines = wanted.split('\n');
    for (const s of view.schemes) {
      if (keys.has(s.name)) continue;
      const line = wantedLines.find((l) => new RegExp(`^\\s*${escapeRegExp(propertyKey(s.name))}: `).test(l));
      lacks.push(`- a verifier for security scheme ${JSON.stringify(s.name)} in \`verifiers\`:\n${line?.trim() ?? ''}`);
    }
    for (const k of keys) {
      if (!view.schemes.some((s) => s.name === k)) lacks.push(`- remove verifiers.${k}: the spec (or --scheme) no longer has that security scheme`);
    }
  }
  return lacks;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The views earlier add-auth runs may have rendered src/auth.ts from (before --accounts, other --scheme). */
function earlierViews(api: ApiIR, options: AddAuthOptions, accountsScheme: string | undefined): AddAuthView[] {
  const declared = api.securitySchemes.map((s) => s.name);
  const selections = [options.schemes, undefined, declared.filter((n) => n !== accountsScheme)];
  const views: AddAuthView[] = [];
  for (const schemes of selections) {
    if (schemes !== undefined && schemes.length === 0) continue;
    for (const accounts of [false, true]) {
      try {
        views.push(buildAuthView(api, { schemes, accounts, accountsScheme: accounts ? accountsScheme : undefined }).view);
      } catch {
        /* not a configuration an earlier run could have had */
      }
    }
  }
  return views;
}

/**
 * Adds `registerAuth(…)` before `registerRoutes(…)` in buildApp (and the database shutdown hook); the lines
 * come from the templates under `app/`.
 */
function wireApp(app: string, usesDb: boolean, render: (name: string, view: object) => string): string | undefined {
  let text = app;
  if (!/\bregisterAuth\(/.test(text)) {
    // A buildApp that takes `auth?: boolean` (tests build the app without auth) keeps that switch.
    const call = render('register-auth', { optional: /\bauth\?:\s*boolean/.test(text) });
    const merged = insertBeforeCall(text, 'buildApp', 'registerRoutes', call, [
      { from: './generated/auth.gen.js', name: 'registerAuth' },
      { from: './auth.js', name: 'createVerifiers' },
    ]);
    if (!merged) return undefined;
    text = merged;
  }
  if (usesDb && !/\bdb\.destroy\(\)/.test(text)) {
    const merged = insertBeforeCall(text, 'buildApp', 'registerRoutes', render('close-db', {}), [{ from: './db.js', name: 'db' }]);
    if (merged) text = merged;
  }
  return text;
}

/**
 * `.env.example` gains the variables it lacks, each with the comment lines just above it in the template
 * (those it does not have yet); comment lines standing alone are added when missing.
 */
function mergeEnv(existing: string | undefined, wanted: string): string {
  if (existing === undefined) return wanted;
  const variable = (l: string) => /^([A-Z0-9_]+)=/.exec(l)?.[1];
  const lines = existing.split('\n');
  const haveVars = new Set(lines.map(variable).filter((v) => v !== undefined));
  const haveLines = new Set(lines.map((l) => l.trim()));
  const missing: string[] = [];
  let comments: string[] = [];
  for (const line of wanted.split('\n')) {
    if (line.trim() === '') continue;
    const name = variable(line);
    if (name === undefined) {
      comments.push(line);
      continue;
    }
    if (!haveVars.has(name)) {
      missing.push(...comments.filter((c) => !haveLines.has(c.trim())), line);
      for (const c of comments) haveLines.add(c.trim());
      haveVars.add(name);
    }
    comments = [];
  }
  missing.push(...comments.filter((c) => !haveLines.has(c.trim())));
  if (missing.length === 0) return existing;
  return `${existing.replace(/\n*$/, '\n')}\n${missing.join('\n')}\n`;
}
