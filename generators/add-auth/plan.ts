/**
 * add-auth: IR (security schemes and requirements) + the user's files → FilePlan[]: the enforcement wiring
 * (`src/generated/auth.gen.ts`, generated), the verifiers configured from the environment (`src/auth.ts`,
 * yours), `.env.example`, the tables the schemes need (append-only migrations), and the call in
 * `buildApp` that installs it all before the routes.
 */
import { readFileSync } from 'node:fs';
import type { OutputDirs } from '../core/config.js';
import { BackdevError, type Warning } from '../core/errors.js';
import type { ApiIR, SecurityRequirement, SecuritySchemeIR } from '../core/ir/types.js';
import type { FilePlan, Plan, ProjectFiles } from '../core/plan/types.js';
import { nextMigrationNumber, userFile } from '../core/plan/user-file.js';
import { formatTypeScript, tidy } from '../core/render/format.js';
import { loadTemplates } from '../core/render/templates.js';
import { insertBeforeCall } from '../core/ts/merge.js';

export const GENERATOR = 'add-auth';
const APP_FILE = 'src/app.ts';
const AUTH_FILE = 'src/auth.ts';
const DB_MODULE = 'src/db.ts';
/** Login attempts per minute per client. */
export const LOGIN_ATTEMPTS_PER_MINUTE = 5;
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

interface SchemeView {
  name: string;
  definition: Record<string, unknown>;
  /** Code building its verifier in src/auth.ts (fixed vocabulary; names go through stringLiteral). */
  verifier: string;
}

function definitionOf(s: SecuritySchemeIR): Record<string, unknown> {
  switch (s.type) {
    case 'apiKey':
      return { type: 'apiKey', in: s.in, name: s.paramName };
    case 'oauth2':
      return { type: 'oauth2', scopes: [...s.scopes] };
    case 'openIdConnect':
      return { type: 'openIdConnect', url: s.url };
    case 'http-bearer':
      return { type: 'http', scheme: 'bearer', ...(s.bearerFormat ? { bearerFormat: s.bearerFormat } : {}) };
    case 'http-basic':
      return { type: 'http', scheme: 'basic' };
  }
}

export async function planAddAuth(api: ApiIR, files: ProjectFiles, options: AddAuthOptions, accountsScheme: string | undefined): Promise<Plan> {
  const warnings: Warning[] = [];
  const declared = api.securitySchemes;
  if (declared.length === 0) {
    throw new BackdevError('OPTION_INVALID', 'the spec declares no components.securitySchemes: add one (or run add-auth --accounts for local accounts)');
  }
  const chosen = options.schemes?.length ? declared.filter((s) => options.schemes!.includes(s.name)) : declared;
  for (const name of options.schemes ?? []) {
    if (!declared.some((s) => s.name === name)) {
      throw new BackdevError('OPTION_INVALID', `--scheme ${name}: not a security scheme of the spec (declared: ${declared.map((s) => s.name).join(', ')})`);
    }
  }
  const str = (v: string) => JSON.stringify(v).replace(/"/g, "'");
  const schemes: SchemeView[] = chosen.map((s) => {
    let verifier: string;
    if (s.type === 'apiKey') verifier = `apiKeyScheme(apiKeys, { in: ${str(s.in)}, name: ${str(s.paramName)} })`;
    else if (s.type === 'http-basic') verifier = 'basic';
    else if (s.name === accountsScheme) verifier = 'bearerScheme(accounts.verifier)';
    else verifier = `bearerScheme(jwt${s.type === 'http-bearer' ? '' : `, { kind: ${str(s.type)} }`})`;
    return { name: s.name, definition: definitionOf(s), verifier };
  });
  const chosenNames = new Set(chosen.map((s) => s.name));
  const routes: { key: string; security: readonly SecurityRequirement[] }[] = [];
  const unknown = new Set<string>();
  const noteUnknown = (list: readonly SecurityRequirement[] | undefined) => {
    for (const r of list ?? []) for (const name of Object.keys(r)) if (!chosenNames.has(name)) unknown.add(name);
  };
  noteUnknown(api.defaultSecurity);
  for (const op of api.operations) {
    if (op.security === undefined) continue;
    routes.push({ key: `${op.method.toUpperCase()} ${op.url}`, security: op.security });
    noteUnknown(op.security);
  }
  if (unknown.size > 0) {
    warnings.push({
      code: 'SECURITY_SCHEME_SKIPPED',
      subject: 'add-auth',
      message: `requirements name ${[...unknown].sort().join(', ')}, which ${unknown.size === 1 ? 'is' : 'are'} not configured here: alternatives needing ${unknown.size === 1 ? 'it' : 'them'} never pass`,
    });
  }
  const types = new Set(chosen.map((s) => s.type));
  const usesJwt = chosen.some((s) => (s.type === 'http-bearer' || s.type === 'oauth2' || s.type === 'openIdConnect') && s.name !== accountsScheme);
  const apiKeys = types.has('apiKey');
  const basic = types.has('http-basic');
  const accounts = options.accounts;
  const features = [...(usesJwt || accounts ? ['jwt'] : []), ...(apiKeys ? ['apiKey'] : []), ...(basic ? ['basic'] : [])];
  const runtimeImports = [
    'authConfigFromEnv',
    ...(apiKeys ? ['apiKeyScheme', 'createApiKeyStore'] : []),
    ...(usesJwt || accounts ? ['bearerScheme'] : []),
    ...(usesJwt ? ['createJwtVerifier'] : []),
    ...(basic ? ['createBasicVerifier', 'normalizeEmail'] : []),
    ...(accounts ? ['createAccounts'] : []),
  ];
  const login = api.operations.find((o) => o.operationId === 'loginAccount');
  const view = {
    api: { title: api.title, version: api.version },
    schemes,
    defaultSecurity: api.defaultSecurity,
    routes,
    unknownSchemes: [...unknown].sort(),
    rateLimits: accounts && login ? [{ key: `POST ${login.url}`, max: LOGIN_ATTEMPTS_PER_MINUTE }] : [],
    features,
    runtimeImports,
    usesJwt,
    usesDb: apiKeys || basic || accounts,
    apiKeys,
    basic,
    accounts,
  };

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
  const tables = [...(apiKeys ? ['auth_api_keys'] : []), ...(basic || accounts ? ['auth_users'] : []), ...(accounts ? ['auth_refresh_tokens'] : [])];
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

