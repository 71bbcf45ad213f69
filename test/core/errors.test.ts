/** The error and warning catalogue in docs/errors.md matches the codes the code can produce, both ways. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ErrorCodes } from '../../generators/core/errors.js';
import { SchemaWarningCodes } from '../../generators/core/ir/json-schema.js';
import { REPO } from '../helpers.js';

const docs = readFileSync(path.join(REPO, 'docs/errors.md'), 'utf8');
const documented = new Set([...docs.matchAll(/`BACKDEV_([A-Z0-9_]+)`/g)].map((m) => m[1]!));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const full = path.join(dir, e);
    return statSync(full).isDirectory() ? sources(full) : full.endsWith('.ts') ? [full] : [];
  });
}

const warningCodes = new Set<string>(Object.values(SchemaWarningCodes));
for (const file of sources(path.join(REPO, 'generators'))) {
  for (const m of readFileSync(file, 'utf8').matchAll(/\bcode: '([A-Z0-9_]+)'/g)) warningCodes.add(m[1]!);
}

it('documents every error code', () => {
  expect(Object.keys(ErrorCodes).filter((c) => !documented.has(c))).toEqual([]);
});

it('documents every warning code', () => {
  expect([...warningCodes].filter((c) => !documented.has(c))).toEqual([]);
});

it('documents no code that does not exist', () => {
  const known = new Set([...Object.keys(ErrorCodes), ...warningCodes]);
  expect([...documented].filter((c) => !known.has(c))).toEqual([]);
});
