/** k-means clustering (scikit-learn's KMeans): k-means++ initialisation, Lloyd and Elkan. */
import type { Columns, KMeansModel, Predictions } from './types';

/** `cluster` (nearest centroid) and `distances` (Euclidean, [N, K] row-major). */
export function predictKMeans(model: KMeansModel, columns: Columns): Predictions {
  void model;
  void columns;
  throw new Error('predictKMeans: not implemented yet');
}
