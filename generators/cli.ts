/**
 * The `backdev` command line (yargs). Every command is non-interactive and mirrors a plop generator
 * (plopfile.ts); both call the same `run*` functions. User mistakes exit 1 with a located message and no
 * stack; anything else is a bug and exits 2 with the stack.
 *
 * The command line is parsed and checked in full before anything runs: a command's handler only records
 * what to do, and that runs once parsing ended without a usage error (an unknown or misspelled flag, a
 * missing argument, a bad choice, flags that conflict). A usage error prints one message, exits 1 and
 * touches nothing.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isBackdevError } from './core/errors.js';
import { backdevPackageVersion } from './core/package-root.js';
import { consoleOutput, type Output } from './core/report.js';
import { FIELDS_HELP } from './core/resource/fields.js';
import { healthOptionProblems } from './add-health/options.js';
import { GENERATORS_WITH_TEMPLATES } from '../commands/templates/generators.js';
import { traceCommands } from '../commands/trace/cli.js';

/** The options every writing command takes, with the same meaning everywhere (core/generator/types.ts). */
const writeOptions = (y: Argv, check: string) =>
  y
    .option('force', { type: 'boolean', default: false, describe: 'Overwrite generated files edited by hand' })
    .option('dry-run', { type: 'boolean', describe: 'Print a unified diff of what would change; write nothing' })
    .option('check', { type: 'boolean', describe: `Write nothing; exit 1 when ${check} (CI gate)` })
    .option('json', { type: 'boolean', describe: 'Print one JSON report on stdout (files, warnings, exit code) instead of the summary' })
    .option('verbose', { type: 'boolean', default: false, describe: 'Show every warning' })
    .conflicts('check', 'dry-run');

/** The options every writing command shares, from parsed arguments to run options. */
function writeArgs(args: { force?: boolean | undefined; 'dry-run'?: boolean | undefined; check?: boolean | undefined; json?: boolean | undefined; verbose?: boolean | undefined }) {
  return { force: args.force, dryRun: args['dry-run'], check: args.check, json: args.json, verbose: args.verbose };
}

/** What parsing the command line found: the usage errors, else the work the chosen command will do. */
export interface ParsedCommand {
  /** Usage errors in the order yargs reported them (a command may report several). */
  errors: string[];
  /** The chosen command, ready to run; set by its handler, run only when `errors` is empty. */
  job?: (() => Promise<void> | void) | undefined;
  /** Every option the chosen command knows, for "did you mean" hints on an unknown one. */
  known?: string[] | undefined;
}

