/**
 * The post-processor: what the caller acts on, computed from the model's outputs inside the
 * same graph (the model's outputs stay outputs too), and its TypeScript reference.
 *
 * - `threshold` (binary): `decision` [N] = probability >= threshold, int64 0/1 or a string label;
 * - `topK` (multiclass): `top_k_scores` [N, k] float32 and `top_k_items` [N, k], class indices
 *   (int64) or item ids (string);
 * - `classMapping` (multiclass, k-means): `class` [N], the name of the class index or cluster;
 * - `identity`: nothing more.
 *
 * String outputs come from ai.onnx.ml LabelEncoder (int64 or float keys -> strings), which
 * onnxruntime and the ONNX checker support at ai.onnx.ml opset 2 and later.
 */
import type { Postprocessor } from '@plinth/schema';
import type { Model, Predictions } from '../train/types';
import type { GraphValue } from './emitted';
import { GraphBuilder, ML_DOMAIN, attr } from './graph-builder';
import { describeModel, modelInfo } from './model-info';
import { DataType } from './proto';
import { PipelineSpecError } from './spec-error';

/** The names of the outputs post-processors write. */
export const POSTPROCESSOR_OUTPUTS = ['decision', 'top_k_scores', 'top_k_items', 'class'] as const;

/** What {@link applyPostprocessor} returns (numbers as Float64Array, strings as string[]). */
export interface PostprocessorOutputs {
  /** threshold: 0/1, or labels[0] / labels[1]. */
  decision?: Float64Array | string[];
  /** topK: [N, k] row-major, largest first. */
  top_k_scores?: Float64Array;
  /** topK: [N, k] row-major class indices, or item ids. */
  top_k_items?: Float64Array | string[];
  /** classMapping: the name of each row's class or cluster. */
  class?: string[];
}

const where = (field?: string) => `/postprocessor${field ? `/${field}` : ''}`;
const fail = (message: string, field?: string): never => {
  throw new PipelineSpecError(message, where(field));
};

/** Non-empty strings; `distinct` also rejects repeats. Names the field and index. */
function checkNames(values: unknown, field: string, distinct: boolean): string[] {
  if (!Array.isArray(values)) return fail(`postprocessor.${field} must be a list of strings`, field);
  const seen = new Map<string, number>();
  values.forEach((v, i) => {
    if (typeof v !== 'string' || v.length === 0)
      fail(`postprocessor.${field}[${i}] must be a non-empty string, got ${JSON.stringify(v)}`, `${field}/${i}`);
    const first = seen.get(v as string);
    if (distinct && first !== undefined)
      fail(`postprocessor.${field} has '${v}' twice (${field}[${first}] and ${field}[${i}])`, `${field}/${i}`);
    seen.set(v as string, i);
  });
  return values as string[];
}

/**
 * Checks a post-processor against the model it follows: the model's task, `k` against its
 * classes, and one entry of `items` / `classes` per class or cluster. Throws a
 * {@link PipelineSpecError} naming the field.
 *
 * @example
 * validatePostprocessor({ kind: 'topK', k: 12 }, model); // throws: postprocessor.k = 12 exceeds the model's 3 classes
 */
