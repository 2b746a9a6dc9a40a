// The load generator: autocannon's programmatic API, with our own latency record. autocannon's
// histogram keeps whole milliseconds, too coarse for 2–3 ms answers; its per-response event
// carries the exact time, so percentiles here are exact over every 2xx response.
import autocannon from 'autocannon';
import { cpuMeter } from './cpu-usage.mjs';

/** The percentile `p` (0–100) of sorted values, nearest-rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Latency summary (ms) of unsorted samples. */
export function summarize(samples) {
  const sorted = Float64Array.from(samples).sort();
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : Number.NaN,
  };
}

let current;
/** Stops the run in progress, if any (on SIGINT). */
export function stopLoad() {
  current?.stop();
}

/**
 * `durationS` seconds of load on `connections` keep-alive connections; `request()` makes each
 * request ({ method, path, headers, body }), so requests can vary.
 */
function run({ url, request, connections, durationS }) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    const instance = autocannon(
      {
        url,
        connections,
        pipelining: 1,
        timeout: 10,
        duration: durationS,
        requests: [{ setupRequest: (req) => ({ ...req, ...request() }) }],
      },
      (err, r) => {
        current = undefined;
        if (err) reject(err);
        else
          resolve({
            latencies,
            ok: r['2xx'],
            seconds: r.duration || durationS,
            errors: r.errors,
            timeouts: r.timeouts,
            non2xx: r.non2xx,
          });
      },
    );
    current = instance;
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
}

function combine(parts) {
  const sum = (k) => parts.reduce((a, p) => a + p[k], 0);
  const ok = sum('ok');
  const failures = sum('errors') + sum('timeouts') + sum('non2xx');
  const perRequest = (k) =>
    parts.every((p) => p.cpu?.[k] !== undefined)
      ? parts.reduce((a, p) => a + p.cpu[k], 0) / ok
      : undefined;
  return {
    rps: ok / sum('seconds'),
    // CPU ms per request: of the target's own process(es), and of the PostgreSQL backends.
    cpuPerRequest: { server: perRequest('process'), postgres: perRequest('postgres') },
    ...summarize(parts.flatMap((p) => p.latencies)),
    requests: ok,
    seconds: sum('seconds'),
    errors: sum('errors'),
    timeouts: sum('timeouts'),
    non2xx: sum('non2xx'),
    ok: failures === 0 && ok > 0,
  };
}

/**
 * Measures several targets under the same load, interleaved so that a change in the
 * machine's background load hits them alike: after a warm-up of each, `rounds` rounds of
 * `durationS / rounds` seconds, in order A B C, then C B A, and so on. Returns one summary
 * per target key: req/s, latency percentiles (ms), failures, and the CPU time per request of
 * the target's `pids` and of the PostgreSQL backends of `database`.
 */
export async function compare(
  targets,
  { connections, durationS, warmupS, rounds, database, onResult },
) {
  const parts = new Map(targets.map((t) => [t.key, []]));
  for (const t of targets) {
    if (warmupS > 0) await run({ ...t, connections, durationS: warmupS });
  }
  const slice = Math.max(1, Math.round(durationS / rounds));
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      const meter = cpuMeter(t.pids ?? [], database);
      const part = await run({ ...t, connections, durationS: slice });
      part.cpu = meter();
      parts.get(t.key).push(part);
    }
  }
  const out = {};
  for (const t of targets) {
    out[t.key] = combine(parts.get(t.key));
    onResult?.(t.key, out[t.key]);
  }
  return out;
}
