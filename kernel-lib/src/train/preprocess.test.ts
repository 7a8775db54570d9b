import { describe, expect, it } from 'vitest';
import { applyStages, fitImputer, fitStandardScaler } from './preprocess';

const f = (...v: number[]) => Float64Array.from(v);

describe('fitImputer', () => {
  it('uses the mean of observed values, 0 for an all-missing column', () => {
    const st = fitImputer(['a', 'b', 'c'], [f(1, NaN, 5), f(NaN, NaN, NaN), f(2, 2, 2)]);
    expect(st).toEqual({ kind: 'imputer', featureNames: ['a', 'b', 'c'], values: [3, 0, 2] });
  });

  it('fills NaN when applied and leaves the input untouched', () => {
    const cols = [f(1, NaN, 5), f(NaN, 4, NaN)];
    const st = fitImputer(['a', 'b'], cols);
    const out = applyStages([st], cols);
    expect(Array.from(out[0])).toEqual([1, 3, 5]);
    expect(Array.from(out[1])).toEqual([4, 4, 4]);
    expect(Number.isNaN(cols[0][1])).toBe(true);
  });

  it('rejects mismatched names and columns', () => {
    expect(() => fitImputer(['a'], [f(1), f(2)])).toThrow(/1 feature names but 2 columns/);
  });
});

describe('fitStandardScaler', () => {
  it('uses the population standard deviation, like scikit-learn', () => {
    const st = fitStandardScaler(['x'], [f(1, 2, 3, 4)]);
    expect(st.mean[0]).toBeCloseTo(2.5, 14);
    expect(st.scale[0]).toBeCloseTo(Math.sqrt(1.25), 14);
    const out = applyStages([st], [f(1, 2, 3, 4)]);
    const mean = out[0].reduce((s, v) => s + v, 0) / 4;
    const varr = out[0].reduce((s, v) => s + (v - mean) ** 2, 0) / 4;
    expect(mean).toBeCloseTo(0, 14);
    expect(varr).toBeCloseTo(1, 14);
  });

  it('gives a constant column scale 1 (also with a large offset), an all-NaN column mean 0 scale 1', () => {
    const st = fitStandardScaler(
      ['c', 'big', 'nan'],
      [f(7, 7, 7), f(1e9 + 0.1, 1e9 + 0.1, 1e9 + 0.1), f(NaN, NaN, NaN)],
    );
    expect(st.scale).toEqual([1, 1, 1]);
    expect(st.mean[0]).toBe(7);
    expect(st.mean[2]).toBe(0);
    expect(Array.from(applyStages([st], [f(7), f(1e9 + 0.1), f(5)])[0])).toEqual([0]);
  });

  it('ignores NaN when fitting; imputer then scaler compose', () => {
    const cols = [f(1, NaN, 3)];
    const sc = fitStandardScaler(['x'], cols);
    expect(sc.mean).toEqual([2]);
    expect(sc.scale).toEqual([1]);
    const imp = fitImputer(['x'], cols);
    const sc2 = fitStandardScaler(['x'], applyStages([imp], cols));
    const out = applyStages([imp, sc2], [f(NaN, 3)]);
    expect(out[0][0]).toBe(0);
    expect(out[0][1]).toBeCloseTo(1 / Math.sqrt(2 / 3), 14);
  });

  it('applyStages rejects a column count that does not match the stage', () => {
    const st = fitStandardScaler(['a', 'b'], [f(1, 2), f(3, 4)]);
    expect(() => applyStages([st], [f(1)])).toThrow(/fitted on 2 columns \(a, b\) but got 1/);
  });
});
