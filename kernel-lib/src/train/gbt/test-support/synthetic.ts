/**
 * Seeded synthetic data for the trainer's tests (not part of the public API).
 */

/** mulberry32 uniform in [0, 1) and a Box-Muller normal, seeded, for reproducible tests. */
export function testRng(seed: number): { u: () => number; normal: () => number } {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return { u, normal };
}

/** A synthetic problem: `nf` normal features, a nonlinear signal, labels by `kind`. */
export function synthetic(
  n: number,
  nf: number,
  kind: 'binary' | 'regression' | 'multiclass',
  seed: number,
): { columns: Float64Array[]; y: Float64Array; names: string[] } {
  const r = testRng(seed);
  const columns = Array.from({ length: nf }, () => new Float64Array(n));
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < nf; j++) columns[j][i] = r.normal();
    const x = (j: number): number => columns[j % nf][i];
    const s = 1.5 * x(0) - x(1) * x(1) + Math.sin(2 * x(2)) + 0.5 * x(3) * x(0);
    if (kind === 'regression') y[i] = s + 0.3 * r.normal();
    else if (kind === 'binary') y[i] = r.u() < 1 / (1 + Math.exp(-2 * (s + 0.7))) ? 1 : 0;
    else {
      const z = s + 0.3 * r.normal();
      y[i] = z < -1 ? 0 : z < 0.8 ? 1 : 2;
    }
  }
  return { columns, y, names: Array.from({ length: nf }, (_, j) => `f${j}`) };
}

/** Rows [from, to) of column-major data. */
export function sliceRows(columns: Float64Array[], from: number, to: number): Float64Array[] {
  return columns.map((c) => c.slice(from, to));
}
