/**
 * Interactive front: `plop <generator>` asks for what `backdev <command>` takes as flags, then runs the
 * same code. In a project, `npm run plop` (`backdev plop`) runs it; in a clone of backdev, `npm run plop`.
 * Every generator but init asks for the project folder first (default: the current folder when it is a
 * project, i.e. holds backdev.config.json).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { NodePlopAPI } from 'plop';
import { CONFIG_FILE } from './generators/core/config.js';
import { isBackdevError } from './generators/core/errors.js';
import { memoryOutput } from './generators/core/report.js';
import { FIELDS_HELP } from './generators/core/resource/fields.js';
import { runAddAuth, runCreateApi, runDesignDatabase, runInit } from './generators/index.js';

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

const isProject = (dir: string) => existsSync(path.join(path.resolve(dir), CONFIG_FILE));

/** The project folder prompt: `.` by default when the current folder is a project. */
function projectPrompt(required: boolean) {
  const here = isProject(process.cwd());
  return {
    type: 'input',
    name: 'out',
    message: here ? 'Project folder' : `Project folder (the one holding ${CONFIG_FILE})`,
    default: here ? '.' : '',
    validate: (v: string) => {
      const dir = v.trim() === '' ? (here ? '.' : '') : v.trim();
      if (dir === '') return required ? `a project folder is required (the current folder has no ${CONFIG_FILE})` : true;
      if (!existsSync(path.resolve(dir))) return `${dir} does not exist`;
      return !required || isProject(dir) || `${dir} is not a backdev project (it has no ${CONFIG_FILE})`;
    },
  } as const;
}

/** The project folder answered (`.` when left empty in a project); undefined: let the command look for one. */
function projectFolder(answer: unknown): string | undefined {
  return optional(answer) ?? (isProject(process.cwd()) ? '.' : undefined);
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
      projectPrompt(false),
      { type: 'input', name: 'spec', message: `Spec file or URL (empty: from ${CONFIG_FILE})`, default: '' },
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
            { spec: optional(a.spec), out: projectFolder(a.out), endpoint: optional(a.endpoint), fields: optional(a.fields), dryRun: a.dryRun === true },
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
      projectPrompt(true),
      { type: 'input', name: 'models', message: 'Schemas to design, space-separated (empty: those marked x-backdev-table; * for all)', default: '' },
      { type: 'confirm', name: 'allowDestructive', message: 'Accept drops and type narrowing?', default: false },
    ],
    actions: [
      (answers) => {
        const a = answers as Answers;
        const models = String(a.models ?? '').trim();
        return run(async (out) => {
          return runDesignDatabase(
            {
              out: projectFolder(a.out),
              all: models === '*',
              models: models && models !== '*' ? models.split(/\s+/) : undefined,
              allowDestructive: a.allowDestructive === true,
            },
            out,
          );
        });
      },
    ],
  });

  plop.setGenerator('add-auth', {
    description: 'Enforce the spec\'s security schemes; optionally add local accounts',
    prompts: [
      projectPrompt(true),
      { type: 'confirm', name: 'accounts', message: 'Add local accounts (register, login, refresh, logout)?', default: false },
    ],
    actions: [
      (answers) =>
        run(async (out) => {
          const a = answers as Answers;
          return runAddAuth({ out: projectFolder(a.out), accounts: a.accounts === true }, out);
        }),
    ],
  });
}
