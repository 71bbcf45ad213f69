import { describe, expect, it } from 'vitest';
import { camelCase, isSafeIdentifier, kebabCase, NameTable, pascalCase, toFileStem, toIdentifier } from '../../generators/core/ir/names.js';

describe('names', () => {
  it.each([
    ['listPets', 'listPets', 'ListPets', 'list-pets'],
    ['get_pet-by.id', 'getPetById', 'GetPetById', 'get-pet-by-id'],
    ['GET /pets/{petId}', 'getPetsPetId', 'GetPetsPetId', 'get-pets-pet-id'],
    ['HTTPServerError', 'httpServerError', 'HttpServerError', 'http-server-error'],
    ['repos/get-content', 'reposGetContent', 'ReposGetContent', 'repos-get-content'],
    ['Ünïcödé name', 'unicodeName', 'UnicodeName', 'unicode-name'],
  ])('%s → %s / %s / %s', (raw, camel, pascal, kebab) => {
    expect(camelCase(raw)).toBe(camel);
    expect(pascalCase(raw)).toBe(pascal);
    expect(kebabCase(raw)).toBe(kebab);
  });

  it.each([
    ['delete', 'delete_'],
    ['constructor', 'constructor_'],
    ['1st', '_1st'],
    ['../../etc/passwd', 'etcPasswd'],
    ['`${x}`', 'x'],
    ['日本', 'operation'],
    ['', 'operation'],
  ])('toIdentifier(%j) = %s', (raw, want) => {
    const id = toIdentifier(raw, 'camel', 'operation');
    expect(id).toBe(want);
    expect(isSafeIdentifier(id)).toBe(true);
  });

  it.each([
    ['../../../escape', 'escape'],
    ['CON', 'con-'],
    ['', 'default'],
    ['Pets & Owners', 'pets-owners'],
  ])('toFileStem(%j) = %s', (raw, want) => {
    expect(toFileStem(raw, 'default')).toBe(want);
  });

  it('NameTable resolves collisions deterministically, case-insensitively when asked', () => {
    const t = new NameTable({ reserved: ['handlers'] });
    expect(['a', 'a', 'handlers', 'a'].map((n) => t.claim(n))).toEqual(['a', 'a2', 'handlers2', 'a3']);
    const files = new NameTable({ caseInsensitive: true });
    expect(files.claim('Pets')).toBe('Pets');
    expect(files.claim('pets')).toBe('pets2');
  });
});
