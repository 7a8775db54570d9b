import { describe, expect, it } from 'vitest';
import type { DecisionTree, TreeEnsembleModel } from '../train/types';
import { compilePipeline, evaluatePipeline, type PipelineSpec } from './compile';
import { expectOnnxParity, runInPython } from './test-support/parity';
import { maxAbsDiff, rng } from './test-support/fixtures';

/** The float32 value next to `v` towards +Infinity (dir 1) or -Infinity (dir -1). */
function nextFloat32(v: number, dir: 1 | -1): number {
  const f = new Float32Array([v]);
  const i = new Int32Array(f.buffer);
  if (v === 0) return dir * 1.401298464324817e-45;
  i[0] += (v > 0 ? 1 : -1) * dir;
  return f[0];
}

/** A random tree of at most `depth` levels; thresholds are drawn from `grid` so that data can hit them exactly. */
function randomTree(r: () => number, f: number, outputs: number[], depth: number, grid: number[]): DecisionTree {
  const t: DecisionTree = { outputs, feature: [], threshold: [], left: [], right: [], defaultLeft: [], value: [] };
  const m = outputs.length;
  // Breadth-first so every child index is larger than its parent's.
  const queue: { id: number; d: number }[] = [];
  const add = (d: number): number => {
    const id = t.feature.length;
    t.feature.push(-1);
    t.threshold.push(0);
    t.left.push(-1);
    t.right.push(-1);
    t.defaultLeft.push(false);
    for (let o = 0; o < m; o++) t.value.push(0);
    queue.push({ id, d });
    return id;
  };
  add(0);
  while (queue.length > 0) {
    const { id, d } = queue.shift()!;
    if (d < depth && (d === 0 || r() < 0.8)) {
      t.feature[id] = Math.floor(r() * f);
      t.threshold[id] = grid[Math.floor(r() * grid.length)];
      t.defaultLeft[id] = r() < 0.5;
      t.left[id] = add(d + 1);
      t.right[id] = add(d + 1);
    } else {
      for (let o = 0; o < m; o++) t.value[id * m + o] = (r() * 2 - 1) * 3;
    }
  }
  return t;
}

type Kind =
  'regression-sum' | 'regression-average' | 'binary-logistic' | 'binary-average' | 'multi-softmax' | 'multi-average';

function randomEnsemble(
  kind: Kind,
  seed: number,
  f: number,
  nTrees: number,
): { model: TreeEnsembleModel; grid: number[] } {
  const r = rng(seed);
  const grid = Array.from({ length: 6 }, () => Math.fround((r() * 2 - 1) * 10));
  grid.push(0, Math.fround(1e30), Math.fround(-1e30));
  const featureNames = Array.from({ length: f }, (_, j) => `f${j}`);
  const k = kind.startsWith('multi') ? 3 : 1;
  const trees: DecisionTree[] = [];
  for (let i = 0; i < nTrees; i++) {
    // Boosted multiclass trees each score one class; forest trees score all classes.
    const outputs = kind === 'multi-softmax' ? [i % k] : Array.from({ length: k }, (_, o) => o);
    const tree = randomTree(r, f, outputs, 1 + Math.floor(r() * 5), grid);
    if (kind === 'binary-average' || kind === 'multi-average') {
      // Forest leaves hold class fractions in [0, 1].
      for (let v = 0; v < tree.value.length; v++) tree.value[v] = Math.abs(tree.value[v]) / 3;
    }
    trees.push(tree);
  }
  const base = (): number[] => Array.from({ length: k }, () => (kind.endsWith('average') ? 0 : r() - 0.5));
  const model: TreeEnsembleModel = {
    kind: 'treeEnsemble',
    featureNames,
    task: kind.startsWith('regression') ? 'regression' : kind.startsWith('binary') ? 'binary' : 'multiclass',
    nOutputs: k,
    baseScore: base(),
    aggregate: kind.endsWith('sum') || kind === 'binary-logistic' || kind === 'multi-softmax' ? 'sum' : 'average',
    postTransform: kind === 'binary-logistic' ? 'logistic' : kind === 'multi-softmax' ? 'softmax' : 'none',
    trees,
  };
  if (k === 3) model.classes = [-1, 2.5, 7];
  else if (model.task === 'binary') model.classes = [0, 1];
  return { model, grid };
}

