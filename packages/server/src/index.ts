export { type AppOptions, BODY_LIMIT, buildApp } from './app.js';
export { ConfigError, loadConfig, type ServerConfig } from './config.js';
export { type ErrorBody, HttpError, HttpErrorCode, toErrorReply } from './http-errors.js';
export { type RunningServer, type StartOptions, startServer } from './start-server.js';
