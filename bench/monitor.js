'use strict';
/**
 * How busy the machine is with things other than the benchmark: every second, the CPU time
 * used by every process that does not descend from --root (the benchmark's script: its
 * servers, load generator and redis-server all do). Machines are shared; report.js marks the
 * measurements taken while something else was busy. Linux only (/proc). Prints one JSON line
 * per second: {t (epoch ms), foreign (cores), top: [the busiest foreign processes]}.
 *
 *   node monitor.js --root PID [--seconds LIMIT]
 */
const fs = require('node:fs');
const { parseArgs } = require('node:util');
const { setTimeout } = require('node:timers');

const { values: a } = parseArgs({
  options: { root: { type: 'string' }, seconds: { type: 'string', default: '7200' } },
});
const root = Number(a.root);
const HZ = 100; // USER_HZ: clock ticks per second of /proc/*/stat on Linux

function processes() {
  const out = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = s.lastIndexOf(')');
      const comm = s.slice(s.indexOf('(') + 1, close);
      const f = s.slice(close + 2).split(' ');
      // after "pid (comm) ": state ppid ... utime(14th field overall) stime(15th)
      out.set(Number(d), { comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function tree(procs) {
  const kids = new Map();
  for (const [pid, p] of procs) kids.set(p.ppid, [...(kids.get(p.ppid) ?? []), pid]);
  const mine = new Set([root]);
  const stack = [root];
  while (stack.length)
    for (const k of kids.get(stack.pop()) ?? [])
      if (!mine.has(k)) {
        mine.add(k);
        stack.push(k);
      }
  return mine;
}

let prev = processes();
const deadline = Date.now() + Number(a.seconds) * 1000;
const tick = () => {
  try {
    process.kill(root, 0);
  } catch {
    return; // the benchmark is over
  }
  const procs = processes();
  const mine = tree(procs);
  const foreign = [];
  for (const [pid, p] of procs) {
    if (mine.has(pid)) continue;
    // A process not seen a second ago started since: all its time is from this second.
    const d = p.ticks - (prev.get(pid)?.ticks ?? 0);
    if (d > 0) foreign.push([`${p.comm}`, d]);
  }
  const total = foreign.reduce((sum, [, d]) => sum + d, 0);
  process.stdout.write(
    `${JSON.stringify({
      t: Date.now(),
      foreign: Math.round((total / HZ) * 100) / 100,
      top: foreign
        .sort((x, y) => y[1] - x[1])
        .slice(0, 3)
        .map(([c, d]) => `${c} ${Math.round((d / HZ) * 100)}%`),
    })}\n`,
  );
  prev = procs;
  if (Date.now() < deadline) setTimeout(tick, 1000);
};
setTimeout(tick, 1000);
