/**
 * The bench's two routes hand-written in plain Fastify 5, the way its documentation writes them: schemas on
 * the routes (Fastify's own Ajv and fast-json-stringify), async handlers that return the body, Fastify's
 * default request logging at LOG_LEVEL (default info). The schemas are the spec's (openapi.json beside this
 * file), so that all servers of `npm run bench:server` validate and serialize the same thing.
 * Run by node: PORT=… LOG_LEVEL=… node scripts/lib/bench-server/fastify.mjs
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const spec = JSON.parse(readFileSync(new URL('./openapi.json', import.meta.url), 'utf8'));
const { NewItem, Item } = spec.components.schemas;
const [itemId, tags] = spec.paths['/items/{itemId}'].get.parameters;

const app = Fastify({ logger: { level: process.env.LOG_LEVEL || 'info' } });

app.post('/items', {
  schema: { body: NewItem, response: { 201: Item } },
  handler: async (request, reply) => {
    const { name, price, tags } = request.body;
    reply.code(201);
    return { id: 1, name, price, tags: tags ?? [] };
  },
});

app.get('/items/:itemId', {
  schema: {
    params: { type: 'object', properties: { itemId: itemId.schema }, required: ['itemId'] },
    querystring: { type: 'object', properties: { tags: tags.schema } },
    response: { 200: Item },
  },
  handler: async (request) => {
    return { id: request.params.itemId, name: 'item', price: 9.5, tags: request.query.tags ?? [] };
  },
});

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => app.close().then(() => process.exit(0)));
