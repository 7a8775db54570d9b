/** Runs a pipeline's graph and its TypeScript reference side by side, typed outputs included. */
import { expect } from 'vitest';
import {
  compilePipeline,
  evaluatePipeline,
  type PipelineColumn,
  type PipelineOutputs,
  type PipelineSpec,
} from '../compile';
import { PipelineSession, type OutputTensor } from '../runtime';

/** The graph's outputs (onnxruntime-node) and the reference's, for the same columns. */
export async function graphAndReference(
  spec: PipelineSpec,
  columns: PipelineColumn[],
): Promise<{ graph: Record<string, OutputTensor>; ref: PipelineOutputs }> {
  const session = await PipelineSession.create(compilePipeline(spec));
  const graph = await session.runTyped(Object.fromEntries(spec.inputs.map((input, j) => [input.name, columns[j]])));
  await session.dispose();
  return { graph, ref: evaluatePipeline(spec, columns) };
}

/** Largest |a[i] - b[i]| where NaN equals NaN (and differs from any number: Infinity). */
export function maxDiffNaNEqual(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) {
      if (!(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return Infinity;
      continue;
    }
    m = Math.max(m, Math.abs(a[i] - b[i]));
  }
  return m;
}

/**
 * Every output of the reference is in the graph with the same values: strings and int64 values
 * equal, float32 scores within `tolerance`. Returns the largest score difference.
 */
export function expectSameOutputs(graph: Record<string, OutputTensor>, ref: PipelineOutputs, tolerance = 1e-6): number {
  expect(Object.keys(graph).sort()).toEqual(Object.keys(ref).sort());
  let worst = 0;
  for (const [name, expected] of Object.entries(ref) as [string, Float64Array | string[]][]) {
    const got = graph[name];
    if (Array.isArray(expected)) {
      expect(got.type, name).toBe('string');
      expect(got.data, name).toEqual(expected);
    } else if (got.type === 'int64') {
      expect(Array.from(got.data), name).toEqual(Array.from(expected));
    } else {
      expect(got.type, name).toBe('float32');
      const d = maxDiffNaNEqual(got.data as Float32Array, expected);
      expect(d, name).toBeLessThanOrEqual(tolerance);
      worst = Math.max(worst, d);
    }
  }
  return worst;
}
