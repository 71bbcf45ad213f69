/**
 * add-health: the recorded upstreams merged with this run's (view-model.ts) → the generated upstream settings
 * (`upstreams.gen.json`, read back by the next run, and `upstreams.gen.ts`), the `/health/live` and
 * `/health/ready` routes (`health.gen.ts`), the upstream clients (`src/upstreams.ts`, yours, written once), the
 * typed client of each upstream with a spec (`upstreams/<name>.gen.ts` over openapi-typescript's
 * `upstreams/<name>.openapi.gen.ts`), the URL variables in `.env.example`, and the call in `buildApp` that
 * registers it all before the routes. Also the readiness module alone, for other generators' runs that give
 * the project its database (`planReadinessFollowUp`).
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
import { openapiTypesFile } from '../core/render/openapi-types.js';
import { loadTemplates } from '../core/render/templates.js';
import { probeProblem, unknownOptional, upstreamProblems, type UpstreamArgument, type UpstreamSpecArgument } from './options.js';
import { buildHealthView, clientStem, mergeUpstreams, type UpstreamRecord, type UpstreamSpecInput } from './view-model.js';
import { DB_FILE, GENERATOR } from './follow-ups.js';

export { GENERATOR, hasHealth, plannedDatabase } from './follow-ups.js';

const CLIENTS_FILE = 'src/upstreams.ts';
const ENV_FILE = '.env.example';

export interface PlanHealthOptions {
  dirs: OutputDirs;
  upstreams: readonly UpstreamArgument[];
  probe?: string | undefined;
  optional?: readonly string[] | undefined;
  /** `--upstream-spec` values, their specs already made project-relative (or URLs). */
  upstreamSpecs?: readonly UpstreamSpecArgument[] | undefined;
  /** The loaded spec of every upstream that has one (given now or recorded), by name. */
  specs?: ReadonlyMap<string, UpstreamSpecInput> | undefined;
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
      (u.probe === undefined || (typeof u.probe === 'string' && probeProblem(u.probe) === undefined)) &&
      (u.spec === undefined || (typeof u.spec === 'string' && u.spec !== ''));
    if (!valid) {
      return fail(`upstreams[${i}] is malformed`);
    }
    const ok = u as { name: string; urls: string[]; probe?: string; required?: unknown; spec?: string };
    return { name: ok.name, urls: ok.urls, probe: ok.probe, required: ok.required !== false, ...(ok.spec !== undefined ? { spec: ok.spec } : {}) };
  });
}

