// CPU time used by processes, from /proc (Linux): how much work a request costs each
// process, a figure that other load on the machine disturbs far less than throughput.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux architecture Node.js runs on

/** utime + stime of `pid`, in ms; undefined once it has gone. */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Pids of the PostgreSQL backends serving database `db` (their title names it). */
function backendsOf(db) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.startsWith('postgres: ') && cmd.includes(` ${db} `)) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/**
 * Starts counting the CPU time of `pids` and of the PostgreSQL backends of database `db`;
 * the returned function gives the ms each used since (undefined where /proc is missing).
 */
export function cpuMeter(pids, db) {
  if (process.platform !== 'linux') return () => ({ process: undefined, postgres: undefined });
  const before = new Map(pids.map((p) => [p, cpuMs(p) ?? 0]));
  const pgBefore = new Map(backendsOf(db).map((p) => [p, cpuMs(p) ?? 0]));
  // A process that ends meanwhile takes its time with it: pool connections closed while
  // idle, so little is lost. Counted from 0 if it started meanwhile.
  const since = (p, start) => Math.max(0, (cpuMs(p) ?? start ?? 0) - (start ?? 0));
  return () => {
    let own = 0;
    for (const [p, t] of before) own += since(p, t);
    let pg = 0;
    for (const p of backendsOf(db)) pg += since(p, pgBefore.get(p));
    return { process: own, postgres: pg };
  };
}

/** Pids of the children of `pid` (nginx's workers). */
export function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}
