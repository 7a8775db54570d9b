'use strict';
/**
 * The data of bench/training: a synthetic, Higgs-like binary classification set, written once
 * to one little-endian float32 file that both sides read (plinth.js and peer.py).
 *
 *   node gen.js --out DIR --train N --valid M [--seed S]
 *
 * Eight independent latent N(0, 1) variables z0..z7 drive the label; the 28 features are:
 *
 * - f00..f07 informative: the latents themselves, two of them through exp(z / 2) (positive,
 *   skewed, like transverse momenta);
 * - f08..f13 correlated: noisy linear copies of latents (correlation 0.5 to 0.9 with them);
 * - f14..f20 noise: independent of the label (angles, a normal, log-normals, a 0/1/2 "b-tag",
 *   and a pair correlated with each other but not with the label);
 * - f21..f27 derived: nonlinear functions of several latents plus a little noise (like
 *   Higgs's invariant masses): a norm, a product, an absolute difference, a max, a sine, ...
 *
 * The label is 1 when s(z) + 0.3 + logistic noise > 0, with
 *   s = 1.2 sin(1.5 z0) + 0.9 z1 z2 + 0.5 (z3^2 - 1) + 0.7 max(z4, 0) - 0.6 |z5| + 0.5 z6
 *       + 0.4 z7 [z0 > 0] + 0.3 z2,
 * so interactions and nonlinearity matter (a linear model falls well short of a tree
 * ensemble) and no model reaches AUC 1 (the noise is irreducible).
 *
 * Layout of data.f32: 29 columns of (train + valid) float32 each, one after the other
 * (column-major): f00..f27, then the label (0 or 1). Rows [0, train) train, the rest validate.
 * meta.json beside it records the sizes, seed and generator version; a file whose meta
 * matches is kept, so the data is written once per scale.
 */
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const VERSION = 'higgs-like-1';
const FEATURES = 28;
const NAMES = Array.from({ length: FEATURES }, (_, j) => `f${String(j).padStart(2, '0')}`);

const { values: a } = parseArgs({
  options: {
    out: { type: 'string' },
    train: { type: 'string' },
    valid: { type: 'string' },
    seed: { type: 'string', default: '20261128' },
  },
});
const train = Number(a.train);
const valid = Number(a.valid);
const seed = Number(a.seed);
const rows = train + valid;
const dataFile = path.join(a.out, 'data.f32');
const metaFile = path.join(a.out, 'meta.json');
const want = { version: VERSION, seed, train, valid, features: NAMES };

function sameMeta() {
  try {
    const m = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    const ok = ['version', 'seed', 'train', 'valid'].every((k) => m[k] === want[k]);
    return ok && fs.statSync(dataFile).size === (FEATURES + 1) * rows * 4 ? m : null;
  } catch {
    return null;
  }
}

/** xoshiro128**: a small, fast, seedable generator; the same stream on every machine. */
function rng(s) {
  // splitmix32 spreads the one seed over the four words of state.
  let x = s >>> 0;
  const split = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a0 = split();
  let a1 = split();
  let a2 = split();
  let a3 = split();
  const next = () => {
    const r = Math.imul(((Math.imul(a1, 5) << 7) | (Math.imul(a1, 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = (a1 << 9) >>> 0;
    a2 ^= a0;
    a3 ^= a1;
    a1 ^= a2;
    a0 ^= a3;
    a2 ^= t;
    a3 = ((a3 << 11) | (a3 >>> 21)) >>> 0;
    return r;
  };
  // Uniform in (0, 1): 53 random bits, never exactly 0 (log() below).
  const uniform = () => ((next() >>> 5) * 67108864 + (next() >>> 6) + 0.5) / 9007199254740992;
  let spare = NaN;
  const normal = () => {
    if (spare === spare) {
      const v = spare;
      spare = NaN;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const t = 2 * Math.PI * uniform();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
  return { uniform, normal };
}

function generate() {
  const t0 = Date.now();
  const data = new Float32Array((FEATURES + 1) * rows);
  const col = (j) => data.subarray(j * rows, (j + 1) * rows);
  const f = NAMES.map((_, j) => col(j));
  const label = col(FEATURES);
  const { uniform, normal } = rng(seed);
  const z = new Float64Array(8);
  let positives = 0;
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < 8; k++) z[k] = normal();
    // informative
    f[0][i] = Math.exp(0.5 * z[0]);
    f[1][i] = z[1];
    f[2][i] = z[2];
    f[3][i] = Math.exp(0.5 * z[3]);
    f[4][i] = z[4];
    f[5][i] = z[5];
    f[6][i] = z[6];
    f[7][i] = z[7];
    // correlated: noisy copies
    f[8][i] = 0.8 * z[0] + 0.6 * normal();
    f[9][i] = 0.8 * z[1] + 0.6 * normal();
    f[10][i] = 0.7 * z[2] + 0.7 * z[4] + 0.2 * normal();
    f[11][i] = 0.9 * z[5] + 0.44 * normal();
    f[12][i] = 0.6 * z[6] + 0.8 * normal();
    f[13][i] = 0.5 * (z[1] + z[2]) + 0.7 * normal();
    // noise
    f[14][i] = Math.PI * (2 * uniform() - 1);
    f[15][i] = Math.PI * (2 * uniform() - 1);
    f[16][i] = normal();
    f[17][i] = Math.exp(0.5 * normal());
    const u = uniform();
    f[18][i] = u < 0.6 ? 0 : u < 0.9 ? 1 : 2;
    const e = normal();
    f[19][i] = e;
    f[20][i] = 0.9 * e + 0.44 * normal();
    // derived: nonlinear functions of several latents
    f[21][i] = Math.sqrt(z[0] * z[0] + z[1] * z[1]) + 0.1 * normal();
    f[22][i] = z[2] * z[3] + 0.1 * normal();
    f[23][i] = Math.abs(z[4] - z[5]) + 0.1 * normal();
    f[24][i] = Math.max(z[6], z[7]) + 0.1 * normal();
    f[25][i] = Math.sin(z[0]) + 0.2 * normal();
    f[26][i] = z[1] * Math.exp(0.3 * z[4]) + 0.1 * normal();
    f[27][i] = Math.exp(0.25 * (z[0] + z[3])) + 0.1 * normal();
    const s =
      1.2 * Math.sin(1.5 * z[0]) +
      0.9 * z[1] * z[2] +
      0.5 * (z[3] * z[3] - 1) +
      0.7 * Math.max(z[4], 0) -
      0.6 * Math.abs(z[5]) +
      0.5 * z[6] +
      0.4 * z[7] * (z[0] > 0 ? 1 : 0) +
      0.3 * z[2];
    const v = uniform();
    const y = s + 0.3 + Math.log(v / (1 - v)) > 0 ? 1 : 0;
    label[i] = y;
    positives += y;
  }
  fs.mkdirSync(a.out, { recursive: true });
  // Temporary name, then rename: a killed run never leaves a half-written file behind.
  fs.writeFileSync(`${dataFile}.tmp`, new Uint8Array(data.buffer));
  fs.renameSync(`${dataFile}.tmp`, dataFile);
  const meta = {
    ...want,
    rows,
    positiveRate: positives / rows,
    bytes: data.byteLength,
    seconds: (Date.now() - t0) / 1000,
  };
  fs.writeFileSync(metaFile, `${JSON.stringify(meta, null, 2)}\n`);
  return meta;
}

const kept = sameMeta();
const meta = kept ?? generate();
process.stdout.write(`${JSON.stringify({ phase: 'gen', reused: Boolean(kept), ...meta, features: FEATURES })}\n`);
