/**
 * add-realtime: IR → view (view-model.ts) → the generated wiring (`realtime.gen.ts`, `asyncapi.gen.ts`), the
 * hub (`src/realtime.ts`, yours, written once), and the call in `buildApp` that registers it before the routes.
 */
import type { OutputDirs } from '../core/config.js';
import type { Warning } from '../core/errors.js';
import type { ApiIR } from '../core/ir/types.js';
import type { Obj } from '../core/json.js';
import { PACKAGE_ROOT } from '../core/package-root.js';
import { planAppWiring } from '../core/plan/app-file.js';
import type { FilePlan, Plan, ProjectFiles } from '../core/plan/types.js';
import { userFile } from '../core/plan/user-file.js';
import { formatTypeScript, tidy } from '../core/render/format.js';
import { loadTemplates } from '../core/render/templates.js';
import { insertBeforeCall } from '../core/ts/merge.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildRealtimeView } from './view-model.js';

export const GENERATOR = 'add-realtime';
const HUB_FILE = 'src/realtime.ts';
/** The library the hub serves WebSockets with; the project depends on it directly (like fastify). */
const WEBSOCKET_PACKAGE = '@fastify/websocket';

export interface PlanRealtimeOptions {
  dirs: OutputDirs;
  path: string;
  templates?: string | undefined;
}

function toolkitVersion(name: string): string {
  const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  const version = pkg.dependencies?.[name] ?? pkg.peerDependencies?.[name] ?? pkg.devDependencies?.[name];
  if (!version) throw new Error(`bug: backdev's package.json has no version for ${name}`);
  return version;
}

export async function planAddRealtime(api: ApiIR, schemas: Obj, files: ProjectFiles, options: PlanRealtimeOptions): Promise<Plan> {
  // Events must not reach clients the API itself would refuse: with add-auth, the hub asks for the same credentials.
  const auth = /\bexport function createVerifiers\b/.test(files.read('src/auth.ts') ?? '');
  const view = buildRealtimeView(api, options.path, schemas, auth);
  const templates = loadTemplates(GENERATOR, options.templates);
  const warnings: Warning[] = [];
  const out: FilePlan[] = [
    { path: `${options.dirs.generated}/realtime.gen.ts`, ownership: 'generated', content: tidy(templates.render('realtime.gen.ts.hbs', view)) },
    { path: `${options.dirs.generated}/asyncapi.gen.ts`, ownership: 'generated', content: tidy(templates.render('asyncapi.gen.ts.hbs', view)) },
    await userFile(files, HUB_FILE, () => formatTypeScript(templates.render('realtime.ts.hbs', view), HUB_FILE)),
  ];
  if (view.events.length === 0) {
    warnings.push({
      code: 'NO_REALTIME_EVENTS',
      subject: 'spec',
      message: 'no create, update or delete operation of a resource (x-backdev-crud): the hub is wired, but nothing publishes yet; add one with `backdev create-api --endpoint`',
    });
  }
  const pkgText = files.read('package.json');
  if (pkgText !== undefined) {
    const pkg = JSON.parse(pkgText) as { dependencies?: Record<string, string> };
    if (!pkg.dependencies?.[WEBSOCKET_PACKAGE]) {
      pkg.dependencies = Object.fromEntries(Object.entries({ ...pkg.dependencies, [WEBSOCKET_PACKAGE]: toolkitVersion(WEBSOCKET_PACKAGE) }).sort(([a], [b]) => (a < b ? -1 : 1)));
      out.push({ path: 'package.json', ownership: 'user-edit', content: JSON.stringify(pkg, null, 2) + '\n' });
      warnings.push({ code: 'DEPENDENCY_ADDED', subject: 'package.json', message: `added ${WEBSOCKET_PACKAGE} (the WebSocket server): run npm install` });
    }
  }
  const wiring = planAppWiring(
    files,
    (app) =>
      /\bregisterRealtime\(/.test(app)
        ? app
        : insertBeforeCall(app, 'buildApp', 'registerRoutes', templates.render('app/register-realtime.ts.hbs', view).trim(), [
            { from: './generated/realtime.gen.js', name: 'registerRealtime' },
            { from: './realtime.js', name: 'createHub' },
          ]),
    'could not find `registerRoutes(…)` in buildApp(); call `await registerRealtime(app, createHub({ auth: options.auth !== false }))` before it yourself',
  );
  out.push(...wiring.files);
  warnings.push(...wiring.warnings);
  return { generator: GENERATOR, files: out, warnings };
}