export function validatePostprocessor(post: Postprocessor, model: Model): void {
  const info = modelInfo(model);
  switch (post.kind) {
    case 'identity':
      return;
    case 'threshold': {
      if (info.task !== 'binary')
        fail(`threshold post-processor needs a binary model, got ${describeModel(model)}`, 'kind');
      const t = post.threshold;
      if (typeof t !== 'number' || !(t >= 0 && t <= 1))
        fail(`postprocessor.threshold = ${t} must be a number between 0 and 1`, 'threshold');
      if (post.labels !== undefined) {
        const labels = checkNames(post.labels, 'labels', true);
        if (labels.length !== 2)
          fail(`postprocessor.labels must be [negative, positive], got ${labels.length} entries`, 'labels');
      }
      return;
    }
    case 'topK': {
      if (info.task !== 'multiclass')
        fail(`topK post-processor needs a multiclass model, got ${describeModel(model)}`, 'kind');
      const K = info.size!;
      if (!Number.isInteger(post.k) || post.k < 1) fail(`postprocessor.k = ${post.k} must be a positive integer`, 'k');
      if (post.k > K) fail(`postprocessor.k = ${post.k} exceeds the model's ${K} classes`, 'k');
      if (post.items !== undefined) {
        const items = checkNames(post.items, 'items', true);
        if (items.length !== K)
          fail(`postprocessor.items has ${items.length} entries for the model's ${K} classes`, 'items');
      }
      return;
    }
    case 'classMapping': {
      if (info.task !== 'multiclass' && info.task !== 'clustering')
        fail(`classMapping post-processor needs a multiclass or k-means model, got ${describeModel(model)}`, 'kind');
      const K = info.size!;
      const what = info.task === 'clustering' ? 'clusters' : 'classes';
      const names = checkNames(post.classes, 'classes', false);
      if (names.length !== K)
        fail(`postprocessor.classes has ${names.length} entries for the model's ${K} ${what}`, 'classes');
      // The graph looks the label up among the classes as float32.
      const keys = new Map<number, number>();
      (info.classes ?? []).forEach((c, k) => {
        const other = keys.get(Math.fround(c));
        if (other !== undefined)
          fail(
            `the model's classes ${info.classes![other]} and ${c} are equal as float32, so classMapping cannot tell them apart`,
          );
        keys.set(Math.fround(c), k);
      });
      return;
    }
    default:
      fail(`unknown post-processor kind '${(post as { kind: string }).kind}'`, 'kind');
  }
}

/**
 * The outputs a post-processor adds after the model's, with element types and shapes
 * (`'N'` is the batch). The post-processor must be valid for the model.
 *
 * @example
 * postprocessorOutputs({ kind: 'threshold', threshold: 0.5 }, model); // [{ name: 'decision', elementType: 'int64', shape: ['N'] }]
 */
export function postprocessorOutputs(post: Postprocessor | undefined, model: Model): GraphValue[] {
  switch (post?.kind) {
    case undefined:
    case 'identity':
      return [];
    case 'threshold':
      return [{ name: 'decision', elementType: post.labels ? 'string' : 'int64', shape: ['N'] }];
    case 'topK':
      return [
        { name: 'top_k_scores', elementType: 'float32', shape: ['N', post.k] },
        { name: 'top_k_items', elementType: post.items ? 'string' : 'int64', shape: ['N', post.k] },
      ];
    case 'classMapping':
      return [{ name: 'class', elementType: 'string', shape: ['N'] }];
    default:
      throw new Error(`unknown post-processor kind '${(post as { kind: string }).kind}' (model ${model.kind})`);
  }
}

/** int64 (or float) keys -> strings; a key not found gives ''. */
function mapToStrings(
  b: GraphBuilder,
  input: string,
  keys: { ints: readonly number[] } | { floats: readonly number[] },
  values: readonly string[],
  name: string,
  output: string,
): void {
  b.addNode('LabelEncoder', [input], {
    name,
    domain: ML_DOMAIN,
    outputs: [output],
    attributes: {
      ...('ints' in keys ? { keys_int64s: attr.ints(keys.ints) } : { keys_floats: attr.floats(keys.floats) }),
      values_strings: attr.strings(values),
      default_string: attr.string(''),
    },
  });
}

/**
 * Adds the post-processor's nodes after the model's outputs (which must already be produced and
 * their names, and the post-processor's output names, reserved) and returns the outputs it
 * wrote ({@link postprocessorOutputs}). The post-processor must be valid for the model
 * ({@link validatePostprocessor}).
 *
 * @example
 * const outputs = emitPostprocessor(b, { kind: 'topK', k: 2 }, model); // top_k_scores, top_k_items
 */
