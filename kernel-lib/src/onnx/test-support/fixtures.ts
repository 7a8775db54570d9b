/** Deterministic random pipelines and awkward input data for the ONNX tests. */
import type { PipelineSpec } from '../compile';
import { mulberry32 } from '../../train/random';

/** mulberry32: a tiny seeded PRNG so failures reproduce. */
export const rng = mulberry32;

/** Imputer + standard scaler + logistic regression over `f` features with random fitted params. */
export function randomSpec(f: number, seed: number): PipelineSpec {
  const r = rng(seed);
  const u = (lo: number, hi: number) => lo + (hi - lo) * r();
  const featureNames = Array.from({ length: f }, (_, j) => `feature_${j}`);
  const mean = featureNames.map(() => u(-50, 50));
  return {
    inputs: featureNames.map((name) => ({ name })),
    stages: [
      { kind: 'imputer', featureNames, values: mean.map((m) => m + u(-1, 1)) },
      { kind: 'standardScaler', featureNames, mean, scale: featureNames.map(() => u(0.3, 20)) },
    ],
    model: {
      kind: 'logisticRegression',
      featureNames,
      coefficients: featureNames.map(() => u(-2, 2)),
      intercept: u(-1, 1),
    },
    metadata: { run: `test-${seed}`, note: 'fixture' },
  };
}

const SPECIAL = [NaN, 0, -0, 1e30, -1e30, 1e-30, -1e-30, 1e-38, 1e-45, 1e-300, Number.MIN_VALUE];

/**
 * `n` rows per column: mostly plausible values around the scaler mean, plus NaN, 0, huge
 * (+-1e30) and tiny (1e-30 … denormal) values. Returned as float64 columns holding exactly
 * the float32 values the graph will see, so the comparison measures the graph, not the cast.
 */
export function awkwardColumns(spec: PipelineSpec, n: number, seed: number): Float64Array[] {
  const r = rng(seed);
  const scaler = spec.stages.find((s) => s.kind === 'standardScaler');
  return spec.inputs.map((_, j) => {
    const col = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const pick = r();
      let v: number;
      if (pick < 0.25) v = SPECIAL[Math.floor(r() * SPECIAL.length)];
      else {
        const m = scaler && scaler.kind === 'standardScaler' ? scaler.mean[j] : 0;
        const s = scaler && scaler.kind === 'standardScaler' ? scaler.scale[j] : 1;
        v = m + s * 3 * (2 * r() - 1);
      }
      col[i] = Math.fround(v);
    }
    // Make sure every special value occurs at least once in every column.
    SPECIAL.forEach((v, k) => (col[k * spec.inputs.length + j] = Math.fround(v)));
    return col;
  });
}

/** Column-major float64 columns -> the named record PipelineSession.run takes. */
export function toRecord(spec: PipelineSpec, columns: Float64Array[]): Record<string, Float64Array> {
  return Object.fromEntries(spec.inputs.map((inp, j) => [inp.name, columns[j]]));
}

/** Largest |a[i] - b[i]|; NaN anywhere makes it NaN. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN;
    if (d > m) m = d;
  }
  return m;
}
