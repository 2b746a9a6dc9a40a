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
  nginxVersion,
  type RunningNginx,
  renderNginxTemplate,
  startLocalNginx,
  writeNginxConf,
} from './nginx.js';
export {
  type PrivatePostgres,
  postgresBinDir,
  startPrivatePostgres,
  startPrivateStandby,
} from './private-postgres.js';
export {
  type CommandResult,
  canConnect,
  type Exit,
  freePort,
  type RunningProcess,
  repoRoot,
  runCommand,
  startProcess,
  stopAll,
  waitFor,
  waitUntilAnswering,
} from './processes.js';
export {
  replyJson,
  type StubHandler,
  type StubHttpServer,
  type StubRequest,
  startStubHttpServer,
} from './stub-http-server.js';
