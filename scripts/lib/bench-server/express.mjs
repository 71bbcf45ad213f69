/**
 * The bench's two routes in Express 5 with express-openapi-validator checking requests against the spec
 * (openapi.json beside this file; responses are not validated, as in that library's default). No request
 * logging: Express has none by default.
 * Run by node: PORT=… node scripts/lib/bench-server/express.mjs
 */
import { fileURLToPath } from 'node:url';
import express from 'express';
import * as OpenApiValidator from 'express-openapi-validator';

const app = express();
app.use(express.json());
app.use(OpenApiValidator.middleware({ apiSpec: fileURLToPath(new URL('./openapi.json', import.meta.url)), validateRequests: true }));

app.post('/items', (req, res) => {
  const { name, price, tags } = req.body;
  res.status(201).json({ id: 1, name, price, tags: tags ?? [] });
});

app.get('/items/:itemId', (req, res) => {
  const tags = req.query.tags;
  res.json({ id: Number(req.params.itemId), name: 'item', price: 9.5, tags: tags === undefined ? [] : [tags].flat() });
});

app.use((err, _req, res, _next) => {
  res.status(err.status ?? 500).json({ message: err.message, errors: err.errors });
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close(() => process.exit(0)));