export function buildCli(
  argv: string[],
  output: Output = consoleOutput,
  exit: (code: number) => void = (c) => (process.exitCode = c),
  parsed: ParsedCommand = { errors: [] },
) {
  // A handler records its work; `main` runs it once the whole command line has been checked.
  const later =
    <A>(work: (args: A) => Promise<void> | void) =>
    (args: A): void => {
      parsed.job = () => work(args);
    };
  const cli = yargs(argv)
    .scriptName('backdev')
    .usage('$0 <command> [options]\n\nScaffolding for TypeScript backends: OpenAPI → typed Fastify routes, tests and handlers.')
    .command(
      'init <dir>',
      'Create a runnable Fastify project from a spec (the example pet store when none is given)',
      (y) =>
        writeOptions(y, 'the folder differs from the project init would write')
          .positional('dir', { type: 'string', demandOption: true, describe: 'Folder to create (must be empty or new)' })
          .option('spec', { type: 'string', describe: 'OpenAPI 3.0/3.1 or Swagger 2.0 file or URL (YAML or JSON)' })
          .option('empty', { type: 'boolean', describe: 'Start from an empty API (an OpenAPI 3.1 spec with no paths) instead of the example' })
          .option('templates', { type: 'string', describe: 'Folder of template overrides (see `backdev templates eject`)' })
          .option('backdev', { type: 'string', describe: "How the project depends on backdev: a version or range (default: ^ this version), or a clone's folder or an npm-packed .tgz (a path, or file:<path from the project>)" })
          .conflicts('empty', 'spec')
          .example('$0 init my-api', 'a project from the example spec')
          .example('$0 init my-api --spec ./openapi.yaml', 'a project from your spec')
          .example('$0 init my-api --empty', 'a project with no endpoints yet (add them with create-api --endpoint)'),
      later(async (args) => {
        const { runInit } = await import('./index.js');
        const result = await runInit({ ...writeArgs(args), dir: args.dir, spec: args.spec, empty: args.empty, templates: args.templates, backdevVersion: args.backdev }, output);
        if (result.exitCode !== 0) exit(result.exitCode);
      }),
    )
    .command(
      'create-api',
      'Generate routes, validation schemas, typed handlers and tests from the spec (regenerates safely)',
      (y) =>
        writeOptions(y, 'the generated code is out of date, or a table-backed schema changed without a new design')
          .option('spec', { type: 'string', describe: 'Spec file or URL (default: "spec" in backdev.config.json)' })
          .option('out', { type: 'string', describe: 'Project folder to write into (default: the folder of backdev.config.json, else the current one)' })
          .option('templates', { type: 'string', describe: 'Folder of template overrides (default: "templates" in backdev.config.json)' })
          .option('endpoint', { type: 'string', describe: 'Add a CRUD resource with this name to the spec, then generate (needs --fields); on an existing resource, add the new fields to it' })
          .option('fields', { type: 'string', describe: 'Fields of the --endpoint resource; syntax below' })
          .check((args) =>
            (args.endpoint === undefined) === (args.fields === undefined)
              ? true
              : '--endpoint and --fields go together: --endpoint products --fields "name:string price:number"',
          )
          .example('$0 create-api', 'regenerate inside a project')
          .example('$0 create-api --spec openapi.yaml --out server', 'generate into ./server')
          .example('$0 create-api --endpoint products --fields "name:string:unique price:number stock:integer?"', 'add a resource')
          .epilog(FIELDS_HELP),
      later(async (args) => {
        // Generators load on demand, so `--help` and mistakes in flags answer at once.
        const { runCreateApi } = await import('./index.js');
        const result = await runCreateApi(
          { ...writeArgs(args), spec: args.spec, out: args.out, templates: args.templates, endpoint: args.endpoint, fields: args.fields },
          output,
        );
        if (result.exitCode !== 0) exit(result.exitCode);
      }),
    )
    .command(
      'design-database',
      'Design tables from models: a Kysely migration holding only what changed, Database types, repositories',
      (y) =>
        writeOptions(y, 'a migration or generated file is due')
          .option('spec', { type: 'string', describe: 'Spec file or URL to read models from (default: "spec" in backdev.config.json)' })
          .option('out', { type: 'string', describe: 'Project folder (default: the folder of backdev.config.json)' })
          .option('templates', { type: 'string', describe: 'Folder of template overrides (default: "templates" in backdev.config.json)' })
          .option('model', { type: 'string', array: true, describe: 'A components.schemas entry to design (repeatable); default: schemas marked x-backdev-table' })
          .option('all', { type: 'boolean', describe: 'Design every object schema of the spec' })
          .option('fields', { type: 'string', describe: 'Describe the --model here instead of in the spec (syntax below)' })
          .option('dialect', { type: 'string', choices: ['postgres'], default: 'postgres', describe: 'SQL dialect' })
          .option('primary-key', { type: 'string', choices: ['uuid', 'identity'], default: 'uuid', describe: 'Primary key of tables whose model has no id' })
          .option('rename', { type: 'string', array: true, describe: 'Rename hint instead of drop + add: table.old_column:new_column or old_table:new_table' })
          .option('allow-destructive', { type: 'boolean', describe: 'Accept drops and type narrowing (they are listed first)' })
          .conflicts('all', 'model')
          .example('$0 design-database --model Product --model Order', 'tables for two schemas of the spec')
          .example('$0 design-database --all', 'every object schema')
          .example('$0 design-database --model Product --fields "name:string:unique price:number"', 'a model without a spec')
          .epilog(FIELDS_HELP),
      later(async (args) => {
        const { runDesignDatabase } = await import('./index.js');
        const result = await runDesignDatabase(
          {
            ...writeArgs(args),
            spec: args.spec,
            out: args.out,
            templates: args.templates,
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
        if (result.exitCode !== 0) exit(result.exitCode);
      }),
    )
    .command(
      'add-auth',
      'Enforce the spec\'s security: JWT bearer, OIDC/OAuth2 scopes, API keys, HTTP Basic; --accounts adds local accounts',
      (y) =>
        writeOptions(y, 'the auth wiring is out of date')
          .option('spec', { type: 'string', describe: 'Spec file (default: "spec" in backdev.config.json)' })
          .option('out', { type: 'string', describe: 'Project folder (default: the folder of backdev.config.json)' })
          .option('scheme', { type: 'string', array: true, describe: 'Only these securitySchemes (repeatable); default: all' })
          .option('accounts', { type: 'boolean', describe: 'Add register / login / refresh / logout endpoints with rotating refresh tokens' })
          .option('templates', { type: 'string', describe: 'Folder of template overrides' })
          .example('$0 add-auth', 'enforce every security scheme the spec declares')
          .example('$0 add-auth --accounts', 'local accounts: users table, login, refresh-token rotation')
          .epilog('Configuration comes from AUTH_* environment variables, listed in the generated .env.example.'),
      later(async (args) => {
        const { runAddAuth } = await import('./index.js');
        const result = await runAddAuth(
          { ...writeArgs(args), spec: args.spec, out: args.out, schemes: args.scheme, accounts: args.accounts, templates: args.templates },
          output,
        );
        if (result.exitCode !== 0) exit(result.exitCode);
      }),
    )
    .command(
      'add-realtime',
      "Publish the resources' changes over WebSocket: a broadcast hub at /ws, events after each committed create/update/delete, an AsyncAPI document",
      (y) =>
        writeOptions(y, 'the real-time wiring is out of date')
          .option('spec', { type: 'string', describe: 'Spec file (default: "spec" in backdev.config.json)' })
          .option('out', { type: 'string', describe: 'Project folder (default: the folder of backdev.config.json)' })
          .option('path', { type: 'string', describe: 'The WebSocket route (default /ws)' })
          .option('templates', { type: 'string', describe: 'Folder of template overrides' })
          .example('$0 add-realtime', 'events <resource>.created|updated|deleted on topic <resource> at /ws')
          .epilog('The protocol (subscribe, resume, gaps) is described in docs/realtime-protocol.md; the hub is configured in src/realtime.ts.'),
      later(async (args) => {
        const { runAddRealtime } = await import('./index.js');
        const result = await runAddRealtime({ ...writeArgs(args), spec: args.spec, out: args.out, path: args.path, templates: args.templates }, output);
        if (result.exitCode !== 0) exit(result.exitCode);
      }),
    )
    .command(
      'add-health',
      'Add /health/live and /health/ready, and named upstream services with failover (merged with earlier runs)',
      (y) =>
        writeOptions(y, 'the health routes or upstream settings are out of date')
          .option('spec', { type: 'string', describe: 'Spec file (default: "spec" in backdev.config.json)' })
          .option('out', { type: 'string', describe: 'Project folder (default: the folder of backdev.config.json)' })
          .option('upstream', { type: 'string', array: true, describe: 'An upstream, name=url[,url2…] in priority order (repeatable); an earlier name gets the new URLs' })
          .option('probe', { type: 'string', describe: "Path probed (GET, 200 expected) on this run's upstreams' URLs" })
          .option('optional', { type: 'string', array: true, describe: 'An upstream /health/ready does not wait for (repeatable)' })
          .option('upstream-spec', {
            type: 'string',
            array: true,
            describe: "An upstream's OpenAPI spec, name=path-or-url (repeatable): generates its typed client; the name is one given with --upstream now or before",
          })
          .option('templates', { type: 'string', describe: 'Folder of template overrides' })
          .check((args) => {
            const problems = healthOptionProblems({
              upstreams: args.upstream as string[] | undefined,
              probe: args.probe as string | undefined,
              upstreamSpecs: args.upstreamSpec as string[] | undefined,
            });
            return problems.length === 0 ? true : problems.join('; ');
          })
          .example('$0 add-health', '/health/live and /health/ready (the database, when the project has one)')
          .example('$0 add-health --upstream users=http://users-a:8080,http://users-b:8080 --probe /health/ready', 'an upstream with failover, probed')
          .example('$0 add-health --upstream users=http://users:8080 --upstream-spec users=specs/users.yaml', 'with a typed client generated from its OpenAPI spec')
          .epilog('Each upstream\'s URLs can be replaced at start-up with UPSTREAM_<NAME>_URLS (listed in .env.example); the policy is in docs/health.md.'),
      later(async (args) => {
        const { runAddHealth } = await import('./index.js');
        const result = await runAddHealth(
          {
            ...writeArgs(args),
            spec: args.spec,
            out: args.out,
            upstreams: args.upstream,
            probe: args.probe,
            optional: args.optional,
            upstreamSpecs: args.upstreamSpec,
            templates: args.templates,
          },
          output,
        );
        if (result.exitCode !== 0) exit(result.exitCode);
      }),
    )
    .command(
      'add-sync',
      "Keep a table equal to a list of an external API: the table (from the API's schema), your typed mapping, the sync job",
      (y) =>
        writeOptions(y, 'the sync job or its table is out of date')
          .option('source', { type: 'string', describe: "The external API's OpenAPI spec (file or URL)" })
          .option('schema', { type: 'string', describe: 'The schema of that spec whose records the table keeps (components.schemas)' })
          .option('operation', { type: 'string', describe: 'The list operation: an operationId or "GET /path" (default: the one GET that lists the schema)' })
          .option('name', { type: 'string', describe: 'The job name, lowercase words joined by "-" (default: <api>-<schema plural>)' })
          .option('spec', { type: 'string', describe: 'The project\'s spec (default: "spec" in backdev.config.json)' })
          .option('out', { type: 'string', describe: 'Project folder (default: the folder of backdev.config.json)' })
          .option('templates', { type: 'string', describe: 'Folder of template overrides' })
          .demandOption(['source', 'schema'])
          .example('$0 add-sync --source specs/stripe.json --schema customer --operation GetCustomers', 'table stripe_customers, src/sync/stripe-customers.{gen,mapping}.ts')
          .epilog('Then `npm run db:migrate` and `backdev sync run <job>`; the upstream URL and token come from SYNC_<JOB>_URL and SYNC_<JOB>_TOKEN.'),
      later(async (args) => {
        const { runAddSync } = await import('./index.js');
        const result = await runAddSync(
          { ...writeArgs(args), source: args.source, schema: args.schema, operation: args.operation, name: args.name, spec: args.spec, out: args.out, templates: args.templates },
          output,
        );
        if (result.exitCode !== 0) exit(result.exitCode);
      }),
    )
    .command('sync', 'Run the sync jobs add-sync wrote and see their state: run <job> [--full], status', (y) =>
      y
        .command(
          'run <job>',
          'Run a sync job once: each stream goes on from its checkpoint (incremental where it can); a line per stored page',
          (c) =>
            c
              .positional('job', { type: 'string', demandOption: true, describe: 'The job (src/sync/<job>.gen.ts)' })
              .option('full', { type: 'boolean', describe: 'Read the whole list again (new full passes)' })
              .option('database-url', { type: 'string', describe: 'postgres:// URL (default: DATABASE_URL, else the embedded PGlite database)' })
              .example('$0 sync run stripe-customers', 'pull what changed since the last run')
              .example('$0 sync run stripe-customers --full', 'read the whole list again'),
          later(async (args: { job: string; full?: boolean; 'database-url'?: string }) => {
            const { runSyncJob } = await import('../commands/sync/run.js');
            const code = await runSyncJob({ job: args.job, full: args.full, databaseUrl: args['database-url'] }, output);
            if (code !== 0) exit(code);
          }),
        )
        .command(
          'status',
          'Per job: the last run, the checkpoints, the lag since the last successful run; dead letters of the outbox',
          (c) =>
            c
              .option('json', { type: 'boolean', describe: 'Print one JSON object instead of text' })
              .option('database-url', { type: 'string', describe: 'postgres:// URL (default: DATABASE_URL, else the embedded PGlite database)' }),
          later(async (args: { json?: boolean; 'database-url'?: string }) => {
            const { runSyncStatus } = await import('../commands/sync/run.js');
            await runSyncStatus({ json: args.json, databaseUrl: args['database-url'] }, output);
          }),
        )
        .demandCommand(1, 'name a subcommand: run or status'),
    )
    .command(
      'migrate <action> [target]',
      'Apply or revert the project\'s migrations (PostgreSQL with DATABASE_URL, else the embedded PGlite database in .data/)',
      (y) =>
        y
          .positional('action', { choices: ['up', 'down', 'status', 'to'] as const, demandOption: true, describe: 'up: apply pending; down: revert the last; to: migrate to a name (or "zero")' })
          .positional('target', { type: 'string', describe: 'For `to`: a migration name, or zero' })
          .option('database-url', { type: 'string', describe: 'postgres:// URL (default: DATABASE_URL)' })
          .check((args) => {
            if (args.action === 'to' && !args.target) return 'migrate to needs a migration name (or "zero")';
            if (args.action !== 'to' && args.target !== undefined) return `only \`migrate to\` takes a migration name; \`migrate ${args.action}\` takes none (got "${args.target}")`;
            return true;
          })
          .example('$0 migrate up', 'apply every pending migration')
          .example('$0 migrate to zero', 'revert everything')
          .epilog('The embedded database serves one process at a time: while `npm run dev` runs, migrate is refused (the dev server applies pending migrations itself when it starts).'),
      later(async (args) => {
        const { runMigrate } = await import('../commands/migrate/run.js');
        await runMigrate({ action: args.action, target: args.target, databaseUrl: args['database-url'] }, output);
      }),
    )
    // Run by `main` before parsing (plop reads its own arguments); listed here for --help.
    .command('plop', 'Ask for a generator\'s options interactively (backdev plop [generator] [answers…]; backdev plop --help)', (y) => y, () => undefined)
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
          later(async (args) => {
            const { ejectTemplates } = await import('../commands/templates/eject.js');
            ejectTemplates({ generator: args.generator as string, to: args.to, force: args.force }, output);
          }),
        )
        .demandCommand(1, 'name a subcommand: eject'),
    )
    .command('trace', 'Read the trace file backdev/runtime/tracing writes: summary, errors, show <traceId>', (y) => traceCommands(y, later, output))
    .demandCommand(1, 'name a command (backdev --help lists them)')
    .strict()
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .check((args, options: { key?: Record<string, unknown>; string?: string[]; array?: string[] }) => {
      // Runs for the chosen command too (global), after its own options are declared.
      parsed.known = Object.keys(options.key ?? {});
      // `--spec` at the end of the line (or `--spec ""`) is a value left out, never "use the default".
      const valued = new Set([...(options.string ?? []), ...(options.array ?? [])]);
      const empty = new Set(
        [...valued].filter((key) => {
          const value = (args as Record<string, unknown>)[key];
          return value === '' || (Array.isArray(value) && (value.length === 0 || value.includes('')));
        }),
      );
      // A flag with a default takes the default when its value is left out: look at the words typed.
      argv.forEach((word, i) => {
        const name = /^--([^=]+)$/.exec(word)?.[1];
        const next = argv[i + 1];
        if (name !== undefined && valued.has(name) && (next === undefined || next.startsWith('-'))) empty.add(name);
      });
      if (empty.size === 0) return true;
      const flag = (key: string) => argv.some((a) => a === `--${key}` || a.startsWith(`--${key}=`));
      return [...empty].map((key) => (flag(key) ? `--${key} needs a value` : `<${key}> must not be empty`)).join('; ');
    }, true)
    .fail((message, err) => {
      // yargs goes on after a failure; recording it here keeps the command from running (see `main`).
      if (message) parsed.errors.push(message);
      else if (err) throw err;
    })
    .help()
    // backdev's own version: without one, yargs reports the version of the package.json nearest to the
    // current folder, the user's project's.
    .version(backdevPackageVersion());
  skipHelpCache(cli);
  return cli;
}

