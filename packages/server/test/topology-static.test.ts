// Static checks of the production topology: docker-compose.yml with Debian's docker-compose,
// the nginx template rendered for compose and for local tests with `nginx -t`, and the
// Dockerfile's essentials (no Docker engine here to build it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  localNginxValues,
  type NginxValues,
  nginxConfigTest,
  nginxTemplatePath,
  renderNginxTemplate,
  repoRoot,
  writeNginxConf,
} from '@messenger/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const composeFile = join(repoRoot, 'docker-compose.yml');
const envExample = join(repoRoot, '.env.example');
const template = readFileSync(nginxTemplatePath, 'utf8');

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'messenger-static-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * `docker-compose --env-file <envFile> -f <file> <args>` in a clean environment (the caller's
 * DATABASE_URL or POSTGRES_* must not leak into the interpolation), relative paths from the repo.
 */
function compose(
  args: string[],
  { file = composeFile, envFile = envExample, env = {} as Record<string, string> } = {},
) {
  const run = spawnSync(
    'docker-compose',
    ['--project-directory', repoRoot, '--env-file', envFile, '-f', file, ...args],
    {
      encoding: 'utf8',
      timeout: 30_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    },
  );
  return { ...run, status: run.status, output: `${run.stdout}${run.stderr}${run.error ?? ''}` };
}

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string } | undefined>;
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  ports?: { published: number | string; target: number }[];
  volumes?: string[];
  restart?: string;
  entrypoint?: string[];
  mem_limit?: string | number;
  logging?: { options?: Record<string, string> };
  secrets?: { source: string }[];
}

/** The effective configuration, after interpolation, as docker-compose itself resolves it. */
function composeConfig(env: Record<string, string> = {}): { services: Record<string, Service> } {
  const run = compose(['config'], { env });
  expect(run.status, run.output).toBe(0);
  return parse(run.stdout) as { services: Record<string, Service> };
}

