/**
 * create-api: spec (+ `--endpoint` additions) → IR → routes, schemas, typed handlers and tests. With
 * `--endpoint`, the resource's table, migration, types and repository come in the same all-or-nothing change
 * (the database planner).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DB_SNAPSHOT_PATH, modelDrift } from '../core/db/drift.js';
import { BackdevError, type Warning } from '../core/errors.js';
import { editableSpec, resolveTarget } from '../core/generator/target.js';
import type { Generator, GeneratorContext, PlannedRun, ResolvedTarget, WriteOptions } from '../core/generator/types.js';
import { optional, projectFolder, projectQuestion } from '../core/generator/prompts.js';
import { PACKAGE_ROOT } from '../core/package-root.js';
import { hashContent } from '../core/plan/manifest.js';
import { codeFingerprint, recordReads, reuseRun, runCacheKey, runCachePath, treeText, type RunCacheSeed } from '../core/plan/run-cache.js';
import type { FilePlan, Plan } from '../core/plan/types.js';
import { FIELDS_HELP, parseFields } from '../core/resource/fields.js';
import { GENERATOR } from './name.js';

export interface CreateApiOptions extends WriteOptions {
  /** Spec file or URL; defaults to `spec` in backdev.config.json. */
  spec?: string | undefined;
  /** Output (project) root; defaults to the folder holding backdev.config.json, else the current folder. */
  out?: string | undefined;
  /** Template override folder; defaults to `templates` in backdev.config.json. */
  templates?: string | undefined;
  /** Add a CRUD resource with this name to the spec first (or new fields to an existing one). */
  endpoint?: string | undefined;
  /** Fields of the `endpoint` resource. */
  fields?: string | undefined;
}

/** The models with a table in the last design, from its snapshot (none when there is none or it is unreadable). */
async function designedModels(snapshotText: string | undefined): Promise<string[]> {
  if (snapshotText === undefined) return [];
  const { parseSnapshot } = await import('../core/db/snapshot.js');
  try {
    return parseSnapshot(snapshotText, DB_SNAPSHOT_PATH)
      .tables.map((t) => t.model)
      .filter((m) => !m.includes('.'));
  } catch {
    return [];
  }
}

interface EndpointChange {
  rootText: string;
  model: string;
  refTargets: string[];
  existed: boolean;
  specFile: FilePlan | undefined;
  note: string;
}

/** `--endpoint` + `--fields`: the spec with the resource (or its new fields) added, not yet written. */
async function endpointChange(context: GeneratorContext, options: CreateApiOptions): Promise<EndpointChange> {
  const fields = parseFields(options.fields!);
  const spec = editableSpec(context.target, '--endpoint');
  const [{ readSpecText }, { addEndpoint }] = await Promise.all([import('../core/spec/load.js'), import('./endpoint.js')]);
  const edit = addEndpoint(await readSpecText(spec.file), spec.file, options.endpoint!, fields, {
    fieldsText: options.fields,
    checkRefs: true,
    knownModels: await designedModels(context.files.read(DB_SNAPSHOT_PATH)),
  });
  const note = !edit.changed
    ? `create-api: ${edit.schemaName} is already in ${spec.relative} as described`
    : edit.existing && edit.addedFields.length > 0
      ? `create-api: added ${edit.addedFields.join(', ')} to ${edit.schemaName}, ${edit.schemaName}Create and ${edit.schemaName}Update in ${spec.relative}`
      : `create-api: added ${edit.schemaName} and ${edit.operationIds.join(', ')} to ${spec.relative}`;
  return {
    rootText: edit.text,
    model: edit.schemaName,
    refTargets: edit.refTargets,
    existed: edit.existing,
    specFile: edit.changed ? { path: spec.relative, ownership: 'user-edit', content: edit.text } : undefined,
    note,
  };
}

