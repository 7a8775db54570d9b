/** ONNX emission of k-means: `cluster` [N] and `distances` [N, K]. */
import type { KMeansModel } from '../train/types';
import type { EmittedOutput } from './emitted';
import { GraphBuilder } from './graph-builder';

export function emitKMeans(b: GraphBuilder, model: KMeansModel, x: string): EmittedOutput[] {
  void b;
  void x;
  throw new Error(`compiling '${model.kind}' is not supported yet`);
}
