/**
 * ONNX emission of tree ensembles (gradient-boosted trees, random forests): one
 * `ai.onnx.ml` TreeEnsembleRegressor computes the raw scores [N, nOutputs], then standard ONNX
 * ops apply the post-transform and shape the public outputs of the task.
 *
 * Exactness with the TypeScript reference (train/tree-ensemble.ts):
 * - the feature matrix is cast to double before the ensemble: onnxruntime then instantiates the
 *   operator with double thresholds and double score accumulation, so sums over hundreds of
 *   trees carry no float32 rounding; the cast is exact and keeps NaN, and comparing a
 *   float32-valued double with a float32 threshold held as double is the same comparison as
 *   `Math.fround(x) <= threshold`;
 * - `nodes_values` (float attribute) holds the thresholds, which are float32 values already;
 * - `nodes_missing_value_tracks_true` = defaultLeft, since the true branch of BRANCH_LEQ is
 *   the left child;
 * - AVERAGE divides the summed leaf values by the number of trees; the base score is added
 *   after that by an Add node, as in the reference;
 * - leaf values and base scores are stored as float32 (the attributes are float), a relative
 *   error of at most 6e-8 each.
 */
import type { TreeEnsembleModel } from '../train/types';
import type { EmittedOutput } from './emitted';
import { GraphBuilder, ML_DOMAIN, attr } from './graph-builder';
import { DataType } from './proto';

/** The parallel node and target arrays of a TreeEnsembleRegressor. */
interface EnsembleArrays {
  treeIds: number[];
  nodeIds: number[];
  featureIds: number[];
  values: number[];
  modes: string[];
  trueIds: number[];
  falseIds: number[];
  missingTracksTrue: number[];
  targetTreeIds: number[];
  targetNodeIds: number[];
  targetIds: number[];
  targetWeights: number[];
}

function ensembleArrays(model: TreeEnsembleModel): EnsembleArrays {
  const a: EnsembleArrays = {
    treeIds: [],
    nodeIds: [],
    featureIds: [],
    values: [],
    modes: [],
    trueIds: [],
    falseIds: [],
    missingTracksTrue: [],
    targetTreeIds: [],
    targetNodeIds: [],
    targetIds: [],
    targetWeights: [],
  };
  model.trees.forEach((tree, t) => {
    const m = tree.outputs.length;
    for (let node = 0; node < tree.feature.length; node++) {
      const leaf = tree.feature[node] < 0;
      a.treeIds.push(t);
      a.nodeIds.push(node);
      a.featureIds.push(leaf ? 0 : tree.feature[node]);
      a.values.push(leaf ? 0 : tree.threshold[node]);
      a.modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      a.trueIds.push(leaf ? 0 : tree.left[node]);
      a.falseIds.push(leaf ? 0 : tree.right[node]);
      a.missingTracksTrue.push(!leaf && tree.defaultLeft[node] ? 1 : 0);
      if (!leaf) continue;
      for (let o = 0; o < m; o++) {
        a.targetTreeIds.push(t);
        a.targetNodeIds.push(node);
        a.targetIds.push(tree.outputs[o]);
        a.targetWeights.push(tree.value[node * m + o]);
      }
    }
  });
  if (model.trees.length === 0) {
    // onnxruntime rejects an ensemble without nodes; one leaf adding 0 leaves baseScore, which
    // is what the reference gives for no trees.
    Object.assign(a, {
      treeIds: [0],
      nodeIds: [0],
      featureIds: [0],
      values: [0],
      modes: ['LEAF'],
      trueIds: [0],
      falseIds: [0],
      missingTracksTrue: [0],
      targetTreeIds: [0],
      targetNodeIds: [0],
      targetIds: [0],
      targetWeights: [0],
    });
  }
  return a;
}

