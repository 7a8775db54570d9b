import { describe, expect, it } from 'vitest';
import { makeObjective, weightedMedian, type GbtObjective } from './objectives';
import { leafGain, leafOutput, thresholdL1 } from './split';
import { testRng } from './test-support/synthetic';

describe('objectives', () => {
  const r = testRng(1);
  const n = 50;
  const w = Float64Array.from({ length: n }, () => 0.5 + r.u());
  const cases: [GbtObjective, number, Float64Array][] = [
    ['binary', 1, Float64Array.from({ length: n }, () => (r.u() < 0.4 ? 1 : 0))],
    ['multiclass', 3, Float64Array.from({ length: n }, () => Math.floor(r.u() * 3))],
    ['regression', 1, Float64Array.from({ length: n }, () => r.normal() * 2)],
    ['regression_l1', 1, Float64Array.from({ length: n }, () => r.normal() * 2)],
    ['huber', 1, Float64Array.from({ length: n }, () => r.normal() * 2)],
  ];

  for (const [name, k, y] of cases) {
    it(`${name}: gradients are the derivative of the loss, and the fused loss equals loss()`, () => {
      const obj = makeObjective(name, k, 0.9);
      const base = obj.initScores(y, w);
      const acc = Float64Array.from({ length: n * k }, () => r.normal());
      const g = new Float64Array(n * k);
      const h = new Float64Array(n * k);
      const fused = obj.gradients(base, acc, y, w, g, h);
      const sumW = w.reduce((a, b) => a + b, 0);
      expect(fused).toBeCloseTo(obj.loss(base, acc, y, w), 12);
      // Central differences of the total weighted loss, per score. L2's metric is the squared
      // error, its gradient that of half of it (as LightGBM's).
      const scale = name === 'regression' ? 0.5 : 1;
      const eps = 1e-6;
      for (let j = 0; j < n * k; j += 7) {
        const plus = Float64Array.from(acc);
        const minus = Float64Array.from(acc);
        plus[j] += eps;
        minus[j] -= eps;
        const num = (scale * (obj.loss(base, plus, y, w) - obj.loss(base, minus, y, w)) * sumW) / (2 * eps);
        expect(g[j]).toBeCloseTo(num, 5);
      }
      for (const v of h) expect(v).toBeGreaterThan(0);
    });
  }

  it('starts from LightGBM boost_from_average scores', () => {
    const y = Float64Array.from([0, 1, 1, 1]);
    expect(makeObjective('binary', 1, 0.9).initScores(y, null)[0]).toBeCloseTo(Math.log(3), 14);
    expect(makeObjective('regression', 1, 0.9).initScores(Float64Array.from([1, 2, 6]), null)).toEqual([3]);
    expect(makeObjective('regression_l1', 1, 0.9).initScores(Float64Array.from([1, 2, 6, 10]), null)).toEqual([4]);
    const mc = makeObjective('multiclass', 3, 0.9).initScores(Float64Array.from([0, 1, 1, 2]), null);
    expect(mc.map(Math.exp)).toEqual([0.25, 0.5, 0.25].map((v) => expect.closeTo(v, 14) as unknown as number));
  });

  it('computes weighted medians', () => {
    expect(weightedMedian(Float64Array.from([3, 1, 2]), null)).toBe(2);
    expect(weightedMedian(Float64Array.from([3, 1, 2, 10]), null)).toBe(2.5);
    expect(weightedMedian(Float64Array.from([3, 1, 2]), Float64Array.from([1, 1, 5]))).toBe(2);
    expect(weightedMedian(Float64Array.from([3, 1, 2]), Float64Array.from([5, 1, 1]))).toBe(3);
  });

  it('regularises leaves like LightGBM (ThresholdL1, lambda L2)', () => {
    expect(thresholdL1(5, 2)).toBe(3);
    expect(thresholdL1(-5, 2)).toBe(-3);
    expect(thresholdL1(1, 2)).toBe(0);
    expect(leafOutput(-4, 2, 0, 0)).toBe(2);
    expect(leafOutput(-4, 2, 1, 2)).toBe(0.75);
    expect(leafGain(-4, 2, 1, 2)).toBe(9 / 4);
  });
});
