/** ONNX emission of k-means: `cluster` [N] and `distances` [N, K]. */
import type { KMeansModel } from '../train/types';
import type { EmittedOutput } from './emitted';
import { GraphBuilder, attr } from './graph-builder';
import { checkParams } from './emit-stages';
import { DataType } from './proto';

/**
 * Checks a k-means model's parameters: at least one centroid, each with one finite number per
 * feature. Throws naming the parameter and centroid.
 *
 * @example
 * ```ts
 * validateKMeans({ ...model, centroids: [] }, 'model'); // throws: model: centroids is empty
 * ```
 */
export function validateKMeans(model: KMeansModel, where: string): void {
  if (!Array.isArray(model.centroids) || model.centroids.length === 0)
    throw new Error(`${where}: centroids is empty; a k-means model needs at least one centroid`);
  model.centroids.forEach((c, k) => checkParams(where, `centroids[${k}]`, c, model.featureNames));
}

/**
 * Emits `distances` [N, K], the Euclidean distance to each centroid, and `cluster` [N], the
 * index (as float32) of the nearest centroid, the first on ties as the reference.
 *
 * Distances are computed from the broadcast differences x[:, None, :] - C (ReduceSumSquare over
 * features), not from the expansion ||x||^2 - 2 x.c + ||c||^2: the expansion cancels
 * catastrophically in float32 when points lie far from the origin but close to a centroid,
 * which would both distort distances and flip nearest-centroid choices. The [N, K, F]
 * intermediate (N * K * F floats) is small for serving batches; score very large batches in chunks.
 * Centroids are stored as float32, so far from the origin the distances carry their rounding
 * (a standard scaler stage before the model avoids that). ArgMin runs on the squared distances (Sqrt can
 * merge distinct values). Validates the model first ({@link validateKMeans}).
 *
 * @example
 * ```ts
 * const outputs = emitKMeans(b, model, 'features'); // [{ name: 'cluster', … }, { name: 'distances', … }]
 * ```
 */
export function emitKMeans(b: GraphBuilder, model: KMeansModel, x: string): EmittedOutput[] {
  validateKMeans(model, `model (${model.kind})`);
  const f = model.featureNames.length;
  const K = model.centroids.length;
  const centroids = b.addFloatInitializer('kmeans_centroids', model.centroids.flat(), [1, K, f]);
  const axes = b.addInt64Initializer('kmeans_unsqueeze_axes', [1], [1]);
  const [x3] = b.addNode('Unsqueeze', [x, axes], { name: 'kmeans_unsqueeze' }); // [N, 1, F]
  const [diff] = b.addNode('Sub', [x3, centroids], { name: 'kmeans_diff' }); // [N, K, F]
  // opset 17: ReduceSumSquare still takes axes as an attribute.
  const [sq] = b.addNode('ReduceSumSquare', [diff], {
    name: 'kmeans_squared_distances',
    attributes: { axes: attr.ints([2]), keepdims: attr.int(0) },
  });
  const [nearest] = b.addNode('ArgMin', [sq], {
    name: 'kmeans_argmin',
    attributes: { axis: attr.int(1), keepdims: attr.int(0), select_last_index: attr.int(0) },
  });
  b.addNode('Cast', [nearest], {
    name: 'cluster_cast',
    attributes: { to: attr.int(DataType.FLOAT) },
    outputs: ['cluster'],
  });
  b.addNode('Sqrt', [sq], { name: 'distances_sqrt', outputs: ['distances'] });
  return [
    { name: 'cluster', shape: ['N'] },
    { name: 'distances', shape: ['N', K] },
  ];
}
