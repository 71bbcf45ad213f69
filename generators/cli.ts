/**
 * The `backdev` command line (yargs). Every command is non-interactive and mirrors a plop generator
 * (plopfile.ts); both call the same `run*` functions. User mistakes exit 1 with a located message and no
 * stack; anything else is a bug and exits 2 with the stack.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isBackdevError } from './core/errors.js';
import { consoleOutput, type Output } from './core/report.js';
import { FIELDS_HELP } from './create-api/fields.js';
import { ejectTemplates, GENERATORS_WITH_TEMPLATES } from './templates/eject.js';

const writeOptions = (y: Argv) =>
  y
    .option('force', { type: 'boolean', default: false, describe: 'Overwrite generated files edited by hand' })
    .option('dry-run', { type: 'boolean', describe: 'Print a unified diff of what would change; write nothing' })
    .option('verbose', { type: 'boolean', default: false, describe: 'Show every warning' });

/** The options every writing command shares, from parsed arguments to run options. */
function writeArgs(args: { spec?: string | undefined; out?: string | undefined; force?: boolean | undefined; 'dry-run'?: boolean | undefined; check?: boolean | undefined; verbose?: boolean | undefined }) {
  return { spec: args.spec, out: args.out, force: args.force, dryRun: args['dry-run'], check: args.check, verbose: args.verbose };
}

