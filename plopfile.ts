/**
 * Interactive front: `npx plop <generator>` asks for what `backdev <command>` takes as flags, then runs the
 * same code. Run with NODE_OPTIONS="--import tsx" (the `plop` npm script does this).
 */
import type { NodePlopAPI } from 'plop';
import { isBackdevError } from './generators/core/errors.js';
import { memoryOutput } from './generators/core/report.js';
import { FIELDS_HELP } from './generators/create-api/fields.js';
import { runCreateApi } from './generators/create-api/run.js';
import { runInit } from './generators/init/run.js';

type Answers = Record<string, string | boolean | undefined>;
const optional = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** Runs a backdev command and turns its output into plop's action result (or a failure with the message). */
async function run(task: (out: ReturnType<typeof memoryOutput>) => Promise<unknown>): Promise<string> {
  const out = memoryOutput();
  try {
    await task(out);
  } catch (err) {
    throw new Error(isBackdevError(err) ? err.format() : String((err as Error)?.stack ?? err));
  }
  for (const line of out.stderr) process.stderr.write(line + '\n');
  return out.stdout.join('\n');
}

export default function plopfile(plop: NodePlopAPI): void {
  plop.setGenerator('init', {
    description: 'Create a runnable Fastify project from an OpenAPI spec',
    prompts: [
      { type: 'input', name: 'dir', message: 'Project folder', validate: (v: string) => v.trim() !== '' || 'a folder is required' },
      { type: 'input', name: 'spec', message: 'OpenAPI spec file or URL (empty: the example pet store)', default: '' },
    ],
    actions: [
      (answers) =>
        run((out) => runInit({ dir: String((answers as Answers).dir), spec: optional((answers as Answers).spec) }, out)),
    ],
  });

  plop.setGenerator('create-api', {
    description: 'Generate routes, schemas, typed handlers and tests from the spec',
    prompts: [
      { type: 'input', name: 'spec', message: 'Spec file or URL (empty: from backdev.config.json)', default: '' },
      { type: 'input', name: 'out', message: 'Project folder (empty: the one holding backdev.config.json)', default: '' },
      { type: 'input', name: 'endpoint', message: 'Add a CRUD resource first? Its name (empty: no)', default: '' },
      // Asked every time (empty when no resource is added): plop cannot bypass conditional prompts.
      { type: 'input', name: 'fields', message: `Fields of the resource (empty: none)\n${FIELDS_HELP}\n>`, default: '' },
      { type: 'confirm', name: 'dryRun', message: 'Dry run (show the diff, write nothing)?', default: false },
    ],
    actions: [
      (answers) => {
        const a = answers as Answers;
        return run(async (out) => {
          const result = await runCreateApi(
            { spec: optional(a.spec), out: optional(a.out), endpoint: optional(a.endpoint), fields: optional(a.fields), dryRun: a.dryRun === true },
            out,
          );
          return result;
        });
      },
    ],
  });

  plop.setGenerator('design-database', {
    description: 'Design tables from the spec\'s models: a migration, Database types, repositories',
    prompts: [
      { type: 'input', name: 'models', message: 'Schemas to design, space-separated (empty: those marked x-backdev-table; * for all)', default: '' },
      { type: 'confirm', name: 'allowDestructive', message: 'Accept drops and type narrowing?', default: false },
    ],
    actions: [
      (answers) => {
        const a = answers as Answers;
        const models = String(a.models ?? '').trim();
        return run(async (out) => {
          const { runDesignDatabase } = await import('./generators/design-database/run.js');
          return runDesignDatabase(
            { all: models === '*', models: models && models !== '*' ? models.split(/\s+/) : undefined, allowDestructive: a.allowDestructive === true },
            out,
          );
        });
      },
    ],
  });

  plop.setGenerator('add-auth', {
    description: 'Enforce the spec\'s security schemes; optionally add local accounts',
    prompts: [{ type: 'confirm', name: 'accounts', message: 'Add local accounts (register, login, refresh, logout)?', default: false }],
    actions: [
      (answers) =>
        run(async (out) => {
          const { runAddAuth } = await import('./generators/add-auth/run.js');
          return runAddAuth({ accounts: (answers as Answers).accounts === true }, out);
        }),
    ],
  });
}