describe('docker-compose.yml', () => {
  it('passes `docker-compose config -q` with the values of .env.example', () => {
    const run = compose(['config', '-q']);
    expect(run.status, run.output).toBe(0);
  });

  it('declares db, its streaming replica, a one-shot migrate, the write and read pools and nginx on 1337', () => {
    const { services } = composeConfig();
    expect(Object.keys(services).sort()).toEqual([
      'db',
      'db-replica',
      'migrate',
      'nginx',
      'web-read',
      'web-write',
    ]);
    const {
      db,
      'db-replica': replica,
      migrate,
      'web-write': write,
      'web-read': read,
      nginx,
    } = services as Record<string, Service>;

    expect(db?.image).toMatch(/^postgres:15\.\d+/);
    expect(db?.volumes).toContain('pgdata:/var/lib/postgresql/data:rw');
    expect(db?.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(replica?.image).toBe(db?.image);
    expect(replica?.entrypoint).toEqual(['/usr/local/bin/replica-entrypoint.sh']);
    expect(replica?.depends_on).toEqual({ db: { condition: 'service_healthy' } });

    expect(migrate?.command).toEqual([
      'node',
      'packages/server/bin/messenger-server.js',
      'migrate',
    ]);
    expect(migrate?.restart).toBe('no');
    expect(migrate?.depends_on).toEqual({ db: { condition: 'service_healthy' } });

    for (const [web, role] of [
      [write, 'write'],
      [read, 'read'],
    ] as const) {
      expect(web?.image).toBe(migrate?.image);
      expect(web?.build).toBeDefined();
      expect(web?.deploy?.replicas).toBe(2);
      expect(web?.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
      expect(web?.environment?.ROLE).toBe(role);
      expect(web?.environment?.AUTH).toBe('token');
      expect(web?.environment?.DATABASE_URL_FILE).toBe('/run/secrets/app_database_url');
    }
    expect(read?.environment?.DATABASE_READ_URLS_FILE).toBe('/run/secrets/app_read_database_urls');
    expect(read?.depends_on?.['db-replica']).toEqual({ condition: 'service_healthy' });

    expect(nginx?.image).toMatch(/^nginx:1\.\d*[02468]\.\d+/); // a stable (even) branch, pinned
    expect(nginx?.ports).toEqual([{ published: 1337, target: 1337 }]);
    expect(nginx?.volumes).toEqual([
      `${nginxTemplatePath}:/etc/nginx/templates/default.conf.template:ro`,
    ]);
    // nginx resolves the pools once: it starts when they answer their health check.
    expect(nginx?.depends_on).toEqual({
      'web-write': { condition: 'service_healthy' },
      'web-read': { condition: 'service_healthy' },
    });
    for (const s of Object.values(services)) expect(s.image).not.toMatch(/:latest$|^[^:]+$/);
  });

  it('keeps secrets in files, runs the app as a role that is not the superuser, and limits memory and logs', () => {
    const config = composeConfig();
    const { services } = config;
    for (const [name, s] of Object.entries(services)) {
      // No password or URL with one in any environment value.
      for (const [k, v] of Object.entries(s.environment ?? {})) {
        expect(`${name} ${k}=${v}`).not.toMatch(/PASSWORD=|postgres(ql)?:\/\//);
      }
      expect(s.mem_limit, `${name} mem_limit`).toBeDefined();
      expect(s.logging?.options?.['max-size'], `${name} log rotation`).toBeDefined();
    }
    expect(services.db?.environment?.POSTGRES_PASSWORD_FILE).toBe('/run/secrets/postgres_password');
    const secret = (name: string) =>
      readFileSync(join(repoRoot, 'secrets.example', name), 'utf8').trim();
    const superuser = services.db?.environment?.POSTGRES_USER;
    const userOf = (url: string) => decodeURIComponent(new URL(url).username);
    // The owner's URL is migrate's only; the app's (both pools, primary and replica) is another role.
    expect(userOf(secret('owner_database_url'))).toBe(superuser);
    expect(userOf(secret('app_database_url'))).not.toBe(superuser);
    for (const url of secret('app_read_database_urls').split(',')) {
      expect(userOf(url)).toBe(userOf(secret('app_database_url')));
      expect(new URL(url).hostname).toBe('db-replica');
    }
    expect(services.migrate?.secrets?.map((x) => x.source)).toEqual(['owner_database_url']);
    for (const web of ['web-write', 'web-read']) {
      expect(services[web]?.secrets?.map((x) => x.source)).not.toContain('owner_database_url');
    }
    // The roles the db container makes on first start: the app's without superuser or DDL.
    const init = readFileSync(join(repoRoot, 'db', 'init-roles.sh'), 'utf8');
    expect(init).toMatch(
      /create role :"app_user" login password :'app_password'\s+nosuperuser nocreatedb nocreaterole noreplication;/,
    );
    expect(init).not.toMatch(/grant [^;]*(create|all)[^;]* to :"app_user"/i);
  });

  it('takes the number of replicas and the published port from the environment', () => {
    const { services } = composeConfig({
      WEB_WRITE_REPLICAS: '3',
      WEB_READ_REPLICAS: '4',
      NGINX_PORT: '8080',
    });
    expect(services['web-write']?.deploy?.replicas).toBe(3);
    expect(services['web-read']?.deploy?.replicas).toBe(4);
    expect(services.nginx?.ports).toEqual([{ published: 8080, target: 1337 }]);
  });

  it('fails without the secrets directory, and on a broken file', () => {
    const dir = tempDir();
    const empty = join(dir, 'empty.env');
    writeFileSync(empty, '');
    const noSecrets = compose(['config', '-q'], { envFile: empty });
    expect(noSecrets.status).not.toBe(0);
    expect(noSecrets.output).toContain('MESSENGER_SECRETS');

    const broken = join(dir, 'docker-compose.yml');
    writeFileSync(
      broken,
      readFileSync(composeFile, 'utf8').replace('service_completed_successfully', 'service_done'),
    );
    expect(compose(['config', '-q'], { file: broken }).status).not.toBe(0);
  });
});

/** The nginx service's environment, as compose hands it to the nginx image. */
function composeNginxEnv(): Record<string, string> {
  const env = composeConfig().services.nginx?.environment;
  if (!env) throw new Error('nginx service has no environment');
  return env;
}

/** What the nginx image's 20-envsubst-on-templates.sh makes of the template. */
function imageEnvsubst(env: Record<string, string>): string {
  const filter = new RegExp(env.NGINX_ENVSUBST_FILTER ?? '');
  const names = Object.keys(env).filter((n) => filter.test(n));
  const run = spawnSync('envsubst', [names.map((n) => `\${${n}}`).join(' ')], {
    input: template,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  });
  expect(run.status, `envsubst (Debian gettext-base): ${run.stderr}${run.error ?? ''}`).toBe(0);
  return run.stdout;
}

function expectNginxOk(site: string, hosts?: readonly string[]) {
  const dir = tempDir();
  const result = nginxConfigTest(writeNginxConf(dir, site), dir, hosts ? { hosts } : {});
  expect(result.status, result.output).toBe(0);
}

describe('nginx/messenger.conf.template', () => {
  it('renders for compose as the nginx image does, and passes `nginx -t`', () => {
    const env = composeNginxEnv();
    const site = imageEnvsubst(env);
    // Our renderer (used for the local topology) gives the very same text for these values.
    expect(renderNginxTemplate(template, env as NginxValues)).toBe(site);
    expect(site).not.toMatch(/\$\{?MESSENGER_/);
    expect(site).toContain('server web-write:8000 max_fails=');
    expect(site).toContain('server web-read:8000 max_fails=');
    expect(site).toContain('listen 1337 default_server;');
    // nginx's own variables survive envsubst.
    expect(site).toContain('$http_upgrade');
    expect(site).toContain('$request_id');
    // docker's DNS answers `web-write` and `web-read` inside compose; here a private /etc/hosts does.
    expectNginxOk(site, ['127.0.0.1 web-write', '127.0.0.1 web-read']);
  });

  it('renders for local replicas, one server line each, and passes `nginx -t`', () => {
    const dir = tempDir();
    const site = renderNginxTemplate(
      template,
      localNginxValues(dir, { port: 1337, upstreams: ['127.0.0.1:18001', '127.0.0.1:18002'] }),
    );
    const servers = site.split('\n').filter((l) => /^\s*server 127\.0\.0\.1:\d+ /.test(l));
    // One pool of ROLE=all processes: the same two in the write and the read upstream.
    expect(servers).toHaveLength(4);
    for (const line of servers) expect(line).toMatch(/max_fails=\d+ fail_timeout=\d+s;$/);
    expect(site).toContain('listen 127.0.0.1:1337 default_server;');
    expectNginxOk(site);
  });

  it('keeps the policies the topology relies on', () => {
    expect(template).toMatch(/^\s*keepalive \d+;/m);
    expect(template).toMatch(/^\s*proxy_http_version 1\.1;/m);
    expect(template).toMatch(/^\s*proxy_set_header Connection "";/m);
    expect(template).toMatch(/^\s*proxy_next_upstream error timeout http_502 http_503 http_504;/m);
    // A POST is passed on after it reached a replica only when it carries an Idempotency-Key.
    expect(template.match(/^\s*proxy_next_upstream [^;]*non_idempotent/gm)).toHaveLength(1);
    expect(template).toMatch(
      /location \^~ \/_keyed\/ \{\s*internal;\s*rewrite [^;]+;\s*proxy_next_upstream [^;]*non_idempotent;/,
    );
    expect(template).toMatch(
      /if \(\$http_idempotency_key != ""\) \{\s*rewrite \^ \/_keyed\$uri last;/,
    );
    expect(template).toMatch(/^\s*client_max_body_size 16k;/m);
    expect(template).toMatch(/^\s*limit_req_status 429;/m);
    expect(template).toMatch(/^\s*log_format messenger_json escape=json/m);
  });

  it('fails `nginx -t` when the configuration is broken', () => {
    const dir = tempDir();
    const values = localNginxValues(dir, { port: 1337, upstreams: ['127.0.0.1:18001'] });
    const broken = template.replace('keepalive 32;', 'keepalive 32');
    expect(broken).not.toBe(template);
    const site = renderNginxTemplate(broken, values);
    const result = nginxConfigTest(writeNginxConf(dir, site), dir);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/emerg/);
    // An upstream name nobody can resolve fails too (compose's `web` outside docker).
    const unresolved = renderNginxTemplate(template, composeNginxEnv() as NginxValues);
    const dir2 = tempDir();
    expect(nginxConfigTest(writeNginxConf(dir2, unresolved), dir2, { hosts: [] }).status).not.toBe(
      0,
    );
  });

  it('refuses a placeholder without a value', () => {
    const ph = (name: string) => `\${${name}}`;
    expect(() => renderNginxTemplate(`listen ${ph('MESSENGER_NOPE')};`, {})).toThrow(
      /MESSENGER_NOPE/,
    );
    expect(() =>
      renderNginxTemplate(`server ${ph('MESSENGER_UPSTREAM_SERVER')};`, {
        MESSENGER_UPSTREAM_SERVER: [],
      }),
    ).toThrow(/empty/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages.at(-1) ?? '';

  it('builds in one stage and runs from a slim, pinned Node 20 image as a non-root user', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20\.\d+\.\d+-bookworm-slim$/m);
    expect(stages).toHaveLength(2);
    expect(stages[0]).toMatch(/RUN npm ci --ignore-scripts/);
    expect(stages[0]).toMatch(/RUN npm run build/);
    expect(runtime).toMatch(
      /RUN npm ci --omit=dev --ignore-scripts .*--workspace @messenger\/server/,
    );
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^EXPOSE 8000$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
    expect(runtime).toMatch(/^CMD \["node", "packages\/server\/bin\/messenger-server\.js"\]$/m);
  });

  it('copies every workspace manifest npm ci needs, and files that exist', () => {
    const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      workspaces: string[];
    };
    for (const stage of stages) {
      for (const ws of root.workspaces) {
        expect(stage).toContain(`COPY ${ws}/package.json ${ws}/`);
      }
    }
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      (m[1] as string).split(/\s+/),
    );
    for (const src of sources) expect(existsSync(join(repoRoot, src)), src).toBe(true);
  });

  it('keeps local installs, builds and secrets out of the build context', () => {
    const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.env', '.git']) {
      expect(ignored).toContain(entry);
    }
  });
});
