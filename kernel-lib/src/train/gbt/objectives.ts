/**
 * Training objectives: gradients and hessians of the loss at the current scores, the starting
 * score (LightGBM's boost_from_average) and the evaluation loss (LightGBM's default metric of
 * each objective: binary_logloss, multi_logloss, l2, l1, huber).
 *
 * Scores are kept as `base[k] + acc[k * n + i]`: the base score plus the sum of the trees' leaf
 * values, exactly as the predictor adds them up.
 */

/** The objectives {@link fitGbt} trains. */
export type GbtObjective = 'binary' | 'multiclass' | 'regression' | 'regression_l1' | 'huber';

/** Names of the objectives, for validation messages. */
export const OBJECTIVES: readonly GbtObjective[] = ['binary', 'multiclass', 'regression', 'regression_l1', 'huber'];

const EPS = 1e-15;

/** log(1 + exp(z)) without overflow. */
function log1pExp(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Weighted median: the average of the two middle values when the weights are all equal. */
export function weightedMedian(values: Float64Array, weights: Float64Array | null): number {
  const m = values.length;
  if (m === 0) return 0;
  if (!weights) {
    const s = Float64Array.from(values).sort();
    const mid = m >> 1;
    return m % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  }
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  let total = 0;
  for (let i = 0; i < m; i++) total += weights[i];
  let cum = 0;
  for (const i of order) {
    cum += weights[i];
    if (cum >= total / 2) return values[i];
  }
  return values[order[m - 1]];
}

/** An objective over n rows and k outputs. */
export interface Objective {
  readonly name: GbtObjective;
  /** Outputs (classes for multiclass, else 1). */
  readonly k: number;
  /** Starting score of each output (boost from average). */
  initScores(y: Float64Array, w: Float64Array | null): number[];
  /**
   * Fills g and h (class-major, k * n) at scores base + acc; returns the weighted mean loss
   * there (computed in the same pass where that saves work).
   */
  gradients(
    base: number[],
    acc: Float64Array,
    y: Float64Array,
    w: Float64Array | null,
    g: Float64Array,
    h: Float64Array,
  ): number;
  /** Weighted mean loss at scores base + acc (acc class-major over y.length rows). */
  loss(base: number[], acc: Float64Array, y: Float64Array, w: Float64Array | null): number;
}

function weightedMean(y: Float64Array, w: Float64Array | null): number {
  let s = 0;
  let sw = 0;
  for (let i = 0; i < y.length; i++) {
    const wi = w ? w[i] : 1;
    s += wi * y[i];
    sw += wi;
  }
  return sw > 0 ? s / sw : 0;
}

function sumWeights(n: number, w: Float64Array | null): number {
  if (!w) return n;
  let s = 0;
  for (let i = 0; i < n; i++) s += w[i];
  return s;
}

class Binary implements Objective {
  readonly name = 'binary';
  readonly k = 1;

  initScores(y: Float64Array, w: Float64Array | null): number[] {
    const p = Math.min(1 - EPS, Math.max(EPS, weightedMean(y, w)));
    return [Math.log(p / (1 - p))];
  }

  gradients(
    base: number[],
    acc: Float64Array,
    y: Float64Array,
    w: Float64Array | null,
    g: Float64Array,
    h: Float64Array,
  ): number {
    const b = base[0];
    const n = y.length;
    let loss = 0;
    let sw = 0;
    for (let i = 0; i < n; i++) {
      const z = b + acc[i];
      const e = Math.exp(-z);
      const p = 1 / (1 + e);
      const wi = w ? w[i] : 1;
      const yi = y[i];
      g[i] = (p - yi) * wi;
      h[i] = p * (1 - p) * wi;
      // log(1 + exp(z)) - y z, from the same exp: stable for either sign of z.
      loss += wi * (z >= 0 ? Math.log1p(e) + (1 - yi) * z : Math.log1p(1 / e) - yi * z);
      sw += wi;
    }
    return loss / sw;
  }

  loss(base: number[], acc: Float64Array, y: Float64Array, w: Float64Array | null): number {
    const b = base[0];
    const n = y.length;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const z = b + acc[i];
      s += (w ? w[i] : 1) * (log1pExp(z) - y[i] * z);
    }
    return s / sumWeights(n, w);
  }
}

class Multiclass implements Objective {
  readonly name = 'multiclass';
  private readonly p: Float64Array;

  constructor(readonly k: number) {
    this.p = new Float64Array(k);
  }

  initScores(y: Float64Array, w: Float64Array | null): number[] {
    const counts = new Float64Array(this.k);
    let total = 0;
    for (let i = 0; i < y.length; i++) {
      const wi = w ? w[i] : 1;
      counts[y[i]] += wi;
      total += wi;
    }
    return Array.from(counts, (c) => Math.log(Math.max(EPS, c / total)));
  }

