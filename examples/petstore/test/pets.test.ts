/**
 * Tests for the pets operations: each starts the app with recording handlers and checks that an
 * invalid request is rejected with 400 and a valid one reaches the handler. This file is yours: backdev
 * created it and only appends cases for new operations.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { recordCalls } from '../src/generated/testing.gen.js';

const recorder = recordCalls();
let app: FastifyInstance;

beforeAll(async () => {
  app = await buildApp({ logger: false, handlers: recorder.handlers, auth: false });
});
afterAll(async () => {
  await app.close();
});
beforeEach(() => recorder.reset());

describe('listPets', () => {
  it('is routed', () => {
    expect(app.hasRoute({ method: 'GET', url: '/pets' })).toBe(true);
  });
  it('passes a valid request to the handler', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/pets',
    });
    expect(res.statusCode).toBe(501);
    expect(recorder.calls('listPets')).toHaveLength(1);
  });
  // every request this operation accepts is valid, so there is no 400 case
});

describe('createPet', () => {
  it('is routed', () => {
    expect(app.hasRoute({ method: 'POST', url: '/pets' })).toBe(true);
  });
  it('rejects an invalid body (missing required property "name") with 400', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/pets',
      payload: {},
      headers: {
        'content-type': 'application/json',
      },
    });
    expect(res.statusCode).toBe(400);
    expect(String(res.headers['content-type']).split(';')[0]).toBe('application/json');
    expect(recorder.calls('createPet')).toHaveLength(0);
  });
  it('passes a valid request to the handler', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/pets',
      payload: {
        name: 'string',
      },
      headers: {
        'content-type': 'application/json',
      },
    });
    expect(res.statusCode).toBe(501);
    expect(recorder.calls('createPet')).toHaveLength(1);
  });
});

describe('showPetById', () => {
  it('is routed', () => {
    expect(app.hasRoute({ method: 'GET', url: '/pets/:petId' })).toBe(true);
  });
  it('rejects an invalid path parameter "petId" with 400', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/pets/not-a-number',
    });
    expect(res.statusCode).toBe(400);
    expect(String(res.headers['content-type']).split(';')[0]).toBe('application/json');
    expect(recorder.calls('showPetById')).toHaveLength(0);
  });
  it('passes a valid request to the handler', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/pets/1',
    });
    expect(res.statusCode).toBe(501);
    expect(recorder.calls('showPetById')).toHaveLength(1);
  });
});

describe('deletePet', () => {
  it('is routed', () => {
    expect(app.hasRoute({ method: 'DELETE', url: '/pets/:petId' })).toBe(true);
  });
  it('rejects a request without the header parameter "x-request-id" with 400', async () => {
    const res = await app.inject({
      method: 'DELETE',
      url: '/pets/1',
    });
    expect(res.statusCode).toBe(400);
    expect(String(res.headers['content-type']).split(';')[0]).toBe('application/json');
    expect(recorder.calls('deletePet')).toHaveLength(0);
  });
  it('passes a valid request to the handler', async () => {
    const res = await app.inject({
      method: 'DELETE',
      url: '/pets/1',
      headers: {
        'x-request-id': '3fa85f64-5717-4562-b3fc-2c963f66afa6',
      },
    });
    expect(res.statusCode).toBe(501);
    expect(recorder.calls('deletePet')).toHaveLength(1);
  });
});
