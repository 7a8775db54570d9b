import { describe, expect, it } from 'vitest';
import { accuracy, logLoss, rocAuc } from './metrics';

describe('rocAuc', () => {
  it('matches the scikit-learn docs example', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
  });

  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    expect(rocAuc([0, 0, 1, 1], [1, 2, 3, 4])).toBe(1);
    expect(rocAuc([0, 0, 1, 1], [4, 3, 2, 1])).toBe(0);
  });

  it('counts ties as one half (average rank)', () => {
    // All scores tied: every positive/negative pair is a tie -> 0.5.
    expect(rocAuc([0, 1, 0, 1, 1], [3, 3, 3, 3, 3])).toBe(0.5);
    // pos {0.5, 0.9}, neg {0.5, 0.1}: pairs (0.5,0.5)=1/2, (0.5,0.1)=1, (0.9,0.5)=1, (0.9,0.1)=1
    // -> 3.5 / 4.
    expect(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1])).toBeCloseTo(0.875, 12);
    // pos {2, 2, 1}, neg {2, 1, 0}: wins/ties per positive: 2 -> 0.5+1+1, 2 -> same, 1 -> 0+0.5+1
    // -> (2.5 + 2.5 + 1.5) / 9.
    expect(rocAuc([1, 1, 1, 0, 0, 0], [2, 2, 1, 2, 1, 0])).toBeCloseTo(6.5 / 9, 12);
  });

  it('agrees with the brute-force pairwise definition on random data with ties', () => {
    let s = 12345;
    const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const y: number[] = [];
    const sc: number[] = [];
    for (let i = 0; i < 300; i++) {
      y.push(rnd() < 0.3 ? 1 : 0);
      sc.push(Math.floor(rnd() * 20)); // many ties
    }
    let num = 0;
    let den = 0;
    for (let i = 0; i < y.length; i++) {
      for (let j = 0; j < y.length; j++) {
        if (y[i] === 1 && y[j] === 0) {
          den++;
          num += sc[i] > sc[j] ? 1 : sc[i] === sc[j] ? 0.5 : 0;
        }
      }
    }
    expect(rocAuc(y, Float64Array.from(sc))).toBeCloseTo(num / den, 12);
  });

  it('throws when only one class is present', () => {
    expect(() => rocAuc([1, 1, 1], [0.1, 0.2, 0.3])).toThrow(/only one class/);
    expect(() => rocAuc([0, 0], [0.1, 0.2])).toThrow(/only one class/);
  });

  it('throws on bad labels, NaN scores and length mismatch', () => {
    expect(() => rocAuc([0, 2], [0.1, 0.2])).toThrow(/row 1 is 2/);
    expect(() => rocAuc([0, 1], [0.1, NaN])).toThrow(/row 1 is NaN/);
    expect(() => rocAuc([0, 1], [0.1])).toThrow(/2 entries but scores has 1/);
  });
});

describe('logLoss', () => {
  it('is the mean negative log likelihood', () => {
    expect(logLoss([1, 0], [0.9, 0.2])).toBeCloseTo((-Math.log(0.9) - Math.log(0.8)) / 2, 12);
    expect(logLoss([1, 1, 0, 0], [0.5, 0.5, 0.5, 0.5])).toBeCloseTo(Math.log(2), 12);
  });

  it('clips probabilities at 1e-15', () => {
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(1e-15), 9);
    // 1 - 1e-15 rounds to 1 - 9.99e-16 in binary, as in scikit-learn (34.5395...).
    expect(logLoss([0], [1])).toBeCloseTo(-Math.log(1e-15), 2);
    expect(logLoss([1, 0], [1, 0])).toBeLessThan(1e-14);
  });

  it('throws on bad input', () => {
    expect(() => logLoss([0, 3], [0.1, 0.2])).toThrow(/row 1 is 3/);
    expect(() => logLoss([], [])).toThrow(/no rows/);
  });
});

describe('accuracy', () => {
  it('is the fraction of exact matches', () => {
    expect(accuracy([0, 1, 1, 0], [0, 1, 0, 0])).toBe(0.75);
    expect(accuracy(Float64Array.from([1, 1]), [1, 1])).toBe(1);
  });

  it('throws on length mismatch', () => {
    expect(() => accuracy([0, 1], [0])).toThrow(/yPred has 1/);
  });
});