/**
 * yargs lays out the whole help text each time it runs a command, to have it at hand should the command
 * fail later (about 40 ms here, on every run). backdev's handlers only record their work, and `main` prints
 * usage errors itself: help is laid out only when it is shown. Done through yargs' internal methods; if a
 * later yargs has none, nothing changes but the time.
 */
function skipHelpCache(cli: object): void {
  const internal = (cli as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: unknown } } }).getInternalMethods?.();
  const usage = internal?.getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}

/** One message per usage error, in a useful order: the hint about a misspelled command last. */
export function usageMessages(parsed: ParsedCommand): string[] {
  let messages = [...new Set(parsed.errors)];
  // "Not enough non-option arguments" repeats what a more specific message (a missing argument, an
  // unknown command) already says.
  if (messages.length > 1) messages = messages.filter((m) => !m.startsWith('Not enough non-option arguments'));
  const known = (parsed.known ?? []).filter((k) => k.length > 1 && !/[A-Z]/.test(k));
  messages = messages.map((m) => {
    const unknown = /^Unknown arguments?: (.*)$/.exec(m);
    if (!unknown) return m;
    // yargs lists a flag under its own name and its camelCase form: name it once, as typed.
    const listed = unknown[1]!.split(', ');
    const names = listed.filter((name) => !listed.some((other) => other !== name && camelCase(other) === name));
    const head = `Unknown argument${names.length > 1 ? 's' : ''}: ${names.join(', ')}`;
    const hints = names.flatMap((name) => {
      const near = closest(name, known);
      return near === undefined ? [] : [names.length > 1 ? `--${near} for ${name}` : `--${near}`];
    });
    return hints.length > 0 ? `${head} (did you mean ${hints.join(', ')}?)` : head;
  });
  return [...messages.filter((m) => !m.startsWith('Did you mean')), ...messages.filter((m) => m.startsWith('Did you mean'))];
}

