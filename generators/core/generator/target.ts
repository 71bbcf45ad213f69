/** Where a generator writes: the project root, its output folders, spec and templates, from options + config. */
import path from 'node:path';
import { CONFIG_FILE, findConfig, loadConfig } from '../config.js';
import { BackdevError } from '../errors.js';
import type { ResolvedTarget } from './types.js';

export interface TargetOptions {
  /** Spec file or URL; default: `spec` in backdev.config.json. */
  spec?: string | undefined;
  /** Project folder; default: the folder of backdev.config.json, else the current one. */
  out?: string | undefined;
  /** Template override folder; default: `templates` in backdev.config.json. */
  templates?: string | undefined;
}

const isUrl = (p: string) => /^https?:\/\//i.test(p);

/**
 * Resolves the target of a run. With `out`, the project is that folder (its own config file, if it has one);
 * without, the nearest backdev.config.json above `cwd`. `requireSpec`: no spec anywhere is a usage error.
 */
export function resolveTarget(options: TargetOptions, cwd: string, requireSpec = true): ResolvedTarget {
  const configFile = options.out ? configIn(path.resolve(cwd, options.out)) : findConfig(cwd);
  const { config, dir } = loadConfig(configFile);
  const root = options.out ? path.resolve(cwd, options.out) : (dir ?? cwd);
  const fromConfig = (p: string | undefined) => (p === undefined || isUrl(p) ? p : path.resolve(dir ?? root, p));
  const spec = options.spec ? (isUrl(options.spec) ? options.spec : path.resolve(cwd, options.spec)) : fromConfig(config.spec);
  if (!spec && requireSpec) {
    throw new BackdevError('OPTION_INVALID', `no spec given: pass --spec <file|url>, or run inside a project whose ${CONFIG_FILE} names one`);
  }
  const templates = options.templates ? path.resolve(cwd, options.templates) : fromConfig(config.templates);
  return { root, dirs: config.output, spec, templates };
}

/** The spec file as a path inside the project, for commands that edit it; a usage error otherwise. */
export function editableSpec(target: ResolvedTarget, flag: string): { file: string; relative: string } {
  const spec = target.spec;
  if (spec === undefined || isUrl(spec)) throw new BackdevError('OPTION_INVALID', `${flag} edits the spec, so the spec must be a local file`);
  const rel = path.relative(target.root, spec);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new BackdevError('OPTION_INVALID', `${flag} edits the spec, which must be inside the project folder ${target.root} (it is ${spec})`);
  }
  return { file: spec, relative: rel.split(path.sep).join('/') };
}

/** The config file of exactly this folder (not of a parent). */
function configIn(dir: string): string | undefined {
  const file = findConfig(dir);
  return file && path.dirname(file) === dir ? file : undefined;
}
