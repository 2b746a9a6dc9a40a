// The minimal reference of the write path (issue 12): bare Fastify + pg, one INSERT per request
// into a minimal table of its own (`bench_minimal_messages`: a primary key and one listing
// index, no trigger, no generated column), no validation, no hooks. It does not touch
// messenger's `messages` table, so it measures what the simplest design costs, not the same
// design without a framework (that is bench/reference-server.mjs). Configured by PORT,
// DATABASE_URL and DB_POOL_MAX; listens on 127.0.0.1 only. Bench use only.
import Fastify from 'fastify';
import pg from 'pg';

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DB_POOL_MAX ?? 10),
  application_name: 'messenger-bench-minimal',
  idleTimeoutMillis: 30_000,
});
pool.on('error', () => {});

await pool.query(`create table if not exists bench_minimal_messages (
    id bigserial primary key,
    sender text not null,
    recipient text not null,
    message_content text not null,
    sent_datetime timestamptz not null default now()
  )`);
await pool.query(`create index if not exists bench_minimal_recipient_idx
    on bench_minimal_messages (recipient, sent_datetime desc)`);

const INSERT = `insert into bench_minimal_messages (sender, recipient, message_content)
  values ($1, $2, $3) returning id, sender, recipient, message_content, sent_datetime`;
const LIST = `select id, sender, recipient, message_content, sent_datetime from bench_minimal_messages
  where recipient = $1 order by sent_datetime desc limit 100`;

const app = Fastify({ logger: false });

app.post('/api/messages/send/', async (request, reply) => {
  const { sender, recipient, message_content } = request.body;
  const { rows } = await pool.query({
    name: 'insert',
    text: INSERT,
    values: [sender, recipient, message_content],
  });
  reply.code(201);
  return rows[0];
});

app.get('/api/messages/', async (request) => {
  const { rows } = await pool.query({
    name: 'list',
    text: LIST,
    values: [request.query.recipient],
  });
  return rows;
});

const stop = async () => {
  await app.close();
  await pool.end();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