  gradients(
    base: number[],
    acc: Float64Array,
    y: Float64Array,
    w: Float64Array | null,
    g: Float64Array,
    h: Float64Array,
  ): number {
    const k = this.k;
    const n = y.length;
    const p = this.p;
    // LightGBM scales the softmax hessian by k / (k - 1).
    const factor = k / (k - 1);
    let loss = 0;
    let sw = 0;
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let c = 0; c < k; c++) {
        const s = base[c] + acc[c * n + i];
        p[c] = s;
        if (s > max) max = s;
      }
      const yi = y[i];
      const sy = p[yi];
      let sum = 0;
      for (let c = 0; c < k; c++) sum += p[c] = Math.exp(p[c] - max);
      const wi = w ? w[i] : 1;
      for (let c = 0; c < k; c++) {
        const pc = p[c] / sum;
        g[c * n + i] = (c === yi ? pc - 1 : pc) * wi;
        h[c * n + i] = factor * pc * (1 - pc) * wi;
      }
      loss += wi * (max + Math.log(sum) - sy);
      sw += wi;
    }
    return loss / sw;
  }

  loss(base: number[], acc: Float64Array, y: Float64Array, w: Float64Array | null): number {
    const k = this.k;
    const n = y.length;
    let total = 0;
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let c = 0; c < k; c++) max = Math.max(max, base[c] + acc[c * n + i]);
      let sum = 0;
      for (let c = 0; c < k; c++) sum += Math.exp(base[c] + acc[c * n + i] - max);
      const yi = y[i];
      total += (w ? w[i] : 1) * (max + Math.log(sum) - (base[yi] + acc[yi * n + i]));
    }
    return total / sumWeights(n, w);
  }
}

class L2 implements Objective {
  readonly name: GbtObjective = 'regression';
  readonly k = 1;

  initScores(y: Float64Array, w: Float64Array | null): number[] {
    return [weightedMean(y, w)];
  }

  gradients(
    base: number[],
    acc: Float64Array,
    y: Float64Array,
    w: Float64Array | null,
    g: Float64Array,
    h: Float64Array,
  ): number {
    const b = base[0];
    const n = y.length;
    if (w) {
      for (let i = 0; i < n; i++) {
        g[i] = (b + acc[i] - y[i]) * w[i];
        h[i] = w[i];
      }
    } else {
      for (let i = 0; i < n; i++) {
        g[i] = b + acc[i] - y[i];
        h[i] = 1;
      }
    }
    return this.loss(base, acc, y, w);
  }

  loss(base: number[], acc: Float64Array, y: Float64Array, w: Float64Array | null): number {
    const b = base[0];
    const n = y.length;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const d = b + acc[i] - y[i];
      s += (w ? w[i] : 1) * d * d;
    }
    return s / sumWeights(n, w);
  }
}

class L1 implements Objective {
  readonly name = 'regression_l1';
  readonly k = 1;

  initScores(y: Float64Array, w: Float64Array | null): number[] {
    return [weightedMedian(y, w)];
  }

  gradients(
    base: number[],
    acc: Float64Array,
    y: Float64Array,
    w: Float64Array | null,
    g: Float64Array,
    h: Float64Array,
  ): number {
    const b = base[0];
    const n = y.length;
    for (let i = 0; i < n; i++) {
      const d = b + acc[i] - y[i];
      const wi = w ? w[i] : 1;
      g[i] = d > 0 ? wi : d < 0 ? -wi : 0;
      h[i] = wi;
    }
    return this.loss(base, acc, y, w);
  }

  loss(base: number[], acc: Float64Array, y: Float64Array, w: Float64Array | null): number {
    const b = base[0];
    const n = y.length;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const d = b + acc[i] - y[i];
      s += (w ? w[i] : 1) * (d < 0 ? -d : d);
    }
    return s / sumWeights(n, w);
  }
}

class Huber implements Objective {
  readonly name = 'huber';
  readonly k = 1;

  constructor(private readonly delta: number) {}

  initScores(y: Float64Array, w: Float64Array | null): number[] {
    return [weightedMean(y, w)];
  }

  gradients(
    base: number[],
    acc: Float64Array,
    y: Float64Array,
    w: Float64Array | null,
    g: Float64Array,
    h: Float64Array,
  ): number {
    const b = base[0];
    const n = y.length;
    const a = this.delta;
    for (let i = 0; i < n; i++) {
      const d = b + acc[i] - y[i];
      const wi = w ? w[i] : 1;
      g[i] = (d > a ? a : d < -a ? -a : d) * wi;
      h[i] = wi;
    }
    return this.loss(base, acc, y, w);
  }

  loss(base: number[], acc: Float64Array, y: Float64Array, w: Float64Array | null): number {
    const b = base[0];
    const n = y.length;
    const a = this.delta;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const d = b + acc[i] - y[i];
      const ad = d < 0 ? -d : d;
      s += (w ? w[i] : 1) * (ad <= a ? 0.5 * d * d : a * (ad - 0.5 * a));
    }
    return s / sumWeights(n, w);
  }
}

/**
 * The objective of a name.
 *
 * @example
 * ```ts
 * const obj = makeObjective('binary', 1, 0.9);
 * obj.initScores(Float64Array.from([0, 1, 1, 1]), null); // [log(3)]
 * ```
 */
export function makeObjective(name: GbtObjective, numClass: number, huberDelta: number): Objective {
  switch (name) {
    case 'binary':
      return new Binary();
    case 'multiclass':
      return new Multiclass(numClass);
    case 'regression':
      return new L2();
    case 'regression_l1':
      return new L1();
    case 'huber':
      return new Huber(huberDelta);
  }
}
