export { type AppOptions, type AuthOptions, buildApp } from './app.js';
export { ConfigError, loadConfig, type ServerConfig } from './config.js';
export { type ControlServer, startControlServer } from './control-server.js';
export {
  type ApiErrorCode,
  type ErrorBody,
  HttpError,
  HttpErrorCode,
  type HttpErrorCodeValue,
  STATUS_OF,
  toErrorReply,
} from './http-errors.js';
export { BODY_LIMIT, DEFAULT_HEARTBEAT_MS } from './limits.js';
export { parseOrigin } from './origin-check.js';
export { DEFAULT_RATE_LIMIT, parseRateLimit, type RateLimit } from './rate-limit.js';
export type { ServerRole } from './role.js';
export { type RunningServer, type StartOptions, startServer } from './start-server.js';
export {
  DEFAULT_STREAM_LIMITS,
  parseStreamLimits,
  type StreamLimits,
} from './stream-budget.js';
