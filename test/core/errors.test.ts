/** The error and warning catalogues match docs/errors.md, both ways, and every code the source writes is catalogued. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ErrorCodes } from '../../generators/core/errors.js';
import { SchemaWarningCodes } from '../../generators/core/ir/json-schema.js';
import { WarningCodes } from '../../generators/core/warnings.js';
import { REPO } from '../helpers.js';

const docs = readFileSync(path.join(REPO, 'docs/errors.md'), 'utf8');
const [errorSection = '', warningSection = ''] = docs.split(/^## Warnings$/m);
const codesIn = (text: string) => new Set([...text.matchAll(/`BACKDEV_([A-Z0-9_]+)`/g)].map((m) => m[1]!));
const documentedErrors = codesIn(errorSection);
const documentedWarnings = codesIn(warningSection);

const errorCodes = Object.keys(ErrorCodes);
const warningCodes = Object.keys(WarningCodes);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const full = path.join(dir, e);
    return statSync(full).isDirectory() ? sources(full) : full.endsWith('.ts') ? [full] : [];
  });
}

it('documents every error code in the Errors section', () => {
  expect(errorCodes.filter((c) => !documentedErrors.has(c))).toEqual([]);
});

it('documents every warning code in the Warnings section', () => {
  expect(warningCodes.filter((c) => !documentedWarnings.has(c))).toEqual([]);
});

it('documents no error or warning that is not in its catalogue', () => {
  expect([...documentedErrors].filter((c) => !(c in ErrorCodes))).toEqual([]);
  expect([...documentedWarnings].filter((c) => !(c in WarningCodes))).toEqual([]);
});

it('gives every catalogued code a one-line meaning, and no code is both an error and a warning', () => {
  for (const meaning of [...Object.values(ErrorCodes), ...Object.values(WarningCodes)]) expect(meaning).toMatch(/^[^\n]{10,}$/);
  expect(errorCodes.filter((c) => c in WarningCodes)).toEqual([]);
});

it('catalogues every warning code written in the source', () => {
  const written = new Set<string>(Object.values(SchemaWarningCodes));
  for (const dir of ['generators', 'commands']) {
    for (const file of sources(path.join(REPO, dir))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bcode: '([A-Z0-9_]+)'/g)) written.add(m[1]!);
    }
  }
  expect([...written].filter((c) => !(c in WarningCodes) && !(c in ErrorCodes))).toEqual([]);
});
