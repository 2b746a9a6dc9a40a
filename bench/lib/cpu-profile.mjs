// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time by package
// and by function, and total (inclusive) time of the repository's own functions.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** The package a script belongs to: node_modules/<pkg>, packages/<name>, node built-ins… */
function packageOf(url) {
  const nm = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/g);
  if (nm) return nm.at(-1).replace('node_modules/', '');
  const ws = url.match(/\/(packages\/[^/]+|bench)\//);
  if (ws) return ws[1];
  if (url.startsWith('node:')) return 'node (built-in modules)';
  return url;
}

function label(node) {
  const f = node.callFrame;
  if (!f.url) return f.functionName || '(anonymous)';
  const file = f.url.replace(/^file:\/\//, '').replace(/.*\/(node_modules|packages)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
}

/** A text summary of the profile in `file`, `top` lines per list. */
export function summarizeProfile(file, top = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  // Self time per node: each sample's time delta goes to the node it hit.
  const byId = new Map(profile.nodes.map((n) => [n.id, { ...n, self: 0 }]));
  profile.samples.forEach((id, i) => {
    byId.get(id).self += (profile.timeDeltas[i] ?? 0) / 1000;
  });
  const nodes = [...byId.values()];
  const total = nodes.reduce((a, n) => a + n.self, 0);
  const idle = nodes
    .filter((n) => n.callFrame.functionName === '(idle)')
    .reduce((a, n) => a + n.self, 0);

  const add = (map, key, ms) => map.set(key, (map.get(key) ?? 0) + ms);
  const pkgSelf = new Map();
  const fnSelf = new Map();
  for (const n of nodes) {
    const f = n.callFrame;
    add(pkgSelf, f.url ? packageOf(f.url) : f.functionName || '(native)', n.self);
    add(fnSelf, label(n), n.self);
  }
  // Inclusive time of the repository's own functions: self plus descendants, once per stack.
  const parent = new Map();
  for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ownTotal = new Map();
  for (const n of nodes) {
    if (n.self === 0) continue;
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const a = byId.get(id);
      if (!/\/packages\//.test(a.callFrame.url)) continue;
      const key = label(a);
      if (!seen.has(key)) add(ownTotal, key, n.self);
      seen.add(key);
    }
  }
  const busy = total - idle;
  const lines = [
    `${basename(file)}: ${total.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms busy (${((busy / total) * 100).toFixed(0)}%); percentages are of busy time`,
  ];
  const list = (title, map) => {
    lines.push('', title);
    const rows = [...map].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]);
    for (const [k, ms] of rows.slice(0, top)) {
      lines.push(
        `${ms.toFixed(1).padStart(10)} ms ${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${k}`,
      );
    }
  };
  list('self time by package', pkgSelf);
  list('self time by function', fnSelf);
  list("total time of the repository's own functions", ownTotal);
  return lines.join('\n');
}
