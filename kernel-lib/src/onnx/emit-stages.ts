/**
 * ONNX emission of the transformer stages. Each stage takes the float32 feature matrix [N, F]
 * (columns in `stage.featureNames` order) and returns the tensor name of the matrix after it,
 * whose columns are `stageOutputNames(stage)`.
 */
import type { TransformerStage } from '../train/types';
import { DataType } from './proto';
import { GraphBuilder, ML_DOMAIN, attr } from './graph-builder';

/** Columns `indices` of matrix `x` as an [N, indices.length] matrix. */
function gatherColumns(b: GraphBuilder, x: string, indices: readonly number[], base: string): string {
  const idx = b.addInt64Initializer(`${base}_indices`, indices, [indices.length]);
  return b.addNode('Gather', [x, idx], { name: base, attributes: { axis: attr.int(1) } })[0];
}

/** Concatenates matrices along columns, skipping a Concat of one. */
function concatColumns(b: GraphBuilder, parts: readonly string[], base: string): string {
  return parts.length === 1
    ? parts[0]
    : b.addNode('Concat', parts, { name: base, attributes: { axis: attr.int(1) } })[0];
}

/** Indices 0..f-1 except `skip`, split into those before and after it. */
function around(f: number, skip: number): { before: number[]; after: number[] } {
  const all = Array.from({ length: f }, (_, j) => j);
  return { before: all.slice(0, skip), after: all.slice(skip + 1) };
}

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
    case 'minMaxScaler': {
      const scale = b.addFloatInitializer(`minmax_${k}_scale`, stage.scale, [1, f]);
      const offset = b.addFloatInitializer(`minmax_${k}_offset`, stage.offset, [1, f]);
      const scaled = b.addNode('Mul', [x, scale], { name: `minmax_${k}_mul` })[0];
      return b.addNode('Add', [scaled, offset], { name: `minmax_${k}_add` })[0];
    }
    case 'oneHotEncoder': {
      const j = stage.featureNames.indexOf(stage.column);
      const c = stage.categories.length;
      const column = gatherColumns(b, x, [j], `onehot_${k}_column`);
      const cats = b.addFloatInitializer(`onehot_${k}_categories`, stage.categories, [1, c]);
      // [N, 1] == [1, C] broadcasts to [N, C]; NaN equals nothing, so it gives all zeros.
      const eq = b.addNode('Equal', [column, cats], { name: `onehot_${k}_equal` })[0];
      const indicators = b.addNode('Cast', [eq], {
        name: `onehot_${k}_cast`,
        attributes: { to: attr.int(DataType.FLOAT) },
      })[0];
      const others = stage.featureNames.map((_, m) => m).filter((m) => m !== j);
      const parts = others.length > 0 ? [gatherColumns(b, x, others, `onehot_${k}_others`), indicators] : [indicators];
      return concatColumns(b, parts, `onehot_${k}_concat`);
    }
    case 'labelEncoder': {
      const j = stage.featureNames.indexOf(stage.column);
      const column = gatherColumns(b, x, [j], `label_${k}_column`);
      // A float -> float map with default NaN: NaN never matches a key, unknown values miss.
      const encoded = b.addNode('LabelEncoder', [column], {
        name: `label_${k}_encode`,
        domain: ML_DOMAIN,
        attributes: {
          keys_floats: attr.floats(stage.categories),
          values_floats: attr.floats(stage.categories.map((_, m) => m)),
          default_float: attr.float(NaN),
        },
      })[0];
      const { before, after } = around(f, j);
      const parts = [
        ...(before.length > 0 ? [gatherColumns(b, x, before, `label_${k}_before`)] : []),
        encoded,
        ...(after.length > 0 ? [gatherColumns(b, x, after, `label_${k}_after`)] : []),
      ];
      return concatColumns(b, parts, `label_${k}_concat`);
    }
    case 'selectFeatures':
      return gatherColumns(
        b,
        x,
        stage.keep.map((name) => stage.featureNames.indexOf(name)),
        `select_${k}`,
      );
    default:
      throw new Error(`stage ${k}: compiling '${(stage as { kind: string }).kind}' stages is not supported`);
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
    case 'minMaxScaler':
      checkParams(where, 'scale', stage.scale, names);
      checkParams(where, 'offset', stage.offset, names);
      return;
    case 'oneHotEncoder':
    case 'labelEncoder':
      checkColumnPresent(where, stage.column, names);
      checkCategories(where, stage.column, stage.categories);
      return;
    case 'selectFeatures': {
      if (stage.keep.length === 0) throw new Error(`${where}: keep is empty; a selection must keep a feature`);
      const seen = new Set<string>();
      for (const name of stage.keep) {
        checkColumnPresent(where, name, names);
        if (seen.has(name)) throw new Error(`${where}: feature '${name}' is kept twice`);
        seen.add(name);
      }
      return;
    }
    default:
      throw new Error(`${where}: unknown stage kind`);
  }
}

function checkColumnPresent(where: string, column: string, names: readonly string[]): void {
  if (!names.includes(column))
    throw new Error(`${where}: column '${column}' is not among its features (${names.join(', ')})`);
}

/**
 * Categories must be finite, non-empty, and distinct as float32: the graph compares float32
 * values, so two categories equal in float32 could not be told apart.
 */
function checkCategories(where: string, column: string, categories: readonly number[]): void {
  if (categories.length === 0) throw new Error(`${where}: column '${column}' has no categories`);
  const seen = new Map<number, number>();
  categories.forEach((c, m) => {
    if (!Number.isFinite(c))
      throw new Error(`${where}: category ${m} of '${column}' is ${c}, expected a finite number`);
    if (!Number.isFinite(Math.fround(c)))
      throw new Error(`${where}: category ${m} of '${column}' (${c}) overflows float32`);
    const other = seen.get(Math.fround(c));
    if (other !== undefined)
      throw new Error(`${where}: categories ${other} and ${c} of '${column}' are not distinct (as float32)`);
    seen.set(Math.fround(c), c);
  });
}

/** One finite number per feature, or an error naming the first that is not. */
export function checkParams(where: string, what: string, values: readonly number[], names: readonly string[]): void {
  if (values.length !== names.length)
    throw new Error(`${where}: ${what} has ${values.length} entries for ${names.length} features`);
  values.forEach((v, j) => {
    if (!Number.isFinite(v)) throw new Error(`${where}: ${what} of '${names[j]}' is ${v}, expected a finite number`);
  });
}
