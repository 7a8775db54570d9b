/**
 * The one check every model family's ONNX tests make: the compiled graph, run by
 * onnxruntime-node and by Python onnxruntime after the official checker, gives the
 * TypeScript reference's outputs (evaluatePipeline) on the same data.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { OutputName } from '../../train/types';
import { runPython } from '../../train/test-support/python';
import { compilePipeline, evaluatePipeline, outputsOf, type PipelineSpec } from '../compile';
import { PipelineSession } from '../runtime';

/** Outputs compared exactly (class values, cluster indices); the rest within a tolerance. */
const EXACT: readonly OutputName[] = ['label', 'cluster'];

export interface ParityReport {
  /** Per output: the largest |ORT - reference| (mismatching rows for label and cluster). */
  diff: Partial<Record<OutputName, number>>;
  /** The onnxruntime-node outputs. */
  onnx: Partial<Record<OutputName, Float32Array>>;
  /** The TypeScript reference outputs. */
  reference: Partial<Record<OutputName, Float64Array>>;
}

/**
 * Compiles `spec`, runs it with onnxruntime-node on `columns` (one per input, each value
 * rounded to float32 first so that the reference sees what the graph sees) and compares every
 * output with evaluatePipeline. Throws, naming the output, row and both values, when a
 * continuous output differs by more than `tol` (default 1e-5, or `tol[output]`) or a label or
 * cluster differs at all.
 */
export async function expectOnnxParity(
  spec: PipelineSpec,
  columns: Float64Array[],
  tol: number | Partial<Record<OutputName, number>> = 1e-5,
): Promise<ParityReport> {
  const f32 = columns.map((c) => Float64Array.from(c, (v) => Math.fround(v)));
  const session = await PipelineSession.create(compilePipeline(spec));
  let onnx: Record<string, Float32Array>;
  try {
    onnx = await session.run(Object.fromEntries(spec.inputs.map((inp, j) => [inp.name, f32[j]])));
  } finally {
    await session.dispose();
  }
  const reference = evaluatePipeline(spec, f32);
  const report: ParityReport = { diff: {}, onnx: {}, reference: {} };
  for (const name of outputsOf(spec.model)) {
    const got = onnx[name];
    const want = reference[name];
    if (!got || !want)
      throw new Error(`output '${name}': onnx ${got ? 'has' : 'lacks'} it, reference ${want ? 'has' : 'lacks'} it`);
    if (got.length !== want.length)
      throw new Error(`output '${name}': onnx has ${got.length} values, reference ${want.length}`);
    report.onnx[name] = got;
    report.reference[name] = want;
    const exact = EXACT.includes(name);
    const bound = typeof tol === 'number' ? tol : (tol[name] ?? 1e-5);
    let worst = 0;
    let mismatches = 0;
    for (let i = 0; i < got.length; i++) {
      const d = Math.abs(got[i] - want[i]);
      if (exact ? got[i] !== Math.fround(want[i]) : !(d <= bound)) {
        if (exact) mismatches++;
        else throw new Error(`output '${name}' [${i}]: onnx ${got[i]}, reference ${want[i]} (|diff| ${d} > ${bound})`);
      }
      if (d > worst) worst = d;
    }
    if (mismatches > 0) {
      const i = got.findIndex((v, k) => v !== Math.fround(want[k]));
      throw new Error(
        `output '${name}': ${mismatches} of ${got.length} differ (first at ${i}: onnx ${got[i]}, reference ${want[i]})`,
      );
    }
    report.diff[name] = exact ? 0 : worst;
  }
  return report;
}

const CHECK_AND_RUN = `
import json, sys
import numpy as np, onnx, onnxruntime as ort
model_path, inputs_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
onnx.checker.check_model(onnx.load(model_path), full_check=True)
sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
names = [i.name for i in sess.get_inputs()]
data = np.fromfile(inputs_path, dtype="<f4").reshape(len(names), n)
outs = sess.run(None, {name: data[j].reshape(n, 1) for j, name in enumerate(names)})
print(json.dumps({o.name: np.asarray(v, dtype="f8").reshape(-1).tolist() for o, v in zip(sess.get_outputs(), outs)}))
`;

/**
 * Runs the official ONNX checker (`check_model(full_check=True)`) on the compiled `spec` and
 * scores `columns` with Python onnxruntime; returns its outputs by name (flattened, row-major).
 */
export function runInPython(spec: PipelineSpec, columns: Float64Array[]): Record<string, number[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'plinth-parity-'));
  try {
    const n = columns.length > 0 ? columns[0].length : 0;
    const modelPath = path.join(dir, 'model.onnx');
    const inputsPath = path.join(dir, 'inputs.f32');
    writeFileSync(modelPath, compilePipeline(spec));
    const flat = new Float32Array(columns.length * n);
    columns.forEach((c, j) => flat.set(c, j * n));
    writeFileSync(inputsPath, new Uint8Array(flat.buffer));
    return JSON.parse(runPython(['-c', CHECK_AND_RUN, modelPath, inputsPath, String(n)])) as Record<string, number[]>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
