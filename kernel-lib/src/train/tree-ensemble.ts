/**
 * Tree ensembles (gradient-boosted trees and random forests share one model shape,
 * `TreeEnsembleModel`): the reference predictor and the structural checks that the trainers'
 * output and the ONNX compiler rely on.
 *
 * Features are compared as float32, exactly as onnxruntime compares its float32 inputs with
 * float32 thresholds: a row goes left when `Math.fround(x) <= threshold`. Trainers therefore
 * choose float32 thresholds, and the TypeScript and ONNX predictions take the same path for
 * every value, including values that float32 rounds.
 */
import type { Columns, DecisionTree, Predictions, TreeEnsembleModel } from './types';

/** The leaf a row reaches; `get(j)` returns feature j of the row. */
export function leafOf(tree: DecisionTree, get: (feature: number) => number): number {
  let node = 0;
  while (tree.feature[node] >= 0) {
    const v = get(tree.feature[node]);
    const left = v !== v ? tree.defaultLeft[node] : Math.fround(v) <= tree.threshold[node];
    node = left ? tree.left[node] : tree.right[node];
  }
  return node;
}

/** Raw scores before the transform, [N, nOutputs] row-major: baseScore + aggregated leaf values. */
export function rawScores(model: TreeEnsembleModel, columns: Columns): Float64Array {
  const k = model.nOutputs;
  const n = columns.length > 0 ? columns[0].length : 0;
  const raw = new Float64Array(n * k);
  const scale = model.aggregate === 'average' && model.trees.length > 0 ? 1 / model.trees.length : 1;
  for (let i = 0; i < n; i++) {
    const get = (j: number): number => columns[j][i];
    for (const tree of model.trees) {
      const leaf = leafOf(tree, get);
      const m = tree.outputs.length;
      for (let o = 0; o < m; o++) raw[i * k + tree.outputs[o]] += tree.value[leaf * m + o];
    }
    for (let o = 0; o < k; o++) raw[i * k + o] = model.baseScore[o] + raw[i * k + o] * scale;
  }
  return raw;
}

function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * Predicts with a tree ensemble: `prediction` (regression), `probability` (binary) or
 * `probabilities` and `label` (multiclass); see {@link Predictions}.
 *
 * @example
 * ```ts
 * import { predictTreeEnsemble } from '@plinth/kernel-lib';
 * // One stump: x <= 0.5 -> -1, else +1 (NaN goes right), logistic transform.
 * const model = {
 *   kind: 'treeEnsemble', featureNames: ['x'], task: 'binary', classes: [0, 1], nOutputs: 1,
 *   baseScore: [0], aggregate: 'sum', postTransform: 'logistic',
 *   trees: [{ outputs: [0], feature: [0, -1, -1], threshold: [0.5, 0, 0], left: [1, -1, -1],
 *             right: [2, -1, -1], defaultLeft: [false, false, false], value: [0, -1, 1] }],
 * } as const;
 * predictTreeEnsemble(model, [Float64Array.from([0, 1, NaN])]).probability; // [0.269, 0.731, 0.731]
 * ```
 */
export function predictTreeEnsemble(model: TreeEnsembleModel, columns: Columns): Predictions {
  if (columns.length !== model.featureNames.length) {
    throw new Error(
      `predictTreeEnsemble: model has ${model.featureNames.length} features (${model.featureNames.join(', ')}) but got ${columns.length} columns`,
    );
  }
  const k = model.nOutputs;
  const raw = rawScores(model, columns);
  const n = raw.length / k;
  if (model.postTransform === 'logistic') for (let i = 0; i < raw.length; i++) raw[i] = sigmoid(raw[i]);
  else if (model.postTransform === 'softmax') {
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let o = 0; o < k; o++) max = Math.max(max, raw[i * k + o]);
      let sum = 0;
      for (let o = 0; o < k; o++) sum += raw[i * k + o] = Math.exp(raw[i * k + o] - max);
      for (let o = 0; o < k; o++) raw[i * k + o] /= sum;
    }
  }
  if (model.task === 'regression') return { prediction: raw };
  if (model.task === 'binary') return { probability: raw };
  const classes = model.classes ?? Array.from({ length: k }, (_, o) => o);
  const label = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let o = 1; o < k; o++) if (raw[i * k + o] > raw[i * k + best]) best = o;
    label[i] = classes[best];
  }
  return { probabilities: raw, label };
}

/**
 * Checks a tree ensemble's structure; throws naming the tree, node and field at fault. Used by
 * the trainers' tests and by the ONNX compiler before it emits anything.
 */
export function validateTreeEnsemble(model: TreeEnsembleModel, where = 'model (treeEnsemble)'): void {
  const f = model.featureNames.length;
  const k = model.nOutputs;
  if (!Number.isInteger(k) || k < 1) throw new Error(`${where}: nOutputs ${k} must be a positive integer`);
  if ((model.task === 'regression' || model.task === 'binary') && k !== 1)
    throw new Error(`${where}: a ${model.task} ensemble has 1 output, not ${k}`);
  if (model.task !== 'regression') {
    const want = model.task === 'binary' ? 2 : k;
    if (model.classes && model.classes.length !== want)
      throw new Error(`${where}: classes has ${model.classes.length} values for ${want} classes`);
  }
  if (model.baseScore.length !== k || model.baseScore.some((v) => !Number.isFinite(v)))
    throw new Error(`${where}: baseScore must be ${k} finite numbers`);
  model.trees.forEach((t, ti) => {
    const n = t.feature.length;
    const at = `${where}, tree ${ti}`;
    if (n === 0) throw new Error(`${at}: has no nodes`);
    for (const key of ['threshold', 'left', 'right', 'defaultLeft'] as const)
      if (t[key].length !== n) throw new Error(`${at}: ${key} has ${t[key].length} entries for ${n} nodes`);
    const m = t.outputs.length;
    if (m === 0 || t.outputs.some((o) => !Number.isInteger(o) || o < 0 || o >= k))
      throw new Error(`${at}: outputs [${t.outputs.join(', ')}] must be indices below nOutputs ${k}`);
    if (t.value.length !== n * m)
      throw new Error(`${at}: value has ${t.value.length} entries, expected ${n * m} (${n} nodes x ${m} outputs)`);
    for (let node = 0; node < n; node++) {
      const j = t.feature[node];
      if (j === -1) {
        for (let o = 0; o < m; o++)
          if (!Number.isFinite(t.value[node * m + o]))
            throw new Error(`${at}, node ${node}: leaf value ${t.value[node * m + o]} is not finite`);
        continue;
      }
      if (!Number.isInteger(j) || j < 0 || j >= f)
        throw new Error(`${at}, node ${node}: feature ${j} is not one of the ${f} features`);
      const thr = t.threshold[node];
      if (Number.isNaN(thr) || Math.fround(thr) !== thr)
        throw new Error(`${at}, node ${node}: threshold ${thr} is not a float32 value`);
      for (const side of ['left', 'right'] as const) {
        const c = t[side][node];
        if (!Number.isInteger(c) || c <= node || c >= n)
          throw new Error(`${at}, node ${node}: ${side} child ${c} must be a later node (below ${n})`);
      }
    }
  });
}
