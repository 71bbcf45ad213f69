/** The command line: help on every command, clear usage errors, exit codes. */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { memoryOutput } from '../generators/core/report.js';
import { main } from '../generators/cli.js';
import { backdev, REPO } from './helpers.js';

/** Logs every module the process resolves (`import: <url>` lines on stderr). */
const LOG_IMPORTS = `--import=${path.join(REPO, 'test/fixtures/hooks/log-imports.mjs')}`;

/** Packages only the generators use; a command that generates nothing must not load them. */
const GENERATOR_PACKAGES = ['typescript', 'openapi-typescript', 'ts-morph', '@ts-morph/common', 'prettier', 'ajv', 'handlebars', '@redocly/openapi-core', 'yaml', 'diff'];

/** The packages under node_modules whose modules an `import:` log names. */
function packagesLoaded(log: string): string[] {
  return [...new Set([...log.matchAll(/^import: .*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)].map((m) => m[1]!))].sort();
}

async function cli(args: string[]) {
  const out = memoryOutput();
  const code = await main(args, out);
  return { code, stdout: out.stdout.join('\n'), stderr: out.stderr.join('\n') };
}

describe('backdev CLI', () => {
  it('lists its commands', async () => {
    const r = await backdev(['--help'], REPO, { NODE_OPTIONS: LOG_IMPORTS });
    expect(r.code).toBe(0);
    for (const cmd of ['init <dir>', 'create-api', 'templates']) expect(r.stdout).toContain(cmd);
    expect(packagesLoaded(r.stderr)).toContain('yargs');
    expect(packagesLoaded(r.stderr).filter((p) => GENERATOR_PACKAGES.includes(p))).toEqual([]);
  });

  it('reads a trace file and reports a usage error without loading the generators\' packages', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'backdev-cli-load-'));
    try {
      const file = path.join(dir, 'traces.jsonl');
      const span = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: null, name: 'getPets', kind: 'server', startMs: 1, endMs: 5, durationMs: 4, status: 'ok', error: null, service: 'api', attributes: {} };
      writeFileSync(file, `${JSON.stringify(span)}\n`);
      const summary = await backdev(['trace', 'summary', file], REPO, { NODE_OPTIONS: LOG_IMPORTS });
      expect(summary.code, summary.stderr).toBe(0);
      expect(summary.stdout).toMatch(/getPets\s+1\s/);
      const mistake = await backdev(['create-api', '--sepc', 'x.yaml'], REPO, { NODE_OPTIONS: LOG_IMPORTS });
      expect(mistake.code).toBe(1);
      expect(mistake.stderr).toContain('Unknown argument: sepc');
      for (const r of [summary, mistake]) {
        expect(packagesLoaded(r.stderr)).toContain('yargs');
        expect(packagesLoaded(r.stderr).filter((p) => GENERATOR_PACKAGES.includes(p))).toEqual([]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