/**
 * Emits the ensemble over the float32 feature matrix `x` [N, F] and writes the outputs of its
 * task: `prediction` [N] (regression), `probability` [N] (binary), or `probabilities` [N, K]
 * and `label` [N], the class value of the highest probability (multiclass). The model must
 * have passed `validateTreeEnsemble` (the compiler checks it first).
 *
 * @example
 * ```ts
 * import { GraphBuilder } from '@plinth/kernel-lib';
 * // Normally called by compilePipeline; directly:
 * const b = new GraphBuilder();
 * b.reserveName('probability');
 * const x = b.addInput('x', ['N', 1]);
 * const outputs = emitTreeEnsemble(b, model, x); // [{ name: 'probability', shape: ['N'] }]
 * for (const o of outputs) b.addOutput(o.name, o.shape);
 * ```
 */
export function emitTreeEnsemble(b: GraphBuilder, model: TreeEnsembleModel, x: string): EmittedOutput[] {
  const k = model.nOutputs;
  const a = ensembleArrays(model);
  const [xd] = b.addNode('Cast', [x], { name: 'trees_input_double', attributes: { to: attr.int(DataType.DOUBLE) } });
  const aggregate = model.aggregate === 'average' && model.trees.length > 0 ? 'AVERAGE' : 'SUM';
  const [raw] = b.addNode('TreeEnsembleRegressor', [xd], {
    name: 'trees_ensemble',
    domain: ML_DOMAIN,
    attributes: {
      n_targets: attr.int(k),
      aggregate_function: attr.string(aggregate),
      post_transform: attr.string('NONE'),
      nodes_treeids: attr.ints(a.treeIds),
      nodes_nodeids: attr.ints(a.nodeIds),
      nodes_featureids: attr.ints(a.featureIds),
      nodes_values: attr.floats(a.values),
      nodes_modes: attr.strings(a.modes),
      nodes_truenodeids: attr.ints(a.trueIds),
      nodes_falsenodeids: attr.ints(a.falseIds),
      nodes_missing_value_tracks_true: attr.ints(a.missingTracksTrue),
      target_treeids: attr.ints(a.targetTreeIds),
      target_nodeids: attr.ints(a.targetNodeIds),
      target_ids: attr.ints(a.targetIds),
      target_weights: attr.floats(a.targetWeights),
    },
  });
  // Not `base_values`: onnxruntime leaves an output that no reached leaf scores at 0 instead
  // of its base value (e.g. a class without trees), so the base is added afterwards.
  const base = b.addFloatInitializer('trees_base_score', model.baseScore, [k]);
  const [sum] = b.addNode('Add', [raw, base], { name: 'trees_raw_score' });

  let scores = sum;
  if (model.postTransform === 'logistic') [scores] = b.addNode('Sigmoid', [sum], { name: 'trees_sigmoid' });
  else if (model.postTransform === 'softmax')
    [scores] = b.addNode('Softmax', [sum], { name: 'trees_softmax', attributes: { axis: attr.int(1) } });

  if (model.task === 'regression' || model.task === 'binary') {
    const name = model.task === 'regression' ? 'prediction' : 'probability';
    const flat = b.addInt64Initializer(`${name}_shape`, [-1], [1]);
    b.addNode('Reshape', [scores, flat], { name: `${name}_reshape`, outputs: [name] });
    return [{ name, shape: ['N'] }];
  }
  b.addNode('Identity', [scores], { name: 'probabilities_identity', outputs: ['probabilities'] });
  const classes = model.classes ?? Array.from({ length: k }, (_, o) => o);
  const table = b.addFloatInitializer('trees_classes', classes, [k]);
  // ArgMax keeps the first of equal maxima, as the reference does.
  const [best] = b.addNode('ArgMax', ['probabilities'], {
    name: 'trees_argmax',
    attributes: { axis: attr.int(1), keepdims: attr.int(0), select_last_index: attr.int(0) },
  });
  b.addNode('Gather', [table, best], { name: 'label_gather', outputs: ['label'], attributes: { axis: attr.int(0) } });
  return [
    { name: 'probabilities', shape: ['N', k] },
    { name: 'label', shape: ['N'] },
  ];
}
