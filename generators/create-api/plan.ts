/**
 * create-api: IR (+ the current text of the user's handler and test files) → FilePlan[]. Pure apart from
 * reading templates; never writes.
 */
import type { OutputDirs } from '../core/config.js';
import type { Warning } from '../core/errors.js';
import type { ApiIR } from '../core/ir/types.js';
import { formatTypeScript, tidy } from '../core/render/format.js';
import { openapiTypesFile, startTypes } from '../core/render/openapi-types.js';
import { loadTemplates, type TemplateSet } from '../core/render/templates.js';
import type { FilePlan, Plan, ProjectFiles } from '../core/plan/types.js';
import { userFile } from '../core/plan/user-file.js';
import type { LoadedSpec } from '../core/spec/load.js';
import type { NamedImport } from '../core/ts/merge.js';
import { GENERATOR } from './name.js';
import { StubFormatter } from './stub-format.js';
import { buildView, type CreateApiView, type GroupView, type OperationView } from './view-model.js';

export { GENERATOR };

type TsMerge = typeof import('../core/ts/merge.js');
/** ts-morph (a TypeScript compiler of its own) loads only when a run merges into a file the user already has. */
const merging = (): Promise<TsMerge> => import('../core/ts/merge.js');

export interface PlanOptions {
  dirs: OutputDirs;
  /** User template directory overriding bundled templates. */
  templates?: string | undefined;
}

/** Generated files rendered from templates (template name → output file name in the generated folder). */
const GENERATED_TEMPLATES = ['http', 'handlers', 'schemas', 'routes', 'testing', 'docs'] as const;

export async function planCreateApi(spec: LoadedSpec, api: ApiIR, files: ProjectFiles, options: PlanOptions): Promise<Plan> {
  const { dirs } = options;
  const templates = loadTemplates(GENERATOR, options.templates);
  // Test requests are derived (and checked with Ajv) only for operations whose test case is written now.
  const needTests = new Set<string>();
  for (const group of api.groups) {
    const existing = files.read(`${dirs.tests}/${group.fileStem}.test.ts`);
    const present = existing === undefined ? new Set<string>() : (await merging()).suiteTitles(existing);
    for (const id of group.operationIds) if (!present.has(id)) needTests.add(id);
  }
  const warnings: Warning[] = [...api.warnings];
  // openapi-typescript runs (in a worker thread) while the view and the other files are made here.
  const typesPath = `${dirs.generated}/openapi.gen.ts`;
  const types = startTypes(spec.document, spec.root, files, typesPath);
  // Made in this thread (no worker), the types come first: see `TypesJob.inThread`.
  if (types.inThread) await types.types?.catch(() => {});
  const view = buildView(api, dirs, needTests, warnings);
  const typesFile = openapiTypesFile(spec.document, spec.root, files, typesPath, templates.render('partials/header.hbs', view), types);
  typesFile.catch(() => {}); // awaited below, after the other files
  const out: FilePlan[] = [];

  out.push({ path: `${dirs.generated}/openapi.gen.json`, ownership: 'generated', content: JSON.stringify(spec.document, null, 2) + '\n' });
  for (const name of GENERATED_TEMPLATES) {
    const file = `${dirs.generated}/${name}.gen.ts`;
    const text = templates.render(`${name}.gen.ts.hbs`, view);
    // Generated files are laid out by their templates (prettier over megabytes of them costs seconds on
    // large specs); user-owned files below are formatted, since people read and edit those.
    out.push({ path: file, ownership: 'generated', content: tidy(text) });
  }

  const stubs = new StubFormatter();
  for (const group of view.groups) {
    out.push(await handlerFile(group, view, files, templates, dirs, warnings, stubs));
    out.push(await testFile(group, view, files, templates, dirs, warnings));
    if (group.crudTest) {
      const path = `${dirs.tests}/${group.fileStem}.db.test.ts`;
      out.push(await userFile(files, path, () => formatTypeScript(templates.render('db-test-file.ts.hbs', { ...view, group }), path)));
    }
  }
  if (view.errorMappers.length > 0) out.push(await errorsFile(view, files, templates));
  return { generator: GENERATOR, files: [await typesFile, ...out], warnings };
}

/** The user's error mappers: written whole when missing, else only mappers of new schemas are appended. */
export const ERRORS_FILE = 'src/errors.ts';