/** Rows that hit every threshold exactly, its float32 neighbours, NaN, +-1e30, +-Infinity and random values. */
function edgeColumns(grid: number[], f: number, n: number, seed: number): Float64Array[] {
  const r = rng(seed);
  const special = [NaN, 1e30, -1e30, Infinity, -Infinity, 0, -0];
  const pool: number[] = [...special];
  for (const g of grid) pool.push(g, nextFloat32(g, 1), nextFloat32(g, -1));
  return Array.from({ length: f }, (_, j) => {
    const col = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      // The first rows walk the pool in a different phase per column; the rest mix pool and random values.
      if (i < pool.length * 2) col[i] = pool[(i + j * 5) % pool.length];
      else col[i] = r() < 0.6 ? pool[Math.floor(r() * pool.length)] : (r() * 2 - 1) * 12;
    }
    return col;
  });
}

function specOf(model: TreeEnsembleModel): PipelineSpec {
  return { inputs: model.featureNames.map((name) => ({ name })), stages: [], model };
}

const KINDS: Kind[] = [
  'regression-sum',
  'regression-average',
  'binary-logistic',
  'binary-average',
  'multi-softmax',
  'multi-average',
];

describe('emitTreeEnsemble (TreeEnsembleRegressor)', () => {
  it('matches the reference on a stump at the threshold, its float32 neighbours and NaN', async () => {
    const t = Math.fround(0.1);
    const model: TreeEnsembleModel = {
      kind: 'treeEnsemble',
      featureNames: ['x'],
      task: 'binary',
      classes: [0, 1],
      nOutputs: 1,
      baseScore: [0.25],
      aggregate: 'sum',
      postTransform: 'logistic',
      trees: [
        {
          outputs: [0],
          feature: [0, -1, -1],
          threshold: [t, 0, 0],
          left: [1, -1, -1],
          right: [2, -1, -1],
          defaultLeft: [true, false, false],
          value: [0, -1, 1],
        },
      ],
    };
    // 0.1 in float64 rounds to t in float32 and therefore goes left, like t itself.
    const x = Float64Array.from([t, nextFloat32(t, -1), nextFloat32(t, 1), 0.1, NaN, 1e30, -1e30]);
    const report = await expectOnnxParity(specOf(model), [x]);
    const p = report.onnx.probability!;
    const lo = 1 / (1 + Math.exp(0.75));
    const hi = 1 / (1 + Math.exp(-1.25));
    expect(Array.from(p, (v) => (Math.abs(v - lo) < 1e-6 ? 'L' : Math.abs(v - hi) < 1e-6 ? 'R' : '?'))).toEqual([
      'L',
      'L',
      'R',
      'L',
      'L',
      'R',
      'L',
    ]);
  });

  it('matches the reference on random ensembles of every task and aggregate (max |diff| <= 1e-5)', async () => {
    const worst: Record<string, number> = {};
    for (const kind of KINDS) {
      for (let s = 0; s < 3; s++) {
        const f = 2 + s;
        const { model, grid } = randomEnsemble(kind, 100 * s + kind.length, f, 5 + 20 * s);
        const columns = edgeColumns(grid, f, 400, s + 1);
        const report = await expectOnnxParity(specOf(model), columns);
        for (const [name, d] of Object.entries(report.diff)) {
          const key = `${kind} ${name}`;
          worst[key] = Math.max(worst[key] ?? 0, d);
        }
        if (model.task === 'multiclass') {
          // The classes are values, not indices.
          expect(new Set(report.onnx.label).size).toBeGreaterThan(1);
          expect([...report.onnx.label!].every((v) => [-1, 2.5, 7].includes(v))).toBe(true);
        }
      }
    }
    console.log('tree ensemble ONNX max |diff| by task and output:', JSON.stringify(worst));
  });

  it('sums many trees without float32 drift (500 trees, GBT-like)', async () => {
    const { model, grid } = randomEnsemble('regression-sum', 77, 3, 500);
    // Sums reach the hundreds, where one float32 output ulp is already ~1e-5: bound relative to that.
    const report = await expectOnnxParity(specOf(model), edgeColumns(grid, 3, 300, 9), 1e-4);
    const scale = Math.max(...report.reference.prediction!.map(Math.abs));
    console.log(`500-tree regression sum: max |diff| ${report.diff.prediction} for |prediction| up to ${scale}`);
    expect(report.diff.prediction!).toBeLessThanOrEqual(4e-7 * Math.max(1, scale));
  });

  it('handles an empty ensemble and single-leaf trees', async () => {
    const empty: TreeEnsembleModel = {
      kind: 'treeEnsemble',
      featureNames: ['a', 'b'],
      task: 'multiclass',
      classes: [3, 4, 5],
      nOutputs: 3,
      baseScore: [0.1, 0.5, 0.2],
      aggregate: 'average',
      postTransform: 'softmax',
      trees: [],
    };
    const cols = [Float64Array.from([1, NaN, 3]), Float64Array.from([0, 2, -1e30])];
    const r1 = await expectOnnxParity(specOf(empty), cols);
    expect(Array.from(r1.onnx.label!)).toEqual([4, 4, 4]);
    const leaves: TreeEnsembleModel = {
      ...empty,
      task: 'regression',
      classes: undefined,
      nOutputs: 1,
      baseScore: [1],
      postTransform: 'none',
      trees: [
        { outputs: [0], feature: [-1], threshold: [0], left: [-1], right: [-1], defaultLeft: [false], value: [2] },
        { outputs: [0], feature: [-1], threshold: [0], left: [-1], right: [-1], defaultLeft: [false], value: [4] },
      ],
    };
    const r2 = await expectOnnxParity(specOf(leaves), cols);
    expect(Array.from(r2.onnx.prediction!)).toEqual([4, 4, 4]);
    // A class that no tree scores keeps its base score.
    const { model, grid } = randomEnsemble('multi-softmax', 3, 2, 2);
    const r3 = await expectOnnxParity(specOf(model), edgeColumns(grid, 2, 50, 1));
    expect(r3.onnx.probabilities!.length).toBe(150);
  });

  it('passes the official checker and Python onnxruntime agrees, for every task', () => {
    for (const kind of KINDS) {
      const { model, grid } = randomEnsemble(kind, 5 + kind.length, 3, 12);
      const columns = edgeColumns(grid, 3, 200, 3).map((c) => Float64Array.from(c, (v) => Math.fround(v)));
      const py = runInPython(specOf(model), columns);
      const ref = evaluatePipeline(specOf(model), columns);
      if (model.task === 'regression') expect(maxAbsDiff(py.prediction, ref.prediction!)).toBeLessThanOrEqual(1e-5);
      else if (model.task === 'binary') expect(maxAbsDiff(py.probability, ref.probability!)).toBeLessThanOrEqual(1e-5);
      else {
        expect(maxAbsDiff(py.probabilities, ref.probabilities!)).toBeLessThanOrEqual(1e-5);
        expect(py.label).toEqual(Array.from(ref.label!));
      }
    }
  });

  it('rejects a badly structured ensemble with the validateTreeEnsemble error', () => {
    const { model } = randomEnsemble('regression-sum', 1, 2, 2);
    const cyclic = structuredClone(model);
    cyclic.trees[1].left[0] = 0;
    expect(() => compilePipeline(specOf(cyclic))).toThrow(/model \(treeEnsemble\), tree 1, node 0: left child 0/);
    const badThreshold = structuredClone(model);
    badThreshold.trees[0].threshold[0] = 0.1;
    expect(() => compilePipeline(specOf(badThreshold))).toThrow(/tree 0, node 0: threshold 0.1 is not a float32 value/);
    const badOutputs = structuredClone(model);
    badOutputs.trees[0].outputs = [1];
    expect(() => compilePipeline(specOf(badOutputs))).toThrow(/tree 0: outputs \[1\] must be indices below nOutputs 1/);
  });
});