/** The known name nearest to `name` (edit distance at most 2, or a third of its length), if any. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: { key: string; d: number } | undefined;
  for (const key of known) {
    const d = editDistance(name.toLowerCase(), key.toLowerCase());
    if (d <= Math.max(2, Math.floor(key.length / 3)) && (!best || d < best.d)) best = { key, d };
  }
  return best?.key;
}

function camelCase(name: string): string {
  return name.replace(/-+([^-])/g, (_, c: string) => c.toUpperCase());
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

export async function main(argv = hideBin(process.argv), output: Output = consoleOutput): Promise<number> {
  let code = 0;
  const parsed: ParsedCommand = { errors: [] };
  try {
    // `backdev plop …`: plop parses its own command line (generator name, answers, --help).
    if (argv[0] === 'plop') {
      const { runPlop } = await import('../commands/plop/run.js');
      return await runPlop(argv.slice(1));
    }
    await buildCli(argv, output, (c) => (code = c), parsed).parseAsync();
    if (parsed.errors.length > 0) {
      for (const message of usageMessages(parsed)) output.err(message);
      output.err('Run with --help for usage.');
      return 1;
    }
    await parsed.job?.();
  } catch (err) {
    if (isBackdevError(err)) {
      output.err(`backdev: ${err.format()}`);
      // Under --json, stdout still carries one object a script can parse.
      if (argv.includes('--json')) {
        output.out(JSON.stringify({ exitCode: 1, error: { code: `BACKDEV_${err.code}`, message: err.message, location: err.location ?? null, details: err.details } }));
      }
      return 1;
    }
    output.err(`backdev: internal error (please report it with the command you ran):\n${(err as Error)?.stack ?? String(err)}`);
    return 2;
  }
  return code;
}