async function errorsFile(view: CreateApiView, files: ProjectFiles, templates: TemplateSet): Promise<FilePlan> {
  const path = ERRORS_FILE;
  const existing = files.read(path);
  if (existing === undefined) {
    return { path, ownership: 'scaffold', content: await formatTypeScript(templates.render('errors-file.ts.hbs', view), path) };
  }
  const { appendToModule, exportedNames } = await merging();
  const present = exportedNames(existing);
  const missing = view.errorMappers.filter((m) => !present.has(m.name));
  const sections = await Promise.all(
    missing.map(async (m) => (await formatTypeScript(templates.render('partials/error-mapper.hbs', { ...view, ...m }), path)).trimEnd()),
  );
  const imports: NamedImport[] = missing.length === 0 ? [] : [{ from: view.imports.httpFromErrors, name: 'ProblemDetails', typeOnly: true }];
  if (missing.some((m) => m.schemaName !== undefined)) imports.push({ from: view.imports.openapiFromErrors, name: 'components', typeOnly: true });
  return { path, ownership: 'scaffold', content: appendToModule(existing, sections, imports) };
}

/**
 * A file the user owns, one per group: written whole when missing; otherwise only the sections (handler
 * stubs, test suites) of operations it lacks are appended, and sections whose operation is gone are
 * reported, never removed.
 */
interface UserModule {
  path: string;
  whole: () => Promise<string>;
  /** Names of the sections the file has now (exports, suite titles). */
  present: (ts: TsMerge, text: string) => Set<string>;
  section: (op: OperationView) => Promise<string>;
  orphan: (name: string) => Warning | undefined;
  imports?: NamedImport[];
}

async function userModule(group: GroupView, files: ProjectFiles, warnings: Warning[], m: UserModule): Promise<FilePlan> {
  const existing = files.read(m.path);
  if (existing === undefined) return { path: m.path, ownership: 'scaffold', content: await m.whole() };
  const ts = await merging();
  const present = m.present(ts, existing);
  const ids = new Set(group.operations.map((o) => o.id));
  for (const name of [...present].sort()) {
    const warning = ids.has(name) ? undefined : m.orphan(name);
    if (warning) warnings.push(warning);
  }
  const sections = await Promise.all(group.operations.filter((op) => !present.has(op.id)).map(m.section));
  return { path: m.path, ownership: 'scaffold', content: ts.appendToModule(existing, sections, m.imports) };
}

function handlerFile(
  group: GroupView,
  view: CreateApiView,
  files: ProjectFiles,
  templates: TemplateSet,
  dirs: OutputDirs,
  warnings: Warning[],
  stubs: StubFormatter,
) {
  const path = `${dirs.handlers}/${group.fileStem}.ts`;
  const stub = (op: OperationView) => templates.render('partials/handler-stub.hbs', { ...view, ...op });
  return userModule(group, files, warnings, {
    path,
    whole: () =>
      stubs.file(
        templates.render('handler-file.ts.hbs', { ...view, group, operations: group.operations }),
        templates.render('handler-file.ts.hbs', { ...view, group, operations: [] }),
        group.operations.map(stub),
        path,
      ),
    present: (ts, text) => ts.exportedNames(text),
    section: async (op) => (await stubs.stub(stub(op), path)).trimEnd(),
    orphan: (name) =>
      /^[a-z]/.test(name)
        ? {
            code: 'HANDLER_WITHOUT_OPERATION',
            subject: path,
            message: `exports "${name}", which is no longer an operation of tag "${group.tag}": it is left in place, and its type Handlers['${name}'] is gone, so delete it (or retype it) to type-check again`,
          }
        : undefined,
    imports: [
      { from: view.imports.generatedFromHandlers, name: 'notImplemented' },
      ...(group.repositories.length > 0 || group.usesAccounts ? [{ from: view.imports.generatedFromHandlers, name: 'problem' }] : []),
      { from: view.imports.generatedFromHandlers, name: 'Handlers', typeOnly: true },
      ...(group.repositories.length > 0 ? [{ from: view.imports.dbFromHandlers, name: 'db' }] : []),
      ...group.repositories.map((r) => ({ from: r.repositoryImport, name: r.factory })),
      ...(group.usesAccounts
        ? [{ from: 'backdev/runtime/auth', name: 'AccountError' }, { from: view.imports.authFromHandlers, name: 'accounts' }]
        : []),
    ],
  });
}

/**
 * Test files are laid out by their templates (the json helper formats requests): prettier over the
 * request literals of a large spec costs seconds and changes little.
 */
function testFile(group: GroupView, view: CreateApiView, files: ProjectFiles, templates: TemplateSet, dirs: OutputDirs, warnings: Warning[]) {
  const path = `${dirs.tests}/${group.fileStem}.test.ts`;
  return userModule(group, files, warnings, {
    path,
    whole: async () => tidy(templates.render('test-file.ts.hbs', { ...view, group, operations: group.operations })),
    present: (ts, text) => ts.suiteTitles(text),
    section: async (op) => tidy(templates.render('partials/test-case.hbs', { ...view, ...op })).trimEnd(),
    orphan: (title) =>
      /^[A-Za-z_$][\w$]*$/.test(title)
        ? {
            code: 'TEST_WITHOUT_OPERATION',
            subject: path,
            message: `has a suite "${title}", which is no longer an operation of tag "${group.tag}": delete it (it is left in place)`,
          }
        : undefined,
  });
}
