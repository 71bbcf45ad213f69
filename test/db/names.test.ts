import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkName,
  fitIdentifier,
  foreignKeyName,
  indexName,
  isSqlName,
  MAX_IDENTIFIER_BYTES,
  pluralize,
  primaryKeyName,
  quoteIdent,
  singularize,
  SqlNameTable,
  tableName,
  toSqlName,
} from '../../generators/core/db/names.js';

describe('SQL names', () => {
  it.each([
    ['BlogPost', 'blog_post'],
    ['createdAt', 'created_at'],
    ['created_at', 'created_at'],
    ['HTTPServerError', 'http_server_error'],
    ['userID', 'user_id'],
    ['ownerId', 'owner_id'],
    ['a--b__c', 'a_b_c'],
    ['x-backdev-ref', 'x_backdev_ref'],
    ['café', 'cafe'],
    ['Ünïcödé', 'unicode'],
    ['Größe', 'gro_e'],
    ['日本', 'unnamed'],
    ['', 'unnamed'],
    ['__v', 'v'],
    ['1st', '_1st'],
    ['2024Sales', '_2024_sales'],
    ['select', 'select'],
    ['order', 'order'],
    ['user', 'user'],
    ['"; drop table x; --', 'drop_table_x'],
    // Near misses of the already-snake_case shortcut: each still needs the full conversion.
    ['a__b', 'a_b'],
    ['v_', 'v'],
    ['a_B', 'a_b'],
    ['a_1', 'a_1'],
    ['a\u0301b', 'ab'],
  ])('toSqlName(%j) = %s', (raw, want) => {
    expect(toSqlName(raw)).toBe(want);
    expect(isSqlName(toSqlName(raw))).toBe(true);
  });

  it('uses the fallback when nothing is left', () => {
    expect(toSqlName('—', 'column')).toBe('column');
    expect(toSqlName('—', '')).toBe('unnamed');
  });

  it.each([
    ['BlogPost', 'blog_posts'],
    ['Category', 'categories'],
    ['Box', 'boxes'],
    ['Status', 'statuses'],
    ['Address', 'addresses'],
    ['Analysis', 'analyses'],
    ['Person', 'people'],
    ['Key', 'keys'],
    ['Users', 'users'],
    ['Data', 'data'],
    ['OrderItem', 'order_items'],
    ['User', 'users'],
    ['Order', 'orders'],
    ['Item2', 'item2'],
  ])('tableName(%s) = %s', (model, want) => {
    expect(tableName(model)).toBe(want);
  });

  it('pluralizes and singularizes simple English words', () => {
    for (const [one, many] of [
      ['post', 'posts'],
      ['tag', 'tags'],
      ['category', 'categories'],
      ['box', 'boxes'],
      ['child', 'children'],
      ['leaf', 'leaves'],
    ]) {
      expect(pluralize(one!)).toBe(many);
      expect(singularize(many!)).toBe(one);
    }
  });

  it('shortens names over 63 bytes deterministically, keeping a prefix and 8 hex digits of a sha256', () => {
    const long = 'a_very_long_table_name_that_goes_on_and_on_and_on_beyond_the_limit_of_postgres';
    const short = fitIdentifier(long);
    expect(Buffer.byteLength(short)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
    const sha = createHash('sha256').update(long).digest('hex').slice(0, 8);
    expect(short).toBe(`${long.slice(0, 54)}_${sha}`);
    expect(fitIdentifier(long)).toBe(short);
    expect(fitIdentifier(`${long}_2`)).not.toBe(short);
    expect(fitIdentifier('x'.repeat(63))).toBe('x'.repeat(63));
    expect(fitIdentifier('x'.repeat(64))).toHaveLength(63);
    // Bytes, not characters: multi-byte text is cut on a character boundary.
    const accented = fitIdentifier('é'.repeat(40));
    expect(Buffer.byteLength(accented)).toBeLessThanOrEqual(63);
    expect(accented).toMatch(/^é+_[0-9a-f]{8}$/);
    expect(toSqlName(long)).toBe(short);
    expect(tableName('ExtraordinarilyLongModelNameThatKeepsGoingWellBeyondTheLimitsOfPostgres')).toMatch(/^extraordinarily_long_model_name_that_keeps_going_well_[0-9a-f]{8}$/);
  });

  it('names indexes and constraints, shortened the same way', () => {
    expect(indexName('posts', ['author_id'], false)).toBe('posts_author_id_idx');
    expect(indexName('users', ['email'], true)).toBe('users_email_key');
    expect(indexName('a', ['b', 'c'], false)).toBe('a_b_c_idx');
    expect(foreignKeyName('posts', ['author_id'])).toBe('posts_author_id_fkey');
    expect(checkName('orders', 'status')).toBe('orders_status_check');
    expect(primaryKeyName('orders')).toBe('orders_pkey');
    const long = indexName('t'.repeat(50), ['c'.repeat(30)], true);
    expect(long).toHaveLength(63);
    expect(long).toBe(fitIdentifier(`${'t'.repeat(50)}_${'c'.repeat(30)}_key`));
  });

  it('resolves collisions deterministically', () => {
    const names = new SqlNameTable(['id']);
    expect(names.claim('id')).toBe('id_2');
    expect(names.claim('name')).toBe('name');
    expect(names.claim('name')).toBe('name_2');
    expect(names.claim('name')).toBe('name_3');
    const long = 'z'.repeat(70);
    const first = names.claim(long);
    const second = names.claim(long);
    expect(first).not.toBe(second);
    expect(Buffer.byteLength(second)).toBeLessThanOrEqual(63);
    expect(names.has(second)).toBe(true);
  });

  it('quotes identifiers, doubling quotes', () => {
    expect(quoteIdent('user')).toBe('"user"');
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteIdent('')).toBe('""');
  });

  it('tells SQL names from other text', () => {
    expect(isSqlName('blog_posts')).toBe(true);
    expect(isSqlName('_1st')).toBe(true);
    expect(isSqlName('Blog')).toBe(false);
    expect(isSqlName('a.b')).toBe(false);
    expect(isSqlName('1a')).toBe(false);
    expect(isSqlName('')).toBe(false);
    expect(isSqlName('x'.repeat(64))).toBe(false);
  });
});
