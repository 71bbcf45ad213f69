/**
 * `.backdev/manifest.json`: which files backdev wrote, by which generator, and (for generated files) the
 * hash of what it wrote, so that a hand edit is detected instead of overwritten.
 *
 * A file several generators write into (src/app.ts: init creates it, design-database and add-auth merge
 * their wiring into it) keeps the generator that created it as `generator` and lists the others in
 * `sharedWith`: a run never takes a file over from another generator, so the manifest, and every
 * generator's `--check`, agree whatever the order the generators ran in.
 */
import { createHash } from 'node:crypto';
import { BackdevError } from '../errors.js';
import type { Ownership } from './types.js';

export const MANIFEST_PATH = '.backdev/manifest.json';

export interface ManifestEntry {
  /** The generator that first wrote the file. */
  generator: string;
  /** Other generators that write or merge into the same file, sorted. */
  sharedWith?: string[];
  ownership: Ownership;
  /** `sha256-<hex>` of the content written; generated files only. */
  hash?: string;
  /** Hash of the inputs the content was derived from, when the generator records one. */
  inputHash?: string;
}

export interface Manifest {
  version: 1;
  files: Record<string, ManifestEntry>;
}

export function hashContent(content: string): string {
  return 'sha256-' + createHash('sha256').update(content, 'utf8').digest('hex');
}

export function parseManifest(text: string | undefined, file: string): Manifest {
  if (text === undefined) return { version: 1, files: {} };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new BackdevError('CONFIG_INVALID', `${file} is not valid JSON (${(err as Error).message}); restore it from version control`, {
      location: { file },
    });
  }
  const m = data as Partial<Manifest>;
  if (m?.version !== 1 || m.files === null || typeof m.files !== 'object') {
    throw new BackdevError('CONFIG_INVALID', `${file} is not a backdev manifest (version 1)`, { location: { file } });
  }
  return { version: 1, files: { ...m.files } };
}

export function serializeManifest(manifest: Manifest): string {
  const files: Record<string, ManifestEntry> = {};
  for (const key of Object.keys(manifest.files).sort()) {
    const e = manifest.files[key]!;
    const shared = [...new Set(e.sharedWith ?? [])].filter((g) => g !== e.generator).sort();
    const entry: ManifestEntry = { generator: e.generator, ...(shared.length > 0 ? { sharedWith: shared } : {}), ownership: e.ownership };
    if (e.hash) entry.hash = e.hash;
    if (e.inputHash) entry.inputHash = e.inputHash;
    files[key] = entry;
  }
  return JSON.stringify({ version: 1, files }, null, 2) + '\n';
}
