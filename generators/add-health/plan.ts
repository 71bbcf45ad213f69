/**
 * add-health: the recorded upstreams merged with this run's (view-model.ts) → the generated upstream settings
 * (`upstreams.gen.json`, read back by the next run, and `upstreams.gen.ts`), the `/health/live` and
 * `/health/ready` routes (`health.gen.ts`), the upstream clients (`src/upstreams.ts`, yours, written once), the
 * URL variables in `.env.example`, and the call in `buildApp` that registers it all before the routes.
 */
import path from 'node:path';
import type { OutputDirs } from '../core/config.js';
import { BackdevError, type Warning } from '../core/errors.js';
import type { ApiIR } from '../core/ir/types.js';
import { isObject } from '../core/json.js';
import { planAppWiring } from '../core/plan/app-file.js';
import type { FilePlan, Plan, ProjectFiles } from '../core/plan/types.js';
import { userFile } from '../core/plan/user-file.js';
import { formatTypeScript, tidy } from '../core/render/format.js';
import { loadTemplates } from '../core/render/templates.js';
import { insertBeforeCall } from '../core/ts/merge.js';
import { probeProblem, unknownOptional, upstreamProblems, type UpstreamArgument } from './options.js';
import { buildHealthView, mergeUpstreams, type UpstreamRecord } from './view-model.js';

export const GENERATOR = 'add-health';
const CLIENTS_FILE = 'src/upstreams.ts';
const DB_FILE = 'src/db.ts';
const ENV_FILE = '.env.example';

export interface PlanHealthOptions {
  dirs: OutputDirs;
  upstreams: readonly UpstreamArgument[];
  probe?: string | undefined;
  optional?: readonly string[] | undefined;
  templates?: string | undefined;
}

/** The settings file this generator wrote last time (what a new run merges into). */
export const settingsFile = (dirs: OutputDirs) => `${dirs.generated}/upstreams.gen.json`;

/** The upstreams recorded by earlier runs; a file that is not what backdev writes stops the run. */
export function recordedUpstreams(files: ProjectFiles, dirs: OutputDirs): UpstreamRecord[] {
  const file = settingsFile(dirs);
  const text = files.read(file);
  if (text === undefined) return [];
  const fail = (why: string): never => {
    throw new BackdevError('GENERATED_FILE_EDITED', `${file} is not what backdev add-health writes (${why}); restore it from version control, or delete it and pass every --upstream again`, {
      location: { file },
    });
  };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (!isObject(data) || !Array.isArray(data.upstreams)) return fail('no "upstreams" list');
  return data.upstreams.map((u: unknown, i: number) => {
    const valid =
      isObject(u) &&
      typeof u.name === 'string' &&
      Array.isArray(u.urls) &&
      u.urls.every((x) => typeof x === 'string') &&
      upstreamProblems([`${u.name}=${u.urls.join(',')}`]).length === 0 &&
      (u.probe === undefined || (typeof u.probe === 'string' && probeProblem(u.probe) === undefined));
    if (!valid) {
      return fail(`upstreams[${i}] is malformed`);
    }
    const ok = u as { name: string; urls: string[]; probe?: string; required?: unknown };
    return { name: ok.name, urls: ok.urls, probe: ok.probe, required: ok.required !== false };
  });
}

