// bench/results/list-latency.svg: list latency (p50, p99) against table size, log-scaled rows,
// messenger and the reference. Plain SVG written by hand: no chart library.

const esc = (s) =>
  String(s).replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c],
  );
const rowsLabel = (n) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${Math.round(n / 1000)}k`);

/** A "nice" upper bound for the y axis and its tick step. */
function niceScale(max) {
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  return { top: Math.ceil(max / step) * step, step };
}

/** The chart as SVG text. */
export function listLatencySvg(results) {
  const W = 800;
  const H = 420;
  const pad = { left: 70, right: 270, top: 50, bottom: 70 };
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  const growth = results.growth.filter((g) => g.messenger || g.reference);
  const series = [
    { name: 'messenger p50', key: 'messenger', pct: 'p50', color: '#1f6feb', dash: '' },
    { name: 'messenger p99', key: 'messenger', pct: 'p99', color: '#1f6feb', dash: '6 4' },
    { name: 'reference p50', key: 'reference', pct: 'p50', color: '#6e7781', dash: '' },
    { name: 'reference p99', key: 'reference', pct: 'p99', color: '#6e7781', dash: '6 4' },
  ];
  const values = growth.flatMap((g) => series.map((s) => g[s.key]?.[s.pct]).filter((v) => v > 0));
  const { top, step } = niceScale(Math.max(1, ...values) * 1.05);
  const minRows = Math.min(...growth.map((g) => g.rows), 10_000);
  const maxRows = Math.max(...growth.map((g) => g.rows), 1_000_000);
  const lx = (rows) =>
    pad.left +
    ((Math.log10(rows) - Math.log10(minRows)) / (Math.log10(maxRows) - Math.log10(minRows))) *
      plotW;
  const ly = (ms) => pad.top + plotH - (ms / top) * plotH;
  const o = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
  );
  o.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  o.push(
    `<text x="${pad.left}" y="24" font-size="15" font-weight="600">List "newest 100 to recipient": latency vs table size</text>`,
  );
  const m = results.machine;
  const s = results.settings;
  o.push(
    `<text x="${pad.left}" y="40" fill="#57606a">${esc(`${s.connections} connections, ${s.durationS} s per point; ${m.cpu}, ${m.cores} cores; Node ${m.node}; PostgreSQL ${m.postgres.split(' ')[0]}`)}</text>`,
  );
  // Grid and y axis.
  for (let v = 0; v <= top + 1e-9; v += step) {
    const y = ly(v);
    o.push(
      `<line x1="${pad.left}" y1="${y}" x2="${pad.left + plotW}" y2="${y}" stroke="#d0d7de" stroke-width="1"/>`,
    );
    o.push(
      `<text x="${pad.left - 8}" y="${y + 4}" text-anchor="end" fill="#57606a">${+v.toFixed(3)}</text>`,
    );
  }
  o.push(
    `<text transform="translate(20 ${pad.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#24292f">latency, ms</text>`,
  );
  // X axis: decades, and each measured size.
  o.push(
    `<line x1="${pad.left}" y1="${pad.top + plotH}" x2="${pad.left + plotW}" y2="${pad.top + plotH}" stroke="#24292f"/>`,
  );
  for (let r = minRows; r <= maxRows; r *= 10) {
    const x = lx(r);
    o.push(
      `<line x1="${x}" y1="${pad.top + plotH}" x2="${x}" y2="${pad.top + plotH + 5}" stroke="#24292f"/>`,
    );
    o.push(
      `<text x="${x}" y="${pad.top + plotH + 20}" text-anchor="middle" fill="#24292f">${rowsLabel(r)}</text>`,
    );
  }
  o.push(
    `<text x="${pad.left + plotW / 2}" y="${H - 22}" text-anchor="middle" fill="#24292f">rows in messages (log scale)</text>`,
  );
  // Series.
  series.forEach((se, i) => {
    const pts = growth
      .filter((g) => g[se.key]?.[se.pct] > 0)
      .map((g) => [lx(g.rows), ly(g[se.key][se.pct]), g[se.key][se.pct]]);
    if (pts.length > 0) {
      o.push(
        `<polyline fill="none" stroke="${se.color}" stroke-width="2"${se.dash ? ` stroke-dasharray="${se.dash}"` : ''} points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`,
      );
      for (const [x, y, v] of pts) {
        o.push(
          `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${se.color}"><title>${esc(`${se.name}: ${v.toFixed(2)} ms`)}</title></circle>`,
        );
        if (se.key === 'messenger') {
          o.push(
            `<text x="${(x + 6).toFixed(1)}" y="${(y - 6).toFixed(1)}" fill="${se.color}" font-size="11">${v.toFixed(1)}</text>`,
          );
        }
      }
    }
    const ly0 = pad.top + 10 + i * 22;
    const lx0 = pad.left + plotW + 50;
    o.push(
      `<line x1="${lx0}" y1="${ly0}" x2="${lx0 + 30}" y2="${ly0}" stroke="${se.color}" stroke-width="2"${se.dash ? ` stroke-dasharray="${se.dash}"` : ''}/>`,
    );
    o.push(`<text x="${lx0 + 38}" y="${ly0 + 4}" fill="#24292f">${esc(se.name)}</text>`);
  });
  if (growth.length > 1) {
    const r = growth.at(-1).messenger?.p50 / growth[0].messenger?.p50;
    if (r > 0) {
      o.push(
        `<text x="${pad.left + plotW + 50}" y="${pad.top + 10 + 4 * 22 + 10}" fill="#24292f">${esc(`messenger p50 ${rowsLabel(growth.at(-1).rows)}/${rowsLabel(growth[0].rows)}: ${r.toFixed(2)}×`)}</text>`,
      );
    }
  }
  o.push('</svg>');
  return `${o.join('\n')}\n`;
}
