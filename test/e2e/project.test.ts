/**
 * End to end, as a newcomer would do it: `backdev init` → `npm install` → `tsc --noEmit` → the generated
 * tests → the server over real HTTP. Once for the 3.0 Petstore-like YAML spec and once for a 3.1 spec with
 * oneOf, type arrays, a recursive schema and $refs into a second file.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backdev, cleanup, installProject, runCommand, SPECS, startServer, stopServer } from '../helpers.js';

/** The test includes `npm install` of the new project. */
const INSTALL_TIMEOUT = 400_000;
const projects: string[] = [];
afterAll(() => projects.forEach(cleanup));

/** init → npm install → tsc → generated tests; returns the project folder. */
async function newProject(name: string, spec?: string): Promise<string> {
  // Outside the repo, so that nothing resolves from backdev's own node_modules.
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'backdev-e2e-')), name);
  projects.push(path.dirname(dir));
  const init = await backdev(['init', dir, ...(spec ? ['--spec', spec] : [])]);
  expect(init.code, init.stderr).toBe(0);
  await installProject(dir);
  const tsc = await runCommand(process.execPath, [path.join(dir, 'node_modules/typescript/bin/tsc'), '--noEmit'], { cwd: dir });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.code).toBe(0);
  const tests = await runCommand('npm', ['test'], { cwd: dir, env: { CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' } });
  expect(tests.code, tests.stdout + tests.stderr).toBe(0);
  expect(tests.stdout).toMatch(/Tests\s+\d+ passed/);
  return dir;
}

const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> });

describe('Petstore-like 3.0 YAML spec', () => {
  it('init → npm install → tsc → generated tests → real HTTP', async () => {
    const dir = await newProject('petstore');
    // The project's typecheck uses TypeScript 7 as installed in it.
    expect(JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).devDependencies.typescript).toMatch(/^\^?7\./);
    const server = await startServer(dir);
    try {
      // A valid request reaches the (stub) handler.
      const created = await json(await fetch(`${server.url}/pets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Rex', tag: null }) }));
      expect(created).toMatchObject({ status: 501, body: { status: 501, detail: expect.stringContaining('createPet') } });
      const shown = await json(await fetch(`${server.url}/pets/7`));
      expect(shown).toMatchObject({ status: 501, body: { status: 501, detail: expect.stringContaining('showPetById') } });
      // Where the pet store declares its own error body (`Error {code, message}`), errors are sent in it.
      // Invalid requests get 400 naming the failing field.
      const missing = await json(await fetch(`${server.url}/pets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"tag":"x"}' }));
      expect(missing.status).toBe(400);
      expect(missing.body).toEqual({ code: 400, message: '/body/name is required' });
      const badParam = await json(await fetch(`${server.url}/pets/not-a-number`));
      expect(badParam.status).toBe(400);
      expect(badParam.body).toEqual({ code: 400, message: expect.stringMatching(/petId/) });
      const badQuery = await json(await fetch(`${server.url}/pets?limit=1000`));
      expect(badQuery.status).toBe(400);
      expect(badQuery.body.message).toMatch(/limit/);
      const badHeader = await json(await fetch(`${server.url}/pets/3`, { method: 'DELETE' }));
      expect(badHeader.status).toBe(400);
      expect(badHeader.body).toEqual({ code: 400, message: expect.stringMatching(/x-request-id/) });
      // Swagger UI and the spec.
      expect((await fetch(`${server.url}/docs/`)).status).toBe(200);
      expect(((await (await fetch(`${server.url}/docs/json`)).json()) as { info: { title: string } }).info.title).toBe('Petstore');
    } finally {
      await stopServer(server);
    }
  }, INSTALL_TIMEOUT);
});

describe('3.1 spec with oneOf, type arrays and a $ref to a second file', () => {
  it('init → npm install → tsc → generated tests → real HTTP', async () => {
    const dir = await newProject('zoo', path.join(SPECS, 'multi/openapi.yaml'));
    const types = readFileSync(path.join(dir, 'src/generated/openapi.gen.ts'), 'utf8');
    expect(types).toMatch(/Animal: components\["schemas"\]\["Cat"\] \| components\["schemas"\]\["Dog"\]/);
    expect(types).toMatch(/nickname\?: string \| null/);
    const server = await startServer(dir);
    try {
      const post = (body: unknown) => fetch(`${server.url}/animals`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(json);
      expect(await post({ kind: 'cat', name: 'Tom', lives: 9 })).toMatchObject({ status: 501, body: { status: 501, detail: expect.stringContaining('createAnimal') } });
      expect(await post({ kind: 'dog', name: 'Rex' })).toMatchObject({ status: 501 });
      const bad = await post({ kind: 'cat', name: 'Tom', lives: 10 });
      expect(bad.status).toBe(400);
      expect(bad.body.detail).toMatch(/lives|oneOf|must match/);
      const fish = await post({ kind: 'fish', name: 'Nemo' });
      expect(fish.status).toBe(400);
      expect((await json(await fetch(`${server.url}/animals?kind=cat`))).status).toBe(501);
      const badKind = await json(await fetch(`${server.url}/animals?kind=bird`));
      expect(badKind.status).toBe(400);
      expect(badKind.body.errors).toMatchObject([{ pointer: '/query/kind' }]);
      const badId = await json(await fetch(`${server.url}/animals/not-a-uuid/tree`));
      expect(badId.status).toBe(400);
      expect(badId.body.errors).toMatchObject([{ pointer: '/params/id' }]);
    } finally {
      await stopServer(server);
    }
  }, INSTALL_TIMEOUT);
});
