/**
 * The command line refuses before it acts: an unknown or misspelled flag, a flag without its value or a
 * missing argument stops every command with exit 1 and one message, before anything is written or a
 * database is opened.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backdev, backdevInProcess, cleanup, snapshotTree, tempDir } from './helpers.js';

/** Never the shared PostgreSQL database: migrate would otherwise reach it. */
const ENV = { DATABASE_URL: '' };
let dir: string;

beforeAll(async () => {
  dir = path.join(tempDir('cli-strict'), 'project');
  const init = await backdev(['init', dir], undefined, ENV);
  expect(init.code, init.stderr).toBe(0);
}, 120_000);
afterAll(() => cleanup(path.dirname(dir)));

function occurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** [command line, the message it must print exactly once]. */
const cases: Array<[string[], string]> = [
  // init
  [['init', 'fresh', '--bogus'], 'Unknown argument: bogus'],
  [['init', 'fresh', '--dryrun'], 'Unknown argument: dryrun (did you mean --dry-run?)'],
  [['init', 'fresh', '--sepc', 'openapi.yaml'], 'Unknown argument: sepc (did you mean --spec?)'],
  [['init'], 'Missing required argument: dir'],
  [['init', 'fresh', '--spec'], '--spec needs a value'],
  [['init', 'fresh', '--empty', '--spec', 'openapi.yaml'], 'Arguments empty and spec are mutually exclusive'],
  // create-api
  [['create-api', '--bogus'], 'Unknown argument: bogus'],
  [['create-api', '--dryrun'], 'Unknown argument: dryrun (did you mean --dry-run?)'],
  [['create-api', '--spec'], '--spec needs a value'],
  [['create-api', '--endpoint', 'notes'], '--endpoint and --fields go together'],
  [['create-api', '--fields', 'title:string'], '--endpoint and --fields go together'],
  // design-database
  [['design-database', '--bogus'], 'Unknown argument: bogus'],
  [['design-database', '--modle', 'Pet'], 'Unknown argument: modle (did you mean --model?)'],
  [['design-database', '--model'], '--model needs a value'],
  // add-auth
  [['add-auth', '--bogus'], 'Unknown argument: bogus'],
  [['add-auth', '--acounts'], 'Unknown argument: acounts (did you mean --accounts?)'],
  [['add-auth', '--scheme'], '--scheme needs a value'],
  // add-health
  [['add-health', '--bogus'], 'Unknown argument: bogus'],
  [['add-health', '--upstrem', 'users=http://a.example'], 'Unknown argument: upstrem (did you mean --upstream?)'],
  [['add-health', '--upstream'], '--upstream needs a value'],
  [['add-health', '--upstream', 'users'], '--upstream "users": expected name=url[,url…]'],
  [['add-health', '--upstream', 'users=not-a-url'], '--upstream "users=not-a-url": "not-a-url" is not a URL'],
  [['add-health', '--upstream', 'users=ftp://files.example'], 'only http and https URLs are supported'],
  [['add-health', '--upstream', 'users=http://a.example', '--upstream', 'users=http://b.example'], '--upstream #2 "users=http://b.example": upstream "users" is given twice'],
  [['add-health', '--upstream', 'users=http://a.example', '--probe', 'ready'], '--probe "ready": expected a path'],
  [['add-health', '--probe', '/ready'], '--probe applies to the upstreams of the same run'],
  [['add-health', '--upstream-spec'], '--upstream-spec needs a value'],
  [['add-health', '--upstream-spec', 'users'], '--upstream-spec "users": expected name=path-or-url'],
  [['add-health', '--upstream-spec', 'users=ftp://specs.example/u.yaml'], 'only a file path or an http(s) URL'],
  // migrate
  [['migrate', 'up', '--bogus'], 'Unknown argument: bogus'],
  [['migrate', 'up', '--databse-url', 'postgres://nobody@127.0.0.1:1/none'], 'Unknown argument: databse-url (did you mean --database-url?)'],
  [['migrate'], 'Missing required argument: action'],
  [['migrate', 'to'], 'migrate to needs a migration name (or "zero")'],
  [['migrate', 'up', '0001_x'], 'only `migrate to` takes a migration name'],
  [['migrate', 'status', '--bogus'], 'Unknown argument: bogus'],
  [['migrate', 'status', '--databse-url', 'postgres://nobody@127.0.0.1:1/none'], 'Unknown argument: databse-url (did you mean --database-url?)'],
  [['migrate', 'status', '--database-url'], '--database-url needs a value'],
  // templates eject
  [['templates', 'eject', 'create-api', '--bogus'], 'Unknown argument: bogus'],
  [['templates', 'eject', 'create-api', '--dry-run'], 'Unknown argument: dry-run'],
  [['templates', 'eject'], 'Missing required argument: generator'],
  [['templates', 'eject', 'create-api', '--to'], '--to needs a value'],
  // commands
  [['creat-api'], 'Did you mean create-api?'],
  [['creat-api'], 'Unknown argument: creat-api'],
];

/**
 * Most cases run the command line in this process (the same parsing and exit codes as the binary, a
 * second instead of a node + tsx start each); these run the real binary too, so what reaches the
 * terminal from outside the command's output (a second message, a stack) is seen.
 */
const SPAWNED: string[][] = [
  ['init'],
  ['create-api', '--dryrun'],
  ['migrate', 'up', '--databse-url', 'postgres://nobody@127.0.0.1:1/none'],
  ['templates', 'eject', 'create-api', '--dry-run'],
  ['creat-api'],
];
const spawned = (args: string[]) => SPAWNED.some((a) => JSON.stringify(a) === JSON.stringify(args));

describe('a usage error stops the command before it does anything', () => {
  it.each(cases)('backdev %j', async (args, message) => {
    const before = snapshotTree(dir);
    const r = spawned(args) ? await backdev(args, dir, ENV) : await backdevInProcess(args, dir, ENV);
    const text = r.stdout + r.stderr;
    expect(r.code, text).toBe(1);
    expect(occurrences(text, message), text).toBe(1);
    expect(occurrences(text, 'Run with --help for usage.'), text).toBe(1);
    expect(text).not.toContain('internal error');
    expect(text).not.toMatch(/\n\s+at /);
    expect(r.stdout, 'nothing is reported as done').toBe('');
    // Nothing written: not the generated files, not a template folder, not a new project, not a database.
    expect(snapshotTree(dir)).toEqual(before);
    expect(existsSync(path.join(dir, '.data'))).toBe(false);
  }, 60_000);

  it('a misspelled command gets one hint and no other complaint', async () => {
    const r = await backdev(['creat-api'], dir, ENV);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual(['Unknown argument: creat-api', 'Did you mean create-api?', 'Run with --help for usage.']);
  }, 60_000);
});
