/**
 * design-database builds the TypeScript types of tables and entities as structures and prints them once:
 * enum values that read like types (`Date`, `null`, `string | number`) or like code (quotes, `*\/`,
 * backticks, line separators) stay literals, and the project type-checks.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../generators/core/report.js';
import { printType, tsArray, tsKeyword, tsLiteral, tsMapKeyword, tsNonNull, tsNullable, tsUnion, type TsType } from '../../generators/core/render/ts-type.js';
import { designSchema } from '../../generators/design-database/mapping.js';
import { buildDatabaseView } from '../../generators/design-database/view-model.js';
import { runInit } from '../../generators/index.js';
import { backdevInProcess, cleanup, linkBackdev, tempDir, typecheck } from '../helpers.js';

/** Enum values that an edit-the-text type builder gets wrong, or that break out of a literal. */
const VALUES = ['Date', 'null', 'string | number', 'string', "it's", 'say "hi"', '`${globalThis.process.exit(9)}`', '*/', 'a\nb', 'x\u2028y\u2029z', '</script>', '../x', ' | null'];

const STATUS = {
  type: 'object',
  'x-backdev-table': true,
  required: ['status', 'kind'],
  properties: {
    status: { type: 'string', enum: VALUES },
    kind: { type: 'string', enum: ['Date', 'number'], nullable: true },
    maybe: { type: 'string', enum: ['Date', ' | null'] },
    seen: { type: 'string', format: 'date-time' },
    at: { type: 'string', format: 'date-time', nullable: true },
    level: { type: 'integer', enum: [1, -2, 30] },
  },
};

describe('type structures', () => {
  const cases: { name: string; given: TsType; want: string }[] = [
    { name: 'a literal that reads like a keyword stays a literal', given: tsUnion(tsLiteral('Date'), tsLiteral('null')), want: "'Date' | 'null'" },
    { name: 'quotes and line separators are escaped', given: tsLiteral("a'b\u2028"), want: "'a\\'b\\u2028'" },
    { name: 'nullable adds null once', given: tsNullable(tsNullable(tsKeyword('string'))), want: 'string | null' },
    { name: 'non-null removes only the keyword', given: tsNonNull(tsUnion(tsLiteral('null'), tsLiteral(' | null'), tsKeyword('null'))), want: "'null' | ' | null'" },
    { name: 'an array of a union is parenthesized', given: tsArray(tsUnion(tsLiteral(1), tsLiteral(-2))), want: '(1 | -2)[]' },
    { name: 'mapping a keyword leaves equal literals alone', given: tsMapKeyword(tsUnion(tsLiteral('Date'), tsKeyword('Date'), tsKeyword('null')), 'Date', tsKeyword('string')), want: "'Date' | string | null" },
  ];
  for (const c of cases) it(c.name, () => expect(printType(c.given)).toBe(c.want));
});

describe('the view of a model with hostile enum values', () => {
  const doc = { openapi: '3.0.3', info: { title: 't', version: '1' }, paths: {}, components: { schemas: { Status: STATUS } } };
  const schema = designSchema(doc, ['Status'], { primaryKey: 'uuid', timestamps: true }, []);
  const view = buildDatabaseView(schema, () => new Set(STATUS.required));
  const fields = Object.fromEntries(view.models[0]!.fields.map((f) => [f.property, printType(f.tsType)]));
  const columns = Object.fromEntries(view.tables[0]!.columns.map((c) => [c.property, printType(c.dbType)]));

  it('keeps every enum value as the literal it is, in entity and table types alike', () => {
    const values = [...VALUES].sort();
    expect(schema.tables[0]!.checks.find((c) => c.column === 'status')!.values).toEqual(values);
    const want = values
      .map((v) => `'${v.replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')}'`)
      .join(' | ');
    expect(fields.status).toBe(want);
    expect(columns.status).toBe(want);
    expect(fields.kind).toBe("'Date' | 'number' | null");
    expect(columns.kind).toBe("'Date' | 'number' | null");
    expect(fields.maybe).toBe("' | null' | 'Date'");
    expect(columns.maybe).toBe("' | null' | 'Date' | null");
    expect(fields.level).toBe('-2 | 1 | 30');
  });

  it('timestamps: Date in the table, ISO strings in the entity', () => {
    expect(columns.seen).toBe('ColumnType<Date | null, Date | string | null, Date | string | null>');
    expect(fields.seen).toBe('string');
    expect(columns.at).toBe('ColumnType<Date | null, Date | string | null, Date | string | null>');
    expect(columns.createdAt).toBe('ColumnType<Date, Date | string | undefined, Date | string>');
    expect(fields.createdAt).toBe('string');
  });
});

describe('design-database output with hostile enum values', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('design-types');
    await runInit({ dir, force: true }, memoryOutput());
    linkBackdev(dir);
    const spec = readFileSync(path.join(dir, 'openapi.yaml'), 'utf8');
    const yaml = `\ncomponents:\n  schemas:\n    Status: ${JSON.stringify(STATUS)}\n`;
    expect(spec).toContain('\ncomponents:\n  schemas:\n');
    writeFileSync(path.join(dir, 'openapi.yaml'), spec.replace('\ncomponents:\n  schemas:\n', yaml));
  });
  afterAll(() => cleanup(dir));

  it('type-checks, with the values in the repository as literals', async () => {
    const r = await backdevInProcess(['design-database'], dir);
    expect(r.code, r.stderr).toBe(0);
    const repo = readFileSync(path.join(dir, 'db/repositories/status.gen.ts'), 'utf8');
    expect(repo).toContain("'Date' | '`${globalThis.process.exit(9)}`' | 'a\\nb'");
    expect(repo).toContain("'string' | 'string | number'");
    expect(await typecheck(dir)).toBe('');
  });
});
