/**
 * The process the webhook crash test kills: a Fastify app with a Stripe webhook endpoint on WH_DB (a
 * postgres URL) whose onEvent writes an effect row and upserts the customer, pausing a little in between
 * so that kills land inside transactions. Prints `listening <port>`. The tables exist already.
 */
import Fastify from 'fastify';
import { createDatabase } from '../../../runtime/db/index.js';
import { defineStream, registerWebhook, stripe } from '../../../runtime/sync/index.js';

const customers = defineStream<{ id: string; email: string | null; name?: string | null }, { id: string; email: string | null; name: string | null }>({
  name: 'customers',
  url: '/v1/customers',
  pagination: stripe(),
  table: 'wh_customers',
  key: ['id'],
  map: (c) => ({ id: c.id, email: c.email, name: c.name ?? null }),
});

const db = createDatabase({ url: process.env.WH_DB!, poolSize: 4 });
const app = Fastify({ logger: false });
registerWebhook(app, {
  path: '/hooks/stripe',
  scheme: 'stripe',
  secrets: ['whsec_crash'],
  db,
  onEvent: async (event, { trx, apply }) => {
    await trx.insertInto('wh_effects').values({ event_id: event.id }).execute();
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 8));
    await apply(customers, [event.payload.data.object]);
  },
});
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
