// wrk as the load generator (Debian package `wrk`), where it is installed: written in C, it
// takes far less CPU than autocannon, which on a 2-core machine spends a core of its own and
// compresses every ratio toward 1. Requests come from a generated Lua script; the figures come
// back as one JSON line printed by the script's `done` hook (latencies in µs from wrk's own
// histogram).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let installed;
/** Whether `wrk` is on the PATH. */
export function hasWrk() {
  if (installed === undefined) {
    try {
      execFileSync('wrk', ['--version'], { stdio: 'ignore' });
      installed = true;
    } catch (err) {
      // wrk --version exits 1 after printing its version.
      installed = err.code !== 'ENOENT' && err.status !== undefined;
    }
  }
  return installed;
}

const DONE = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK{"requests":%d,"us":%d,"status":%d,"errors":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;

/** Lua of a POST of JSON send bodies that vary by request (`sender`, `recipient` cycle). */
export const SEND_LUA = `
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"sender":"bench-%d","recipient":"sink-%d","message_content":"a benchmark message of a typical length, about sixty characters"}', n % 50, n % 100)
  return wrk.format("POST", "/api/messages/send/", { ["Content-Type"] = "application/json" }, body)
end
`;

/** Lua of GETs of one path. */
export const getLua = (path) => `
request = function()
  return wrk.format("GET", ${JSON.stringify(path)})
end
`;

/**
 * `durationS` seconds of `connections` keep-alive connections running `lua`'s requests against
 * `url`. Resolves to { rps, p50, p90, p99, max (ms), requests, non2xx, errors, ok }.
 */
export function runWrk({ url, lua, connections, durationS }) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-wrk-'));
  const script = join(dir, 'script.lua');
  writeFileSync(script, `${lua}\n${DONE}`);
  const threads = String(Math.min(2, connections));
  return new Promise((resolve, reject) => {
    const child = spawn(
      'wrk',
      [
        '-t',
        threads,
        '-c',
        String(connections),
        '-d',
        `${durationS}s`,
        '--timeout',
        '10s',
        '-s',
        script,
        url,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      rmSync(dir, { recursive: true, force: true });
      const line = out.match(/WRK(\{.*\})/);
      if (code !== 0 || !line) {
        reject(new Error(`wrk exited ${code}: ${out.slice(-500)}`));
        return;
      }
      const r = JSON.parse(line[1]);
      const good = r.requests - r.status;
      resolve({
        rps: good / (r.us / 1e6),
        p50: r.p50 / 1000,
        p90: r.p90 / 1000,
        p99: r.p99 / 1000,
        max: r.max / 1000,
        requests: good,
        non2xx: r.status,
        errors: r.errors,
        ok: r.status === 0 && r.errors === 0 && good > 0,
      });
    });
  });
}
