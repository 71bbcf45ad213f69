/**
 * `backdev.config.json`: where a project keeps its spec, its templates and its output folders, so that a
 * bare `backdev create-api` inside the project regenerates. Plain JSON: reading it runs no code.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BackdevError } from './errors.js';

export const CONFIG_FILE = 'backdev.config.json';

export interface OutputDirs {
  /** Generated files (`*.gen.ts`), rewritten every run. Default `src/generated`. */
  generated: string;
  /** Handler files, one per tag, yours to edit. Default `src/handlers`. */
  handlers: string;
  /** Test files, one per tag, yours to edit. Default `test`. */
  tests: string;
  /** Database files: `migrations/`, `schema.gen.ts`, `repositories/`. Default `db`. */
  db: string;
}

export interface BackdevConfig {
  /** The OpenAPI spec (path relative to the config file, or an http(s) URL). */
  spec?: string;
  /** A directory whose files override bundled templates by relative path (`create-api/routes.gen.ts.hbs`). */
  templates?: string;
  output: OutputDirs;
}

export const DEFAULT_OUTPUT: OutputDirs = { generated: 'src/generated', handlers: 'src/handlers', tests: 'test', db: 'db' };

export interface LoadedConfig {
  config: BackdevConfig;
  /** The directory holding the config file (the project root), or undefined when there is none. */
  dir: string | undefined;
  file: string | undefined;
}

/** Finds `backdev.config.json` in `start` or its parents. */
export function findConfig(start: string): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    const file = path.join(dir, CONFIG_FILE);
    if (existsSync(file)) return file;
    if (path.dirname(dir) === dir) return undefined;
  }
}

export function loadConfig(file: string | undefined): LoadedConfig {
  if (!file) return { config: { output: { ...DEFAULT_OUTPUT } }, dir: undefined, file: undefined };
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new BackdevError('CONFIG_INVALID', `cannot read ${file}: ${(err as Error).message}`, { location: { file } });
  }
  const fail = (pointer: string, message: string): never => {
    throw new BackdevError('CONFIG_INVALID', message, { location: { file, pointer } });
  };
  if (data === null || typeof data !== 'object' || Array.isArray(data)) fail('', 'the config must be a JSON object');
  const raw = data as Record<string, unknown>;
  const known = new Set(['$schema', 'spec', 'templates', 'output']);
  for (const key of Object.keys(raw)) if (!known.has(key)) fail(`/${key}`, `unknown config key "${key}" (known: spec, templates, output)`);
  const optionalString = (key: string): string | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') return fail(`/${key}`, `"${key}" must be a non-empty string`);
    return v;
  };
  const output = { ...DEFAULT_OUTPUT };
  if (raw.output !== undefined) {
    if (raw.output === null || typeof raw.output !== 'object' || Array.isArray(raw.output)) fail('/output', '"output" must be an object');
    for (const [key, value] of Object.entries(raw.output as Record<string, unknown>)) {
      if (!(key in DEFAULT_OUTPUT)) fail(`/output/${key}`, `unknown output folder "${key}" (known: generated, handlers, tests, db)`);
      if (typeof value !== 'string' || !isPlainRelative(value)) {
        fail(`/output/${key}`, `output.${key} must be a relative path inside the project, like "src/generated"`);
      }
      output[key as keyof OutputDirs] = (value as string).replace(/\\/g, '/').replace(/\/+$/, '');
    }
  }
  const config: BackdevConfig = { output };
  const spec = optionalString('spec');
  const templates = optionalString('templates');
  if (spec !== undefined) config.spec = spec;
  if (templates !== undefined) config.templates = templates;
  return { config, dir: path.dirname(file), file };
}

export function isPlainRelative(p: string): boolean {
  const parts = p.replace(/\\/g, '/').replace(/\/+$/, '').split('/');
  return p !== '' && !path.isAbsolute(p) && !parts.some((s) => s === '..' || s === '' || s === '.');
}