export function emitPostprocessor(b: GraphBuilder, post: Postprocessor | undefined, model: Model): GraphValue[] {
  const outputs = postprocessorOutputs(post, model);
  if (post === undefined || post.kind === 'identity') return outputs;
  const info = modelInfo(model);
  if (post.kind === 'threshold') {
    // float32(probability) >= float32(threshold), as the reference compares.
    const t = b.addFloatInitializer('threshold_value', [post.threshold], []);
    const [ge] = b.addNode('GreaterOrEqual', ['probability', t], { name: 'threshold_compare' });
    if (!post.labels) {
      b.addNode('Cast', [ge], {
        name: 'decision_cast',
        attributes: { to: attr.int(DataType.INT64) },
        outputs: ['decision'],
      });
    } else {
      const [codes] = b.addNode('Cast', [ge], { name: 'threshold_cast', attributes: { to: attr.int(DataType.INT64) } });
      mapToStrings(b, codes, { ints: [0, 1] }, post.labels, 'decision_labels', 'decision');
    }
  } else if (post.kind === 'topK') {
    const k = b.addInt64Initializer('top_k_k', [post.k], [1]);
    // TopK keeps the lower index first among equal scores (ONNX opset 11+), as the reference.
    const indices = post.items ? b.uniqueOutputName('top_k_indices') : 'top_k_items';
    b.addNode('TopK', ['probabilities', k], {
      name: 'top_k',
      attributes: { axis: attr.int(1), largest: attr.int(1), sorted: attr.int(1) },
      outputs: ['top_k_scores', indices],
    });
    if (post.items) {
      const K = info.size!;
      const keys = Array.from({ length: K }, (_, j) => j);
      mapToStrings(b, indices, { ints: keys }, post.items, 'top_k_item_ids', 'top_k_items');
    }
  } else if (post.kind === 'classMapping') {
    // The label is a class value (float32, from the model's classes); the cluster an index.
    const source = info.task === 'clustering' ? 'cluster' : 'label';
    const keys = info.task === 'clustering' ? Array.from({ length: info.size! }, (_, j) => j) : info.classes!;
    mapToStrings(b, source, { floats: keys }, post.classes, 'class_names', 'class');
  }
  return outputs;
}

/**
 * The TypeScript reference of a post-processor, on the model's reference predictions
 * (`predict`): the graph is tested against it. Comparisons and rankings use the float32 values
 * of scores and threshold, as the graph does.
 *
 * @example
 * applyPostprocessor({ kind: 'threshold', threshold: 0.5, labels: ['no', 'yes'] }, model, { probability }).decision; // ['yes', 'no', …]
 */
export function applyPostprocessor(
  post: Postprocessor | undefined,
  model: Model,
  predictions: Predictions,
): PostprocessorOutputs {
  if (post === undefined || post.kind === 'identity') return {};
  const info = modelInfo(model);
  if (post.kind === 'threshold') {
    const p = predictions.probability!;
    const t = Math.fround(post.threshold);
    const codes = Float64Array.from(p, (v) => (Math.fround(v) >= t ? 1 : 0));
    return { decision: post.labels ? Array.from(codes, (c) => post.labels![c]) : codes };
  }
  if (post.kind === 'topK') {
    const probs = predictions.probabilities!;
    const K = info.size!;
    const n = probs.length / K;
    const scores = new Float64Array(n * post.k);
    const items = new Float64Array(n * post.k);
    const order = Array.from({ length: K }, (_, j) => j);
    for (let i = 0; i < n; i++) {
      const row = (j: number) => Math.fround(probs[i * K + j]);
      // Larger first, then the lower index; NaN compares equal to everything (a NaN row keeps index order).
      const ranked = [...order].sort((a, c) => (row(c) > row(a) ? 1 : row(c) < row(a) ? -1 : a - c));
      for (let r = 0; r < post.k; r++) {
        scores[i * post.k + r] = probs[i * K + ranked[r]];
        items[i * post.k + r] = ranked[r];
      }
    }
    return { top_k_scores: scores, top_k_items: post.items ? Array.from(items, (j) => post.items![j]) : items };
  }
  if (post.kind === 'classMapping') {
    if (info.task === 'clustering') return { class: Array.from(predictions.cluster!, (c) => post.classes[c] ?? '') };
    const index = new Map(info.classes!.map((c, k) => [Math.fround(c), k]));
    return { class: Array.from(predictions.label!, (v) => post.classes[index.get(Math.fround(v)) ?? -1] ?? '') };
  }
  throw new Error(`unknown post-processor kind '${(post as { kind: string }).kind}'`);
}
