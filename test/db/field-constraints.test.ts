/**
 * The constraints `--endpoint` puts in the spec for PostgreSQL's sake agree with PostgreSQL: what the
 * schema accepts, the database stores (and reads back as a value the same schema accepts); what the
 * database refuses, the schema refuses first. Checked on PGlite with the validator the server uses (Ajv
 * with ajv-formats).
 */
import { PGlite } from '@electric-sql/pglite';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATE_PATTERN, DATE_TIME_PATTERN, FIELDS_HELP, INDEXED_TEXT_MAX_LENGTH, NO_NUL_PATTERN } from '../../generators/core/resource/fields.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true }));
let db: PGlite;

beforeAll(async () => {
  db = await PGlite.create();
  await db.exec('create table t (name text primary key)');
});
afterAll(async () => {
  await db.close();
});

/** Whether PostgreSQL takes `value` as `type`, and what it reads back. */
async function store(value: string, type: 'date' | 'timestamptz' | 'text'): Promise<{ ok: boolean; back?: unknown }> {
  try {
    const { rows } = await db.query<{ v: unknown }>(`select $1::${type} as v`, [value]);
    return { ok: true, back: rows[0]!.v };
  } catch {
    return { ok: false };
  }
}

describe('date fields', () => {
  const valid = ajv.compile({ type: 'string', format: 'date', pattern: DATE_PATTERN });
  it.each(['0001-01-01', '1970-01-01', '2024-02-29', '9999-12-31', '0000-01-01', '0000-12-31', '2023-02-29'])('%s', async (value) => {
    const stored = await store(value, 'date');
    if (valid(value)) expect(stored.ok).toBe(true);
    if (!stored.ok) expect(valid(value)).toBe(false);
  });
});

describe('date-time fields', () => {
  const valid = ajv.compile({ type: 'string', format: 'date-time', pattern: DATE_TIME_PATTERN });
  const values = [
    '2024-01-31T12:00:00Z',
    '0001-01-01T00:00:00Z',
    '0001-01-01T00:00:00-01:00',
    '0001-01-01T00:30:00+01:00',
    '0000-06-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
    '9999-12-31T23:00:00+05:00',
    '9999-12-31T23:00:00-05:00',
  ];
  it.each(values)('%s', async (value) => {
    const stored = await store(value, 'timestamptz');
    if (!stored.ok) expect(valid(value)).toBe(false);
    if (valid(value)) {
      // Stored, and read back as an instant the same schema accepts (what the API then answers).
      expect(stored.ok).toBe(true);
      const back = (stored.back as Date).toISOString();
      expect(valid(back), back).toBe(true);
    }
  });
  it('refuses the edges that would read back outside RFC 3339', () => {
    expect(valid('0000-06-01T00:00:00Z')).toBe(false);
    expect(valid('0001-01-01T00:30:00+01:00')).toBe(false);
    expect(valid('9999-12-31T23:00:00-05:00')).toBe(false);
    expect(valid('2024-01-31T12:00:00+05:00')).toBe(true);
  });
});

describe('text fields', () => {
  const valid = ajv.compile({ type: 'string', pattern: NO_NUL_PATTERN });
  it('refuse NUL, which PostgreSQL text cannot hold, and accept everything else', async () => {
    for (const value of ['a\u0000b', '\u0000']) {
      expect(valid(value)).toBe(false);
      expect((await store(value, 'text')).ok).toBe(false);
    }
    for (const value of ['', 'plain', 'tab\tnew\nline', '\u0001\u001f', 'émoji 🎉', '\u2028']) {
      expect(valid(value)).toBe(true);
      expect((await store(value, 'text')).ok).toBe(true);
    }
  });

  it(`indexed ones hold ${INDEXED_TEXT_MAX_LENGTH} characters of any UTF-8, which fit a btree entry; more may not`, async () => {
    const valid = ajv.compile({ type: 'string', pattern: NO_NUL_PATTERN, maxLength: INDEXED_TEXT_MAX_LENGTH });
    const widest = String.fromCodePoint(0x10ffff).repeat(INDEXED_TEXT_MAX_LENGTH);
    expect(valid(widest)).toBe(true);
    await db.query('insert into t values ($1)', [widest]);
    // Characters that do not compress, 2.7 kB of them: over the index's limit, and over maxLength.
    const big = Array.from({ length: 2700 }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 20000))).join('');
    expect(valid(big)).toBe(false);
    await expect(db.query('insert into t values ($1)', [big])).rejects.toMatchObject({ code: '54000' });
  });

  it('the limit is in the fields help', () => {
    expect(FIELDS_HELP).toContain(String(INDEXED_TEXT_MAX_LENGTH));
  });
});