/** The module specifier of `target` (a project path) from a file in `fromDir`, with `.js` for NodeNext. */
function moduleFrom(fromDir: string, target: string): string {
  const rel = path.posix.relative(fromDir, target).replace(/\.ts$/, '.js');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** The upstream names of this run's `--optional` and `--upstream-spec` values that name no upstream, as an error. */
export function checkUpstreamNames(files: ProjectFiles, options: Pick<PlanHealthOptions, 'dirs' | 'upstreams' | 'optional' | 'upstreamSpecs'>): void {
  const earlier = recordedUpstreams(files, options.dirs);
  const known = new Set([...earlier.map((u) => u.name), ...options.upstreams.map((u) => u.name)]);
  const knownList = [...known].sort().join(', ') || 'none yet';
  const unknown = unknownOptional(options.optional ?? [], known);
  if (unknown.length > 0) {
    throw new BackdevError('OPTION_INVALID', `--optional ${unknown.map((n) => JSON.stringify(n)).join(', ')}: no such upstream (known: ${knownList})`);
  }
  const unknownSpecs = (options.upstreamSpecs ?? []).filter((s) => !known.has(s.name));
  if (unknownSpecs.length > 0) {
    throw new BackdevError(
      'OPTION_INVALID',
      `--upstream-spec ${unknownSpecs.map((s) => JSON.stringify(s.name)).join(', ')}: no such upstream (known: ${knownList}); give it with --upstream name=url in the same run`,
    );
  }
}

/** Every upstream's spec after this run (recorded ones, with this run's `--upstream-spec` values), by name. */
export function upstreamSpecRefs(files: ProjectFiles, dirs: OutputDirs, given: readonly UpstreamSpecArgument[]): Map<string, string> {
  const refs = new Map<string, string>();
  for (const u of recordedUpstreams(files, dirs)) if (u.spec !== undefined) refs.set(u.name, u.spec);
  for (const g of given) refs.set(g.name, g.spec);
  return refs;
}

export async function planAddHealth(api: ApiIR, files: ProjectFiles, options: PlanHealthOptions): Promise<Plan> {
  checkUpstreamNames(files, options);
  const earlier = recordedUpstreams(files, options.dirs);
  const upstreams = mergeUpstreams(earlier, options.upstreams, options.probe, options.optional ?? [], options.upstreamSpecs ?? []);
  const specs = options.specs ?? new Map<string, UpstreamSpecInput>();
  for (const u of upstreams) {
    if (u.spec !== undefined && !specs.has(u.name)) throw new Error(`bug: the spec of upstream ${u.name} was not loaded`);
  }
  const database = exportsDb(files.read(DB_FILE));
  const view = buildHealthView(api, upstreams, database, moduleFrom(options.dirs.generated, DB_FILE), specs);
  const templates = loadTemplates(GENERATOR, options.templates);
  const warnings: Warning[] = [];
  const record = {
    upstreams: upstreams.map((u) => ({ name: u.name, urls: u.urls, ...(u.probe !== undefined ? { probe: u.probe } : {}), required: u.required, ...(u.spec !== undefined ? { spec: u.spec } : {}) })),
  };
  const out: FilePlan[] = [
    { path: settingsFile(options.dirs), ownership: 'generated', content: JSON.stringify(record, null, 2) + '\n' },
    { path: `${options.dirs.generated}/upstreams.gen.ts`, ownership: 'generated', content: tidy(templates.render('upstreams.gen.ts.hbs', view)) },
    { path: `${options.dirs.generated}/health.gen.ts`, ownership: 'generated', content: tidy(templates.render('health.gen.ts.hbs', view)) },
    await userFile(files, CLIENTS_FILE, () => formatTypeScript(templates.render('upstreams.ts.hbs', view), CLIENTS_FILE)),
  ];
  for (const upstream of view.clients) {
    const spec = specs.get(upstream.name)!;
    const base = `${options.dirs.generated}/upstreams/${clientStem(upstream.name)}`;
    const context = { ...view, upstream };
    out.push(await openapiTypesFile(spec.document, spec.root, files, `${base}.openapi.gen.ts`, templates.render('partials/upstream-header.hbs', context)));
    out.push({ path: `${base}.gen.ts`, ownership: 'generated', content: tidy(templates.render('upstream-client.gen.ts.hbs', context)) });
  }
  const env = files.read(ENV_FILE);
  const merged = mergeEnv(env, templates.render('env.example.hbs', view));
  if (merged !== undefined) out.push({ path: ENV_FILE, ownership: env === undefined ? 'scaffold' : 'user-edit', content: merged });
  for (const [route, on] of [['GET /health/live', view.live], ['GET /health/ready', view.ready]] as const) {
    if (!on) warnings.push({ code: 'HEALTH_ROUTE_IN_SPEC', subject: route, message: `the spec has its own ${route}: its handler answers, and add-health does not register one` });
  }
  // Loaded here, not with the module: create-api loads this module for its follow-ups, and ts-morph is slow to load.
  const { insertBeforeCall } = await import('../core/ts/merge.js');
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

/** Whether a database module's text gives readiness a database to check. */
const exportsDb = (text: string | undefined) => /\bexport\s+const\s+db\b/.test(text ?? '');

/**
 * /health/ready's module as it is once the project has a database, for the run of another generator that
 * writes src/db.ts in a project where add-health has run: readiness then checks the database whichever of the
 * two ran first, and that run's --check agrees with add-health's. A partial plan: add-health's other files
 * are neither rewritten nor treated as stale.
 */
export function planReadinessFollowUp(api: ApiIR, files: ProjectFiles, dbModule: string, options: { dirs: OutputDirs; templates?: string | undefined }): Plan {
  const upstreams = recordedUpstreams(files, options.dirs);
  const view = buildHealthView(api, upstreams, exportsDb(dbModule), moduleFrom(options.dirs.generated, DB_FILE));
  const templates = loadTemplates(GENERATOR, options.templates);
  return {
    generator: GENERATOR,
    partial: true,
    files: [{ path: `${options.dirs.generated}/health.gen.ts`, ownership: 'generated', content: tidy(templates.render('health.gen.ts.hbs', view)) }],
    warnings: [],
  };
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
