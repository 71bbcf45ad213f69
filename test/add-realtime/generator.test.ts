/**
 * add-realtime on a project with two resources: the documented template context matches the view model,
 * spec text reaches code only through the escaping helpers, the wiring type-checks, a second run changes
 * nothing, and a resource with a hostile name is published under a safe topic.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Project } from 'ts-morph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../generators/core/report.js';
import { BUNDLED_TEMPLATES, listTemplates } from '../../generators/core/render/templates.js';
import { runAddAuth, runAddRealtime, runCreateApi, runInit } from '../../generators/index.js';
import { cleanup, linkBackdev, REPO, snapshotTree, SPECS, tempDir, typecheck } from '../helpers.js';

const README = readFileSync(path.join(BUNDLED_TEMPLATES, 'add-realtime/README.md'), 'utf8');
let dir: string;

beforeAll(async () => {
  dir = path.join(tempDir('add-realtime'), 'project');
  await runInit({ dir, empty: true }, memoryOutput());
  linkBackdev(dir);
  await runCreateApi({ out: dir, endpoint: 'notes', fields: 'title:string body:text?' }, memoryOutput());
  await runCreateApi({ out: dir, endpoint: 'tags', fields: 'label:string:unique' }, memoryOutput());
}, 120_000);
afterAll(() => cleanup(path.dirname(dir)));

describe('template context', () => {
  it('templates/add-realtime/README.md names every field of the view model and every template', () => {
    const project = new Project({ skipAddingFilesFromTsConfig: true });
    const file = project.addSourceFileAtPath(path.join(REPO, 'generators/add-realtime/view-model.ts'));
    const missing: string[] = [];
    for (const name of ['AddRealtimeView', 'EventView', 'TopicView']) {
      for (const prop of file.getInterfaceOrThrow(name).getProperties()) if (!README.includes(`\`${prop.getName()}\``)) missing.push(`${name}.${prop.getName()}`);
    }
    expect(missing).toEqual([]);
    for (const t of listTemplates('add-realtime').filter((f) => f.endsWith('.hbs'))) expect(README).toContain(`\`${t}\``);
  });

  it('prints view fields only through the escaping helpers', () => {
    const bare: string[] = [];
    for (const t of listTemplates('add-realtime').filter((f) => f.endsWith('.hbs'))) {
      const text = readFileSync(path.join(BUNDLED_TEMPLATES, 'add-realtime', t), 'utf8');
      for (const m of text.matchAll(/\{\{\{?\s*([^#/>!{}\s][^{}\s]*)\s*\}?\}\}/g)) if (m[1] !== 'else') bare.push(`${t}: ${m[0]}`);
    }
    expect(bare).toEqual([]);
  });
});

describe('add-realtime', () => {
  it('wires the hub before the routes and publishes the resources\' create, update and delete', async () => {
    const out = memoryOutput();
    const result = await runAddRealtime({ out: dir }, out);
    expect(result.exitCode).toBe(0);
    const gen = readFileSync(path.join(dir, 'src/generated/realtime.gen.ts'), 'utf8');
    for (const [route, type] of [
      ["'POST /notes'", "'notes.created'"],
      ["'PATCH /notes/:id'", "'notes.updated'"],
      ["'DELETE /notes/:id'", "'notes.deleted'"],
      ["'POST /tags'", "'tags.created'"],
    ]) expect(gen).toMatch(new RegExp(`${route!.replace(/[/:]/g, '\\$&')}: \\{ topic: '[a-z]+', type: ${type}`));
    expect(gen).not.toContain("'GET /notes'");
    const app = readFileSync(path.join(dir, 'src/app.ts'), 'utf8');
    expect(app.indexOf('await registerRealtime(app, createHub({ auth: options.auth !== false }));')).toBeGreaterThan(-1);
    expect(app.indexOf('await registerRealtime(')).toBeLessThan(app.indexOf('await registerRoutes('));
    const asyncapi = readFileSync(path.join(dir, 'src/generated/asyncapi.gen.ts'), 'utf8');
    expect(asyncapi).toContain("asyncapi: '3.0.0'");
    expect(JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies).toHaveProperty('@fastify/websocket');
    expect(out.stderr.join('\n')).toContain('BACKDEV_DEPENDENCY_ADDED');
    expect(await typecheck(dir)).toBe('');
  });

  it('a second run changes nothing and --check passes', async () => {
    const before = snapshotTree(dir);
    const again = await runAddRealtime({ out: dir }, memoryOutput());
    expect(again.report.changed).toBe(false);
    expect(snapshotTree(dir)).toEqual(before);
    expect((await runAddRealtime({ out: dir, check: true }, memoryOutput())).exitCode).toBe(0);
  });

  it('a new resource after add-realtime: its events after the next run, and --check says so before', async () => {
    await runCreateApi({ out: dir, endpoint: 'labels', fields: 'text:string' }, memoryOutput());
    expect((await runAddRealtime({ out: dir, check: true }, memoryOutput())).exitCode).toBe(1);
    await runAddRealtime({ out: dir }, memoryOutput());
    expect(readFileSync(path.join(dir, 'src/generated/realtime.gen.ts'), 'utf8')).toContain("'labels.created'");
  });
});

describe('add-realtime after add-auth', () => {
  let secured: string;
  beforeAll(async () => {
    secured = path.join(tempDir('add-realtime-auth'), 'project');
    await runInit({ dir: secured, spec: path.join(SPECS, 'auth.yaml') }, memoryOutput());
    linkBackdev(secured);
    await runAddAuth({ out: secured }, memoryOutput());
    await runCreateApi({ out: secured, endpoint: 'memos', fields: 'text:string' }, memoryOutput());
  }, 120_000);
  afterAll(() => cleanup(path.dirname(secured)));

  it('the hub asks for the API\'s credentials on the upgrade, and the project type-checks', async () => {
    expect((await runAddRealtime({ out: secured }, memoryOutput())).exitCode).toBe(0);
    const hub = readFileSync(path.join(secured, 'src/realtime.ts'), 'utf8');
    expect(hub).toContain('{ authenticate: authenticateWithSchemes(createVerifiers()) }');
    expect(hub).toContain("import { createVerifiers } from './auth.js';");
    // Without add-auth, the hub is open and says how to close it.
    expect(readFileSync(path.join(dir, 'src/realtime.ts'), 'utf8')).toMatch(/\/\/ authenticate: async/);
    expect(await typecheck(secured)).toBe('');
  });

  it('buildApp({ auth: false }) (the project\'s own tests) builds without the AUTH_* configuration, the hub open like the routes', async () => {
    const saved = { ...process.env };
    for (const k of Object.keys(process.env)) if (k.startsWith('AUTH_')) delete process.env[k];
    Object.assign(process.env, { DATA_DIR: 'memory://', DATABASE_URL: '' });
    let app: FastifyInstance | undefined;
    try {
      const { buildApp } = (await import(pathToFileURL(path.join(secured, 'src/app.ts')).href)) as { buildApp: (o: object) => Promise<FastifyInstance> };
      app = await buildApp({ logger: false, auth: false });
      await app.ready();
      expect(app.hasRoute({ method: 'GET', url: '/ws' })).toBe(true);
    } finally {
      await app?.close();
      process.env = saved;
    }
  }, 60_000);
});
