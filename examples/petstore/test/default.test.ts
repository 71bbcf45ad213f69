/**
 * Tests for the default operations: each starts the app with recording handlers and checks that an
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

describe('getHealth', () => {
  it('is routed', () => {
    expect(app.hasRoute({ method: 'GET', url: '/health' })).toBe(true);
  });
  it('passes a valid request to the handler', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/health',
    });
    expect(res.statusCode).toBe(501);
    expect(recorder.calls('getHealth')).toHaveLength(1);
  });
  // every request this operation accepts is valid, so there is no 400 case
});
