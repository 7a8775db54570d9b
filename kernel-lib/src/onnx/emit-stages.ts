/**
 * ONNX emission of the transformer stages. Each stage takes the float32 feature matrix [N, F]
 * (columns in `stage.featureNames` order) and returns the tensor name of the matrix after it,
 * whose columns are `stageOutputNames(stage)`.
 */
import type { TransformerStage } from '../train/types';
import { GraphBuilder, ML_DOMAIN, attr } from './graph-builder';

/** Adds stage `k`'s nodes to `b`, reading matrix `x`; returns the output matrix's name. */
export function emitStage(b: GraphBuilder, stage: TransformerStage, x: string, k: number): string {
  const f = stage.featureNames.length;
  switch (stage.kind) {
    case 'imputer':
      return b.addNode('Imputer', [x], {
        name: `imputer_${k}`,
        domain: ML_DOMAIN,
        attributes: {
          imputed_value_floats: attr.floats(stage.values),
          // NaN is the missing marker (train/types.ts); ORT's Imputer matches NaN by isnan.
          replaced_value_float: attr.float(NaN),
        },
      })[0];
    case 'standardScaler': {
      // Sub/Div rather than ai.onnx.ml Scaler (which multiplies by 1/scale): dividing by
      // float32(scale) rounds once less, so the graph stays closer to the reference.
      const mean = b.addFloatInitializer(`scaler_${k}_mean`, stage.mean, [1, f]);
      const scale = b.addFloatInitializer(`scaler_${k}_scale`, stage.scale, [1, f]);
      const centred = b.addNode('Sub', [x, mean], { name: `scaler_${k}_sub` })[0];
      return b.addNode('Div', [centred, scale], { name: `scaler_${k}_div` })[0];
    }
    default:
      throw new Error(`stage ${k}: compiling '${stage.kind}' stages is not supported yet`);
  }
}

/** Checks stage `k`'s parameters (lengths, finiteness); throws naming the stage and feature. */
export function validateStage(stage: TransformerStage, k: number): void {
  const where = `stage ${k} (${stage.kind})`;
  const names = stage.featureNames;
  switch (stage.kind) {
    case 'imputer':
      checkParams(where, 'values', stage.values, names);
      return;
    case 'standardScaler':
      checkParams(where, 'mean', stage.mean, names);
      checkParams(where, 'scale', stage.scale, names);
      stage.scale.forEach((v, j) => {
        if (v === 0) throw new Error(`${where}: scale of '${names[j]}' is 0`);
      });
      return;
    default:
      return;
  }
}

/** One finite number per feature, or an error naming the first that is not. */
export function checkParams(where: string, what: string, values: readonly number[], names: readonly string[]): void {
  if (values.length !== names.length)
    throw new Error(`${where}: ${what} has ${values.length} entries for ${names.length} features`);
  values.forEach((v, j) => {
    if (!Number.isFinite(v)) throw new Error(`${where}: ${what} of '${names[j]}' is ${v}, expected a finite number`);
  });
}
