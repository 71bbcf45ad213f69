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
          {
            spec: args.spec,
            out: args.out,
            templates: args.templates,
            endpoint: args.endpoint,
            fields: args.fields,
            force: args.force,
            dryRun: args['dry-run'],
            check: args.check,
            verbose: args.verbose,
          },
          output,
        );
        if (result.exitCode !== 0) exit(result.exitCode);
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
