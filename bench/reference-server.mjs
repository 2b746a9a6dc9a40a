// The bare reference handler the bench compares messenger with: plain Fastify + pg running the
// very SQL messenger's core sends (lib/reference-sql.mjs); no validation, no response schema, no
// hooks. Configured like messenger-server by PORT, DATABASE_URL and DB_POOL_MAX; listens on
// 127.0.0.1 only. Not a product: bench use only.
import Fastify from 'fastify';
import pg from 'pg';
import { INSERT_SQL, LIST_SQL } from './lib/reference-sql.mjs';

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DB_POOL_MAX ?? 10),
  application_name: 'messenger-bench-reference',
  // As messenger's pool keeps them.
  idleTimeoutMillis: 30_000,
});
pool.on('error', () => {});

const app = Fastify({ logger: false });

app.post('/api/messages/send/', async (request, reply) => {
  const { sender, recipient, message_content } = request.body;
  const { rows } = await pool.query(INSERT_SQL, [sender, recipient, message_content]);
  reply.code(201);
  return rows[0];
});

app.get('/api/messages/', async (request) => {
  const { rows } = await pool.query(LIST_SQL, [request.query.recipient, 101]);
  return rows.length > 100 ? rows.slice(0, 100) : rows;
});

const stop = async () => {
  await app.close();
  await pool.end();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