export function buildCli(argv: string[], output: Output = consoleOutput, exit: (code: number) => void = (c) => (process.exitCode = c)) {
  return yargs(argv)
    .scriptName('backdev')
    .usage('$0 <command> [options]\n\nScaffolding for TypeScript backends: OpenAPI → typed Fastify routes, tests and handlers.')
    .command(
      'init <dir>',
      'Create a runnable Fastify project from a spec (the example pet store when none is given)',
      (y) =>
        writeOptions(y)
          .positional('dir', { type: 'string', demandOption: true, describe: 'Folder to create (must be empty or new)' })
          .option('spec', { type: 'string', describe: 'OpenAPI 3.0/3.1 or Swagger 2.0 file or URL (YAML or JSON)' })
          .option('templates', { type: 'string', describe: 'Folder of template overrides (see `backdev templates eject`)' })
          .example('$0 init my-api', 'a project from the example spec')
          .example('$0 init my-api --spec ./openapi.yaml', 'a project from your spec'),
      async (args) => {
        const { runInit } = await import('./init/run.js');
        await runInit(
          { dir: args.dir, spec: args.spec, templates: args.templates, force: args.force, dryRun: args['dry-run'], verbose: args.verbose },
          output,
        );
      },
    )
    .command(
      'create-api',
      'Generate routes, validation schemas, typed handlers and tests from the spec (regenerates safely)',
      (y) =>
        writeOptions(y)
          .option('spec', { type: 'string', describe: 'Spec file or URL (default: "spec" in backdev.config.json)' })
          .option('out', { type: 'string', describe: 'Project folder to write into (default: the folder of backdev.config.json, else the current one)' })
          .option('templates', { type: 'string', describe: 'Folder of template overrides (default: "templates" in backdev.config.json)' })
          .option('check', { type: 'boolean', describe: 'Write nothing; exit 1 when the generated code is out of date (CI gate)' })
          .option('endpoint', { type: 'string', describe: 'Add a CRUD resource with this name to the spec, then generate (needs --fields)' })
          .option('fields', { type: 'string', describe: 'Fields of the --endpoint resource; syntax below' })
          .conflicts('check', 'dry-run')
          .example('$0 create-api', 'regenerate inside a project')
          .example('$0 create-api --spec openapi.yaml --out server', 'generate into ./server')
          .example('$0 create-api --endpoint products --fields "name:string:unique price:number stock:integer?"', 'add a resource')
          .epilog(FIELDS_HELP),
      async (args) => {
        // Generators load on demand, so `--help` and mistakes in flags answer at once.
        const { runCreateApi } = await import('./create-api/run.js');
        const result = await runCreateApi(
          { ...writeArgs(args), templates: args.templates, endpoint: args.endpoint, fields: args.fields },
          output,
        );
        if (result.exitCode !== 0) exit(result.exitCode);
      },
    )
    .command(
      'design-database',
      'Design tables from models: a Kysely migration holding only what changed, Database types, repositories',
      (y) =>
        writeOptions(y)
          .option('spec', { type: 'string', describe: 'Spec to read models from (default: "spec" in backdev.config.json)' })
          .option('out', { type: 'string', describe: 'Project folder (default: the folder of backdev.config.json)' })
          .option('model', { type: 'string', array: true, describe: 'A components.schemas entry to design (repeatable); default: schemas marked x-backdev-table' })
          .option('all', { type: 'boolean', describe: 'Design every object schema of the spec' })
          .option('fields', { type: 'string', describe: 'Describe the --model here instead of in the spec (syntax below)' })
          .option('dialect', { type: 'string', choices: ['postgres'], default: 'postgres', describe: 'SQL dialect' })
          .option('primary-key', { type: 'string', choices: ['uuid', 'identity'], default: 'uuid', describe: 'Primary key of tables whose model has no id' })
          .option('rename', { type: 'string', array: true, describe: 'Rename hint instead of drop + add: table.old_column:new_column or old_table:new_table' })
          .option('allow-destructive', { type: 'boolean', describe: 'Accept drops and type narrowing (they are listed first)' })
          .option('check', { type: 'boolean', describe: 'Write nothing; exit 1 when a migration or generated file is due' })
          .conflicts('check', 'dry-run')
          .conflicts('all', 'model')
          .example('$0 design-database --model Product --model Order', 'tables for two schemas of the spec')
          .example('$0 design-database --all', 'every object schema')
          .example('$0 design-database --model Product --fields "name:string:unique price:number"', 'a model without a spec')
          .epilog(FIELDS_HELP),
      async (args) => {
        const { runDesignDatabase } = await import('./design-database/run.js');
        const { report } = await runDesignDatabase(
          {
            ...writeArgs(args),
            models: args.model,
            all: args.all,
            fields: args.fields,
            dialect: args.dialect,
            primaryKey: args['primary-key'] as 'uuid' | 'identity',
            renames: args.rename,
            allowDestructive: args['allow-destructive'],
          },
          output,
        );
        if (args.check && report.changed) {
          output.err('design-database --check: the database design is out of date; run `backdev design-database` and commit the result');
          exit(1);
        }
      },
    )
    .command(
      'add-auth',
      'Enforce the spec\'s security: JWT bearer, OIDC/OAuth2 scopes, API keys, HTTP Basic; --accounts adds local accounts',
      (y) =>
        writeOptions(y)
          .option('spec', { type: 'string', describe: 'Spec file (default: "spec" in backdev.config.json)' })
          .option('out', { type: 'string', describe: 'Project folder (default: the folder of backdev.config.json)' })
          .option('scheme', { type: 'string', array: true, describe: 'Only these securitySchemes (repeatable); default: all' })
          .option('accounts', { type: 'boolean', describe: 'Add register / login / refresh / logout endpoints with rotating refresh tokens' })
          .option('templates', { type: 'string', describe: 'Folder of template overrides' })
          .option('check', { type: 'boolean', describe: 'Write nothing; exit 1 when the auth wiring is out of date' })
          .conflicts('check', 'dry-run')
          .example('$0 add-auth', 'enforce every security scheme the spec declares')
          .example('$0 add-auth --accounts', 'local accounts: users table, login, refresh-token rotation')
          .epilog('Configuration comes from AUTH_* environment variables, listed in the generated .env.example.'),
      async (args) => {
        const { runAddAuth } = await import('./add-auth/run.js');
        const result = await runAddAuth(
          { ...writeArgs(args), schemes: args.scheme, accounts: args.accounts, templates: args.templates },
          output,
        );
        if (result.exitCode !== 0) exit(result.exitCode);
      },
    )
    .command(
      'migrate <action> [target]',
      'Apply or revert the project\'s migrations (PostgreSQL with DATABASE_URL, else the embedded PGlite database in .data/)',
      (y) =>
        y
          .positional('action', { choices: ['up', 'down', 'status', 'to'] as const, demandOption: true, describe: 'up: apply pending; down: revert the last; to: migrate to a name (or "zero")' })
          .positional('target', { type: 'string', describe: 'For `to`: a migration name, or zero' })
          .option('database-url', { type: 'string', describe: 'postgres:// URL (default: DATABASE_URL)' })
          .example('$0 migrate up', 'apply every pending migration')
          .example('$0 migrate to zero', 'revert everything'),
      async (args) => {
        const { runMigrate } = await import('./migrate/run.js');
        await runMigrate({ action: args.action, target: args.target, databaseUrl: args['database-url'] }, output);
      },
    )
    .command('templates', 'Work with the Handlebars templates', (y) =>
      y
        .command(
          'eject <generator>',
          'Copy a generator\'s bundled templates into your template folder to edit them',
          (e) =>
            e
              .positional('generator', { choices: GENERATORS_WITH_TEMPLATES, demandOption: true, describe: 'Which generator' })
              .option('to', { type: 'string', default: 'templates', describe: 'Template folder (set it as "templates" in backdev.config.json)' })
              .option('force', { type: 'boolean', default: false, describe: 'Overwrite templates already ejected' }),
          (args) => {
            ejectTemplates({ generator: args.generator as string, to: args.to, force: args.force }, output);
          },
        )
        .demandCommand(1, 'name a subcommand: eject'),
    )
    .demandCommand(1, 'name a command (backdev --help lists them)')
    .strict()
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((message, err, y) => {
      if (err) throw err;
      output.err(y.help() ? message : message);
      output.err('Run with --help for usage.');
      exit(1);
    })
    .help()
    .version();
}

export async function main(argv = hideBin(process.argv), output: Output = consoleOutput): Promise<number> {
  let code = 0;
  try {
    await buildCli(argv, output, (c) => (code = c)).parseAsync();
  } catch (err) {
    if (isBackdevError(err)) {
      output.err(`backdev: ${err.format()}`);
      return 1;
    }
    output.err(`backdev: internal error (please report it with the command you ran):\n${(err as Error)?.stack ?? String(err)}`);
    return 2;
  }
  return code;
}