/** The module specifier of `target` (a project path) from a file in `fromDir`, with `.js` for NodeNext. */
function moduleFrom(fromDir: string, target: string): string {
  const rel = path.posix.relative(fromDir, target).replace(/\.ts$/, '.js');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

export async function planAddHealth(api: ApiIR, files: ProjectFiles, options: PlanHealthOptions): Promise<Plan> {
  const earlier = recordedUpstreams(files, options.dirs);
  const optional = options.optional ?? [];
  const known = new Set([...earlier.map((u) => u.name), ...options.upstreams.map((u) => u.name)]);
  const unknown = unknownOptional(optional, known);
  if (unknown.length > 0) {
    throw new BackdevError('OPTION_INVALID', `--optional ${unknown.map((n) => JSON.stringify(n)).join(', ')}: no such upstream (known: ${[...known].sort().join(', ') || 'none yet'})`);
  }
  const upstreams = mergeUpstreams(earlier, options.upstreams, options.probe, optional);
  const database = /\bexport\s+const\s+db\b/.test(files.read(DB_FILE) ?? '');
  const view = buildHealthView(api, upstreams, database, moduleFrom(options.dirs.generated, DB_FILE));
  const templates = loadTemplates(GENERATOR, options.templates);
  const warnings: Warning[] = [];
  const record = { upstreams: upstreams.map((u) => ({ name: u.name, urls: u.urls, ...(u.probe !== undefined ? { probe: u.probe } : {}), required: u.required })) };
  const out: FilePlan[] = [
    { path: settingsFile(options.dirs), ownership: 'generated', content: JSON.stringify(record, null, 2) + '\n' },
    { path: `${options.dirs.generated}/upstreams.gen.ts`, ownership: 'generated', content: tidy(templates.render('upstreams.gen.ts.hbs', view)) },
    { path: `${options.dirs.generated}/health.gen.ts`, ownership: 'generated', content: tidy(templates.render('health.gen.ts.hbs', view)) },
    await userFile(files, CLIENTS_FILE, () => formatTypeScript(templates.render('upstreams.ts.hbs', view), CLIENTS_FILE)),
  ];
  const env = files.read(ENV_FILE);
  const merged = mergeEnv(env, templates.render('env.example.hbs', view));
  if (merged !== undefined) out.push({ path: ENV_FILE, ownership: env === undefined ? 'scaffold' : 'user-edit', content: merged });
  for (const [route, on] of [['GET /health/live', view.live], ['GET /health/ready', view.ready]] as const) {
    if (!on) warnings.push({ code: 'HEALTH_ROUTE_IN_SPEC', subject: route, message: `the spec has its own ${route}: its handler answers, and add-health does not register one` });
  }
  const wiring = planAppWiring(
    files,
    (app) =>
      /\bregisterHealth\(/.test(app)
        ? app
        : insertBeforeCall(app, 'buildApp', 'registerRoutes', templates.render('app/register-health.ts.hbs', view).trim(), [
            { from: moduleFrom('src', `${options.dirs.generated}/health.gen.ts`), name: 'registerHealth' },
            { from: './upstreams.js', name: 'createUpstreamClients' },
          ]),
    'could not find `registerRoutes(…)` in buildApp(); call `await registerHealth(app, createUpstreamClients())` before it yourself',
  );
  out.push(...wiring.files);
  warnings.push(...wiring.warnings);
  return { generator: GENERATOR, files: out, warnings };
}

/**
 * `.env.example` gains the variables it lacks, each with the comment lines just above it in `wanted`;
 * undefined when there is nothing to write (no upstreams and no file).
 */
function mergeEnv(existing: string | undefined, wanted: string): string | undefined {
  const blocks: Array<{ name: string; lines: string[] }> = [];
  let comments: string[] = [];
  for (const line of wanted.split('\n')) {
    if (line.trim() === '') continue;
    const name = /^([A-Z0-9_]+)=/.exec(line)?.[1];
    if (name === undefined) comments.push(line);
    else {
      blocks.push({ name, lines: [...comments, line] });
      comments = [];
    }
  }
  if (existing === undefined) return blocks.length === 0 ? undefined : wanted;
  const have = new Set(existing.split('\n').map((l) => /^#?\s*([A-Z0-9_]+)=/.exec(l)?.[1]).filter((v) => v !== undefined));
  const missing = blocks.filter((b) => !have.has(b.name));
  if (missing.length === 0) return existing;
  return `${existing.replace(/\n*$/, '\n')}\n${missing.map((b) => b.lines.join('\n')).join('\n')}\n`;
}
