/** Helpers shared by the bench scripts' Node sides. */
'use strict';
const fs = require('node:fs');

/** Runs `phases[name]()`, exiting 2 on an unknown phase and 1 (with the stack) on a failure. */
function runPhase(phases, name) {
  if (!phases[name]) {
    process.stderr.write(`unknown phase '${name}' (one of ${Object.keys(phases).join(', ')})\n`);
    process.exit(2);
  }
  phases[name]().catch((e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exit(1);
  });
}

/** The JSON lines of a file (lines not starting with '{' are progress text and skipped). */
function jsonLines(file) {
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

/** The samples bench/monitor.js wrote, or none when it did not run. */
function monitorSamples(file) {
  return file && fs.existsSync(file) && fs.statSync(file).size ? jsonLines(file) : [];
}

/**
 * Marks a measurement ({t0, t1} in ms) with the CPU other processes used meanwhile: disturbed
 * when they used a tenth of a core on average, or half a core at some second.
 */
function markDisturbed(m, samples) {
  const during = samples.filter((x) => x.t > m.t0 && x.t <= m.t1 + 1000);
  if (!during.length) return;
  const mean = during.reduce((sum, x) => sum + x.foreign, 0) / during.length;
  const worst = during.reduce((w, x) => (x.foreign > w.foreign ? x : w));
  m.foreign_cpu = { mean: Math.round(mean * 100) / 100, max: worst.foreign, top: worst.top };
  m.disturbed = mean >= 0.1 || worst.foreign >= 0.5;
}

/** A seeded generator of uniform numbers in [0, 1) (mulberry32): the same data on every run and side. */
function seededRandom(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

module.exports = { runPhase, jsonLines, monitorSamples, markDisturbed, seededRandom };
