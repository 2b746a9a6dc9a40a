export {
  type Backend,
  backends,
  freshPostgresSchema,
  type PostgresSchema,
  postgresUrl,
} from './backends.js';
