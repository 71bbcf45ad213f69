/** The command line: help on every command, clear usage errors, exit codes. */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { memoryOutput } from '../generators/core/report.js';
import { main } from '../generators/cli.js';
import { backdev, REPO } from './helpers.js';

async function cli(args: string[]) {
  const out = memoryOutput();
  const code = await main(args, out);
  return { code, stdout: out.stdout.join('\n'), stderr: out.stderr.join('\n') };
}

describe('backdev CLI', () => {
  it('lists its commands', async () => {
    const r = await backdev(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['init <dir>', 'create-api', 'templates']) expect(r.stdout).toContain(cmd);
  });

  it('in a clone runs its TypeScript sources (no build needed), and dist/ when BACKDEV_RUN_DIST=1', async () => {
    // Every module the process resolves, one `import: <url>` line each on stderr.
    const logImports = `--import=${path.join(REPO, 'test/fixtures/hooks/log-imports.mjs')}`;
    const fromSources = await backdev(['--version'], REPO, { BACKDEV_RUN_DIST: '0', NODE_OPTIONS: logImports });
    const fromDist = await backdev(['--version'], REPO, { BACKDEV_RUN_DIST: '1', NODE_OPTIONS: logImports });
    expect(fromSources.code, fromSources.stderr).toBe(0);
    expect(fromDist.code, fromDist.stderr).toBe(0);
    expect(fromSources.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(fromSources.stdout.trim()).toBe(fromDist.stdout.trim());
    expect(fromSources.stderr).toContain(`import: ${pathToFileURL(path.join(REPO, 'generators/cli.ts')).href}\n`);
    expect(fromSources.stderr).not.toContain('/dist/generators/');
    expect(fromDist.stderr).toContain(`import: ${pathToFileURL(path.join(REPO, 'dist/generators/cli.js')).href}\n`);
    expect(fromDist.stderr).not.toContain('/generators/cli.ts');
  });

  it('documents the --fields syntax in create-api --help', async () => {
    const r = await backdev(['create-api', '--help']);
    expect(r.code).toBe(0);
    for (const word of ['--spec', '--out', '--check', '--dry-run', '--force', '--endpoint', '--fields', 'enum(', 'ref(', 'default=', 'unique', 'index']) {
      expect(r.stdout).toContain(word);
    }
  });

  it('has help for init and templates eject', async () => {
    expect((await backdev(['init', '--help'])).stdout).toContain('--spec');
    expect((await backdev(['templates', 'eject', '--help'])).stdout).toContain('create-api');
  });

  it('rejects unknown commands and options with exit 1 and a hint', async () => {
    const unknown = await cli(['create-apii']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/Unknown argument|Did you mean/);
    const flag = await cli(['create-api', '--sepc', 'x.yaml']);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain('sepc');
    const both = await cli(['create-api', '--check', '--dry-run']);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('mutually exclusive');
  });

  it('--endpoint without --fields is a usage error', async () => {
    const r = await cli(['create-api', '--spec', `${REPO}/test/fixtures/specs/petstore.yaml`, '--out', `${REPO}/.tmp/never`, '--endpoint', 'users']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--endpoint and --fields go together');
  });

  it('works from any directory', async () => {
    const r = await backdev(['create-api', '--help'], '/');
    expect(r.code).toBe(0);
  });
});
