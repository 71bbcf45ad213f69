/**
 * What `init` writes for production and how the project depends on backdev: the Dockerfile's structure
 * (no docker daemon is needed: the file is parsed), .dockerignore, the build/start scripts, and the
 * `--backdev` choices (a version range by default; a folder, a tarball or a file: spec on request).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOutput } from '../generators/core/report.js';
import { runInit } from '../generators/index.js';
import { backdevDependency, backdevPackageVersion } from '../generators/init/dependencies.js';
import { cleanup, REPO, tempDir } from './helpers.js';

let parent: string;
let dir: string;
beforeAll(async () => {
  parent = tempDir('init-production');
  dir = path.join(parent, 'shop');
  const result = await runInit({ dir }, memoryOutput());
  expect(result.exitCode).toBe(0);
});
afterAll(() => cleanup(parent));

const read = (file: string) => readFileSync(path.join(dir, file), 'utf8');

interface Stage {
  from: string;
  name: string | undefined;
  lines: { instruction: string; args: string }[];
}

/** The Dockerfile as stages of instructions (comments dropped, continued lines joined). */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, instruction = '', args = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (instruction.toUpperCase() === 'FROM') {
      const [, from = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ from, name, lines: [] });
    } else if (stages.length) {
      stages.at(-1)!.lines.push({ instruction: instruction.toUpperCase(), args });
    }
  }
  return stages;
}

describe('the Dockerfile', () => {
  it('builds in one stage and runs compiled code in a second, as a non-root user in production mode', () => {
    const stages = parseDockerfile(read('Dockerfile'));
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const [build, final] = [stages[0]!, stages.at(-1)!];
    expect(build.name).toBeTruthy();
    expect(build.lines.some((l) => l.instruction === 'RUN' && /\bnpm ci\b/.test(l.args) && !/--omit=dev/.test(l.args))).toBe(true);
    expect(build.lines.some((l) => l.instruction === 'RUN' && /npm run build/.test(l.args))).toBe(true);

    const of = (instruction: string) => final.lines.filter((l) => l.instruction === instruction).map((l) => l.args);
    expect(of('RUN').some((a) => /\bnpm ci\b.*--omit=dev/.test(a))).toBe(true);
    expect(of('COPY').some((a) => a.includes(`--from=${build.name}`) && /\bdist\b/.test(a))).toBe(true);
    expect(of('ENV').join(' ')).toMatch(/NODE_ENV=production/);
    const user = of('USER').at(-1);
    expect(user).toBeTruthy();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    // USER comes before the command, so the server never runs as root.
    expect(final.lines.findIndex((l) => l.instruction === 'USER')).toBeLessThan(final.lines.findIndex((l) => l.instruction === 'CMD'));
    expect(of('HEALTHCHECK').join(' ')).toMatch(/\/docs\/json/);
    expect(JSON.parse(of('CMD').at(-1)!)).toEqual(['node', 'dist/src/server.js', '--migrate']);
  });

  it('has a .dockerignore that keeps local state and secrets out of the image', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules/', 'dist/', '.data/', '.env']) expect(ignored).toContain(entry);
  });
});

describe('the project scripts', () => {
  it('builds with tsc to dist/ (src and db/migrations) and starts with node, without tsx', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(pkg.scripts.build).toMatch(/^tsc -p tsconfig\.build\.json/);
    expect(pkg.scripts.start).toBe('node dist/src/server.js --migrate');
    expect(pkg.scripts.dev).toMatch(/^tsx /);
    expect(pkg.dependencies.tsx).toBeUndefined();
    expect(pkg.devDependencies.tsx).toBeTruthy();
    const build = JSON.parse(read('tsconfig.build.json')) as { extends: string; compilerOptions: Record<string, unknown>; include: string[] };
    expect(build.compilerOptions).toMatchObject({ noEmit: false, outDir: 'dist', rootDir: '.' });
    expect(build.include).toEqual(['src', 'db']);
    expect(read('.gitignore')).toMatch(/^dist\/$/m);
  });

  it('depends on backdev by version range, with no .npmrc', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    expect(pkg.dependencies.backdev).toBe(`^${version}`);
    expect(() => read('.npmrc')).toThrow();
  });
});

describe('--backdev', () => {
  it('a folder is installed as a copy (.npmrc install-links), so its peer dependencies are the project’s', async () => {
    const folder = path.join(parent, 'from-folder');
    expect((await runInit({ dir: folder, backdevVersion: REPO }, memoryOutput())).exitCode).toBe(0);
    expect(readFileSync(path.join(folder, '.npmrc'), 'utf8')).toMatch(/^install-links=true$/m);
    const pkg = JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies.backdev).toBe(`file:${path.relative(folder, REPO)}`);
  });

  const root = '/work/projects/shop';
  const cwd = '/work/projects';
  it.each([
    [undefined, `^${backdevPackageVersion()}`],
    ['', `^${backdevPackageVersion()}`],
    ['^0.2.0', '^0.2.0'],
    ['latest', 'latest'],
    ['file:../../backdev', 'file:../../backdev'],
    ['./backdev-0.1.0.tgz', 'file:../backdev-0.1.0.tgz'],
    ['/opt/backdev', 'file:../../../opt/backdev'],
    ['../clones/backdev', 'file:../../clones/backdev'],
    ['backdev-0.1.0.tgz', 'file:../backdev-0.1.0.tgz'],
  ])('%j → %s', (spec, expected) => {
    expect(backdevDependency(spec, root, cwd)).toBe(expected);
  });

  it('a folder that exists is a path even without ./', () => {
    expect(backdevDependency(path.basename(REPO), path.join(path.dirname(REPO), 'p'), path.dirname(REPO))).toBe(`file:../${path.basename(REPO)}`);
  });
});
