/** ONNX emission of tree ensembles (gradient-boosted trees, random forests). */
import type { TreeEnsembleModel } from '../train/types';
import type { EmittedOutput } from './emitted';
import { GraphBuilder } from './graph-builder';

/** The outputs of the ensemble's task: `prediction`, `probability`, or `probabilities` + `label`. */
export function emitTreeEnsemble(b: GraphBuilder, model: TreeEnsembleModel, x: string): EmittedOutput[] {
  void b;
  void x;
  throw new Error(`compiling '${model.kind}' is not supported yet`);
}