export const createApi: Generator<CreateApiOptions> = {
  name: GENERATOR,
  outOfDate: 'the generated code is out of date; run `backdev create-api` and commit the result',
  target: (options, cwd) => resolveTarget(options, cwd),
  validate(options) {
    if ((options.endpoint === undefined) !== (options.fields === undefined) || options.endpoint === '' || options.fields === '') {
      throw new BackdevError('OPTION_INVALID', '--endpoint and --fields go together: --endpoint products --fields "name:string price:number"');
    }
  },
  interactive: {
    description: 'Generate routes, schemas, typed handlers and tests from the spec',
    questions: () => [
      projectQuestion(false),
      { type: 'input', name: 'spec', message: 'Spec file or URL (empty: from backdev.config.json)', default: '' },
      { type: 'input', name: 'endpoint', message: 'Add a CRUD resource first? Its name (empty: no)', default: '' },
      // Asked every time (empty when no resource is added): plop cannot bypass conditional prompts.
      { type: 'input', name: 'fields', message: `Fields of the resource (empty: none)\n${FIELDS_HELP}\n>`, default: '' },
      { type: 'confirm', name: 'dryRun', message: 'Dry run (show the diff, write nothing)?', default: false },
    ],
    options: (a) => ({ spec: optional(a.spec), out: projectFolder(a.out), endpoint: optional(a.endpoint), fields: optional(a.fields), dryRun: a.dryRun === true }),
  },
  async plan(context, options): Promise<PlannedRun> {
    const { target } = context;
    // A run that adds nothing to the spec, with the inputs and files of the last write: that write's plan again.
    const key = options.endpoint === undefined ? runKey(target) : undefined;
    const cachePath = runCachePath(GENERATOR);
    if (key !== undefined) {
      const reused = reuseRun(context.files, cachePath, key);
      if (reused) {
        const replay = reused.replay as Replay;
        const seed: RunCacheSeed = { path: cachePath, key, reads: reused.depends, replay };
        return {
          plans: [{ generator: GENERATOR, files: reused.files, warnings: reused.warnings, cache: seed }],
          notes: [],
          checkFailures: replay.checkFailures,
          details: { spec: target.spec },
        };
      }
    }
    const recording = key !== undefined ? recordReads(context.files) : undefined;
    const files = recording?.files ?? context.files;
    const notes: string[] = [];
    const endpoint = options.endpoint !== undefined ? await endpointChange(context, options) : undefined;
    if (endpoint) notes.push(endpoint.note);
    const [{ loadSpec }, { buildApi }] = await Promise.all([import('../core/spec/load.js'), import('../core/ir/build.js')]);
    const spec = await loadSpec(target.spec!, endpoint ? { rootText: endpoint.rootText } : {});
    const plan = await context.planners.api(spec, buildApi(spec), files, { dirs: target.dirs, templates: target.templates });
    // A table-backed schema that changed since design-database designed it: say so before it answers 500.
    // (With --endpoint, the database planner designs it in this same change.)
    const drift = endpoint ? [] : modelDrift(spec.document, files.read(DB_SNAPSHOT_PATH));
    const driftWarnings: Warning[] = drift.map((d) => ({
      code: 'SCHEMA_NOT_MIGRATED',
      subject: `schema ${JSON.stringify(d.model)}`,
      message:
        d.kind === 'changed'
          ? 'changed since its table was designed, and no migration covers it: run `backdev design-database`, then `npm run db:migrate` and restart the server'
          : 'is marked x-backdev-table but has no table yet: run `backdev design-database`, then `npm run db:migrate` and restart the server',
    }));
    const checkFailures =
      drift.length > 0
        ? [`the database design is out of date for ${drift.map((d) => d.model).join(', ')}; run \`backdev design-database\`, then \`npm run db:migrate\`, and commit the result`]
        : [];
    const replay: Replay = { checkFailures };
    const plans: Plan[] = [
      {
        ...plan,
        files: endpoint?.specFile ? [...plan.files, endpoint.specFile] : plan.files,
        warnings: [...plan.warnings, ...driftWarnings],
        ...(key !== undefined && recording ? { cache: { path: cachePath, key, reads: recording.reads, replay } } : {}),
      },
    ];
    let migrationFile: string | undefined;
    if (endpoint) {
      // The resource's table, and those of the models its fields refer to (a foreign key needs them).
      const design = await context.planners.database(spec.document, target.spec!, files, target.dirs, {
        models: [...new Set([endpoint.model, ...endpoint.refTargets])],
        templates: target.templates,
      });
      plans.push(design);
      migrationFile = design.migrationFile;
      if (migrationFile) {
        const table = design.schema.tables.find((t) => t.model === endpoint.model)?.name;
        notes.push(`create-api: ${endpoint.existed ? 'new columns of ' : ''}table ${table} in ${migrationFile}`);
      }
    }
    return {
      plans,
      notes,
      checkFailures,
      details: { spec: target.spec, ...(migrationFile ? { migration: migrationFile } : {}) },
    };
  },
};

/** What a reused run tells the user again (its warnings travel with the plan). */
interface Replay {
  checkFailures: string[];
}

/** A `$ref` whose value does not start with `#`: the spec has other files (or URLs) the key cannot see. */
const EXTERNAL_REF = /\$ref["']?\s*:\s*(?:"(?!#)|'(?!#)|[^"'\s#])/;

/**
 * The run cache key of a plain regeneration: the spec's bytes, create-api's templates (bundled and the
 * user's), the options that shape output, and backdev's code. None for a spec given as a URL or split over
 * several files (whose other files the key would not cover): those runs always plan in full.
 */
function runKey(target: ResolvedTarget): string | undefined {
  const spec = target.spec;
  if (spec === undefined || /^https?:\/\//i.test(spec)) return undefined;
  let text: string;
  try {
    text = readFileSync(spec, 'utf8');
  } catch {
    return undefined; // loadSpec reports it
  }
  if (EXTERNAL_REF.test(text)) return undefined;
  return runCacheKey({
    generator: GENERATOR,
    code: codeFingerprint(),
    spec: `${spec}\n${hashContent(text)}`,
    dirs: JSON.stringify(target.dirs),
    templates: treeText(path.join(PACKAGE_ROOT, 'templates', GENERATOR)),
    userTemplates: target.templates === undefined ? '' : `${path.resolve(target.templates)}\n${treeText(path.resolve(target.templates, GENERATOR))}`,
  });
}
