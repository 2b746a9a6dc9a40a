export {
  type Backend,
  backends,
  freshPostgresSchema,
  type PostgresSchema,
  postgresUrl,
} from './backends.js';
export { probeStatus } from './http-probe.js';
export {
  type AccessLogEntry,
  type LocalNginxOptions,
  localNginxValues,
  type NginxTestResult,
  type NginxValues,
  nginxBinary,
  nginxConfigTest,
  nginxTemplatePath,
  type RunningNginx,
  renderNginxTemplate,
  startLocalNginx,
  writeNginxConf,
} from './nginx.js';
export { type PrivatePostgres, postgresBinDir, startPrivatePostgres } from './private-postgres.js';
export {
  canConnect,
  type Exit,
  freePort,
  type RunningProcess,
  repoRoot,
  startProcess,
  stopAll,
  waitFor,
} from './processes.js';
