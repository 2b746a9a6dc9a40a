// Results as markdown (printed and written to bench/results/latest.md) and the PASS/MISS targets.

const fmt = (n, digits = 1) =>
  n === undefined || n === null || Number.isNaN(n) ? '–' : n.toFixed(digits);
const fmtInt = (n) =>
  n === undefined || Number.isNaN(n) ? '–' : Math.round(n).toLocaleString('en-US');
const ratio = (a, b) => (a && b ? a / b : Number.NaN);
const rowsLabel = (n) =>
  n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${Math.round(n / 1000)}k` : String(n);

/** Evaluates the targets of issue 7 from the results. */
export function evaluateTargets(results) {
  const t = [];
  const { http, growth, cli } = results;
  const add = (label, measured, limit, pass, note) =>
    t.push({ label, measured, limit, pass: measured === undefined ? null : pass, note });
  // Three decimals: 0.899× must not read as 0.90× next to a MISS.
  const exact = (r) => (Number.isNaN(r) ? undefined : `${r.toFixed(3)}×`);
  const sendRatio = ratio(http['send/messenger']?.rps, http['send/reference']?.rps);
  add('send req/s ≥ 0.9× reference', exact(sendRatio), '≥ 0.90×', sendRatio >= 0.9);
  // List at every table size: the weakest ratio counts.
  const listRatios = growth
    .map((g) => ({ rows: g.rows, r: ratio(g.messenger?.rps, g.reference?.rps) }))
    .filter((x) => !Number.isNaN(x.r));
  const worst = listRatios.reduce((a, x) => (a === undefined || x.r < a.r ? x : a), undefined);
  add(
    'list req/s ≥ 0.9× reference (at every table size)',
    worst ? `${exact(worst.r)} (at ${rowsLabel(worst.rows)})` : undefined,
    '≥ 0.90×',
    worst?.r >= 0.9,
  );
  const first = growth[0];
  const last = growth.at(-1);
  if (first && last && last !== first) {
    const g = ratio(last.messenger?.p50, first.messenger?.p50);
    add(
      `list p50 at ${rowsLabel(last.rows)} ≤ 1.2× at ${rowsLabel(first.rows)}`,
      fmtRatio(g),
      '≤ 1.20×',
      g <= 1.2,
      last.rows < 1_000_000 ? 'this run stopped short of 1M rows' : undefined,
    );
  }
  // Token mode (authentication and the caller's mailbox) costs at most 10% (issue 11).
  for (const op of ['send', 'list']) {
    const r = ratio(http[`auth-${op}/token`]?.rps, http[`auth-${op}/open`]?.rps);
    add(`${op} req/s in token mode ≥ 0.9× open mode (same run)`, exact(r), '≥ 0.90×', r >= 0.9);
  }
  // Search newest first at 1M rows, for a rare and a common word (issue 15).
  if (results.search) {
    const size = rowsLabel(results.search.rows);
    const short =
      results.search.rows < 1_000_000 ? 'this run searched fewer than 1M rows' : undefined;
    for (const [kind, share] of [
      ['rare', '0.1%'],
      ['common', '30%'],
    ]) {
      const r = http[`search-${kind}/messenger`];
      for (const [p, limitMs] of [
        ['p50', 20],
        ['p99', 50],
      ]) {
        add(
          `search ${p} at ${size}, a word in ${share} of rows`,
          r && `${fmt(r[p], 2)} ms`,
          `≤ ${limitMs} ms`,
          r?.[p] <= limitMs,
          short,
        );
      }
    }
  }
  // Write path (issue 12): send against the minimal reference (its own two-index table), at 32
  // connections; list p99 of every accepted filter combination (issue 14).
  const w = results.writePath;
  const send32 = w?.send?.[32];
  add(
    `send ≥ 1.5× minimal reference (32 connections, ${w?.generator ?? '–'})`,
    send32 ? exact(send32.ratio) : undefined,
    '≥ 1.50×',
    send32?.ratio >= 1.5,
  );
  const lists = Object.entries(w?.list ?? {});
  const slowest = lists.reduce(
    (a, x) => (a === undefined || x[1].p99 > a[1].p99 ? x : a),
    undefined,
  );
  add(
    `list p99 < 50 ms for every filter combination (at ${w?.listRows ? rowsLabel(w.listRows) : '–'} rows)`,
    slowest ? `${fmt(slowest[1].p99, 1)} ms (${slowest[0]})` : undefined,
    '< 50 ms',
    slowest !== undefined && slowest[1].p99 < 50 && lists.every(([, r]) => r.ok),
    w?.listRows !== undefined && w.listRows < 1_000_000
      ? 'this run stopped short of 1M rows'
      : undefined,
  );
  const cliTarget = (label, title, limitMs) => {
    const row = cli.find((c) => c.label === label);
    const shown = (ms) => (limitMs >= 500 ? `${fmt(ms / 1000, 2)} s` : `${fmt(ms, 0)} ms`);
    add(title, row ? shown(row.median) : undefined, `≤ ${shown(limitMs)}`, row?.median <= limitMs);
  };
  cliTarget('msg send (HTTP)', '`msg send` over HTTP ≤ 130 ms wall (median)', 130);
  cliTarget(
    'msg send (embedded)',
    '`msg send` on the embedded database ≤ 0.5 s wall (median)',
    500,
  );
  cliTarget(
    'msg send (embedded, first run: creates the database)',
    '`msg send` creating the embedded database ≤ 1.5 s wall (median)',
    1500,
  );
  return t;
}

function fmtRatio(r) {
  return Number.isNaN(r) ? undefined : `${r.toFixed(2)}×`;
}

/** The whole report as markdown. */
export function toMarkdown(results) {
  const { machine: m, settings: s } = results;
  const out = [];
  out.push(
    `## Benchmark results (${results.mode} run, ${results.generated.slice(0, 16).replace('T', ' ')} UTC)`,
  );
  out.push('');
  out.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; Node.js ${m.node}; PostgreSQL ${m.postgres}; ${m.nginx}; autocannon ${m.autocannon}.`,
  );
  out.push(
    `Load: ${s.connections} keep-alive connections on 127.0.0.1, ${s.durationS} s measured after ${s.warmupS} s warm-up per row; server and reference each with a pool of ${s.poolMax} connections; load generator, servers and PostgreSQL share the ${m.cores} cores. Latencies in ms.`,
  );
  const busy = results.loadAverage.start > m.cores / 2;
  out.push(
    `1-minute load average before the run: ${results.loadAverage.start}${busy ? ` — the machine was busy with other work (over ${m.cores / 2} on ${m.cores} cores): figures are noisy, compare only within this run` : ' (quiet)'}.`,
  );
  out.push('');
  out.push('### HTTP API');
  out.push('');
  out.push(
    '| operation | served by | table rows | req/s | p50 | p99 | req/s vs reference | p50 vs reference | CPU ms/request: server | PostgreSQL |',
  );
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const names = {
    messenger: 'messenger-server',
    nginx: 'nginx → messenger-server (CPU: both)',
    reference: 'reference (bare Fastify + pg)',
  };
  for (const op of ['send', 'list']) {
    const ref = results.http[`${op}/reference`];
    for (const who of ['messenger', 'nginx', 'reference']) {
      const r = results.http[`${op}/${who}`];
      if (!r) continue;
      const opName =
        op === 'send' ? 'send (POST /api/messages/send/)' : 'list newest 100 to recipient';
      const vs =
        who === 'reference'
          ? ['1.00×', '1.00×']
          : [fmtRatio(ratio(r.rps, ref?.rps)) ?? '–', fmtRatio(ratio(r.p50, ref?.p50)) ?? '–'];
      const failed = r.ok
        ? ''
        : ` ⚠ ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`;
      out.push(
        `| ${opName} | ${names[who]}${failed} | ${fmtInt(r.tableRows)} | ${fmtInt(r.rps)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${vs[0]} | ${vs[1]} | ${fmt(r.cpuPerRequest?.server, 3)} | ${fmt(r.cpuPerRequest?.postgres, 3)} |`,
      );
    }
  }
  if (results.http['auth-send/open'] || results.http['auth-list/open']) {
    out.push('');
    out.push('### Token mode against open mode');
    out.push('');
    out.push(
      "Two messenger-server processes on the same database, one with `AUTH=open`, one with `AUTH=token` (no rate limit), measured in turns. Token mode: each request carries a bearer token of one of 50 senders (send) or of the listed recipient (list, the caller's own inbox).",
    );
    out.push('');
    out.push(
      '| operation | mode | table rows | req/s | p50 | p99 | req/s vs open | p50 vs open | CPU ms/request: server | PostgreSQL |',
    );
    out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const op of ['send', 'list']) {
      const open = results.http[`auth-${op}/open`];
      for (const mode of ['open', 'token']) {
        const r = results.http[`auth-${op}/${mode}`];
        if (!r) continue;
        const failed = r.ok
          ? ''
          : ` ⚠ ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`;
        out.push(
          `| ${op === 'send' ? 'send' : 'list newest 100 to recipient'} | ${mode}${failed} | ${fmtInt(r.tableRows)} | ${fmtInt(r.rps)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmtRatio(ratio(r.rps, open?.rps)) ?? '–'} | ${fmtRatio(ratio(r.p50, open?.p50)) ?? '–'} | ${fmt(r.cpuPerRequest?.server, 3)} | ${fmt(r.cpuPerRequest?.postgres, 3)} |`,
        );
      }
    }
  }
  out.push('');
  out.push('### List latency as the table grows');
  out.push('');
  out.push(
    `"Newest 100 to recipient", ${s.connections} connections; the seeded rows go to 100 recipients, so every page is full and each recipient's history grows with the table. Chart: list-latency.svg.`,
  );
  out.push('');
  out.push(
    '| table rows | messenger req/s | p50 | p99 | reference req/s | p50 | p99 | req/s messenger / reference | plan of the list query |',
  );
  out.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const g of results.growth) {
    out.push(
      `| ${fmtInt(g.rows)} | ${fmtInt(g.messenger?.rps)} | ${fmt(g.messenger?.p50, 2)} | ${fmt(g.messenger?.p99, 2)} | ${fmtInt(g.reference?.rps)} | ${fmt(g.reference?.p50, 2)} | ${fmt(g.reference?.p99, 2)} | ${fmtRatio(ratio(g.messenger?.rps, g.reference?.rps)) ?? '–'} | ${g.plan ?? '–'} |`,
    );
  }
  if (results.growth.length > 1) {
    const [a, b] = [results.growth[0], results.growth.at(-1)];
    out.push(
      `| **${rowsLabel(b.rows)} / ${rowsLabel(a.rows)}** | | **${fmtRatio(ratio(b.messenger?.p50, a.messenger?.p50)) ?? '–'}** | ${fmtRatio(ratio(b.messenger?.p99, a.messenger?.p99)) ?? '–'} | | ${fmtRatio(ratio(b.reference?.p50, a.reference?.p50)) ?? '–'} | ${fmtRatio(ratio(b.reference?.p99, a.reference?.p99)) ?? '–'} | | |`,
    );
  }
  // At a few rows per recipient the planner may rightly sort; at the largest size it must not.
  if (results.growth.length > 1 && results.growth.at(-1).plan?.includes('Sort')) {
    out.push('');
    out.push(
      "Note: the list query's plan sorts the recipient's rows instead of reading an index in `(sent_datetime, id)` order, so its cost grows with each recipient's history.",
    );
  }
  out.push('');
  if (results.live) {
    const l = results.live;
    out.push('### Live delivery');
    out.push('');
    out.push(
      `A WebSocket watcher on /api/messages/stream; ${l.count} messages sent one after another, each timed from the start of its POST until the watcher has it.`,
    );
    out.push('');
    out.push('| | n | p50 | p99 | max |');
    out.push('| --- | ---: | ---: | ---: | ---: |');
    out.push(
      `| send → watcher | ${l.delivery.n} | ${fmt(l.delivery.p50, 2)} | ${fmt(l.delivery.p99, 2)} | ${fmt(l.delivery.max, 2)} |`,
    );
    out.push(
      `| the POST alone | ${l.send.n} | ${fmt(l.send.p50, 2)} | ${fmt(l.send.p99, 2)} | ${fmt(l.send.max, 2)} |`,
    );
    out.push('');
  }
  if (results.search) {
    const sr = results.search;
    out.push('### Search');
    out.push('');
    out.push(
      `\`GET /api/messages/?q=<word>&limit=100\`, newest first, on a table of its own of ${fmtInt(sr.rows)} rows of text (four words each from a vocabulary of 5000, log-uniform; \`common\` in 30% of rows; one of 1000 rare words in each, so each in 0.1%), ${s.connections} connections. Seeded in ${fmt(sr.seedMs / 1000)} s without the search index; the index then built as \`migrate\` builds it (CREATE INDEX CONCURRENTLY) in ${fmt(sr.indexBuildMs / 1000)} s. Then sends on the same server and table: with the index, then, the index dropped, without it.`,
    );
    out.push('');
    out.push(
      '| operation | table rows | req/s | p50 | p99 | CPU ms/request: server | PostgreSQL | plan |',
    );
    out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    const rowsOf = [
      ['search, a word in 0.1% of rows', 'search-rare/messenger', sr.plans?.rare],
      ['search, a word in 30% of rows', 'search-common/messenger', sr.plans?.common],
      ['send, without the search index', 'send-index/without'],
      ['send, with the search index', 'send-index/with'],
    ];
    for (const [label, key, plan] of rowsOf) {
      const r = results.http[key];
      if (!r) continue;
      const failed = r.ok
        ? ''
        : ` ⚠ ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`;
      out.push(
        `| ${label}${failed} | ${fmtInt(r.tableRows)} | ${fmtInt(r.rps)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.cpuPerRequest?.server, 3)} | ${fmt(r.cpuPerRequest?.postgres, 3)} | ${plan ?? ''} |`,
      );
    }
    const cost = ratio(
      results.http['send-index/with']?.rps,
      results.http['send-index/without']?.rps,
    );
    if (!Number.isNaN(cost)) {
      out.push('');
      out.push(`Send req/s with the search index / without: ${fmtRatio(cost)}.`);
    }
    out.push('');
  }
  if (results.cli.length > 0) {
    out.push('### CLI wall time');
    out.push('');
    out.push('| command | runs | median ms | min | max |');
    out.push('| --- | ---: | ---: | ---: | ---: |');
    for (const c of results.cli) {
      out.push(
        `| ${c.label} | ${c.runs} | ${fmt(c.median, 0)} | ${fmt(c.min, 0)} | ${fmt(c.max, 0)} |`,
      );
    }
    out.push('');
  }
  const w = results.writePath;
  if (w && Object.keys(w.send ?? {}).length > 0) {
    out.push(`### Write path: send against the minimal reference (load generator: ${w.generator})`);
    out.push('');
    out.push(
      'Minimal reference: bare Fastify + pg, one INSERT per request into a table of its own with two indexes and no trigger. Batches: rows per transaction of messenger (group commit), from `messages.txid`.',
    );
    out.push('');
    out.push(
      '| connections | messenger req/s | p50 ms | p99 ms | minimal req/s | p50 ms | p99 ms | ratio | batch mean | batch p99 |',
    );
    out.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [c, r] of Object.entries(w.send)) {
      out.push(
        `| ${c} | ${fmtInt(r.messenger.rps)} | ${fmt(r.messenger.p50, 2)} | ${fmt(r.messenger.p99, 2)} | ${fmtInt(r.minimal.rps)} | ${fmt(r.minimal.p50, 2)} | ${fmt(r.minimal.p99, 2)} | ${fmt(r.ratio, 2)}× | ${fmt(r.batches?.mean, 1)} | ${r.batches?.p99 ?? '–'} |`,
      );
    }
    out.push('');
  }
  if (w && Object.keys(w.list ?? {}).length > 0) {
    out.push(
      `### List by filter combination (${rowsLabel(w.listRows)} rows, a third read, 8 connections)`,
    );
    out.push('');
    out.push('| filter | req/s | p50 ms | p99 ms |');
    out.push('| --- | ---: | ---: | ---: |');
    for (const [name, r] of Object.entries(w.list)) {
      out.push(
        `| ${name} | ${fmtInt(r.rps)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)}${r.ok ? '' : ' (failures)'} |`,
      );
    }
    out.push('');
  }
  out.push('### Targets');
  out.push('');
  out.push('| target | measured | limit | result |');
  out.push('| --- | ---: | ---: | --- |');
  for (const t of results.targets) {
    const verdict = t.pass === null ? 'not measured' : t.pass ? 'PASS' : '**MISS**';
    out.push(
      `| ${t.label}${t.note ? ` (${t.note})` : ''} | ${t.measured ?? '–'} | ${t.limit} | ${verdict} |`,
    );
  }
  if (results.errors.length > 0) {
    out.push('');
    out.push('### Errors');
    out.push('');
    for (const e of results.errors) out.push(`- ${e.phase}: ${e.message}`);
  }
  out.push('');
  return out.join('\n');
}
