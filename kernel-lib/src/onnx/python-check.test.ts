/**
 * The compiled graph against the official ONNX checker and Python onnxruntime (what any other
 * consumer of Plinth models would use). Needs a Python with onnx, onnxruntime and numpy:
 * $PLINTH_PYTHON, else <repo>/.venv/bin/python (train/test-support/python.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePipeline, evaluatePipeline } from './compile';
import { PipelineSession } from './runtime';
import { awkwardColumns, maxAbsDiff, randomSpec, toRecord } from './test-support/fixtures';
import { runPython } from '../train/test-support/python';

describe('official ONNX checker and Python onnxruntime', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'plinth-onnx-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds a Python with onnx, onnxruntime and numpy', () => {
    // Fails (never skips): the checker is part of what "compiles correctly" means.
    runPython(['-c', 'import onnx, onnxruntime, numpy']);
  });

  it('passes onnx.checker.check_model(full_check=True) and matches Python onnxruntime', async () => {
    const spec = randomSpec(5, 7);
    const n = 1000;
    const columns = awkwardColumns(spec, n, 11);
    const bytes = compilePipeline(spec);
    const modelPath = path.join(dir, 'pipeline.onnx');
    const inputsPath = path.join(dir, 'inputs.f32');
    const outputPath = path.join(dir, 'probability.f32');
    writeFileSync(modelPath, bytes);
    const flat = new Float32Array(columns.length * n);
    columns.forEach((c, j) => flat.set(c, j * n));
    writeFileSync(inputsPath, new Uint8Array(flat.buffer));

    // The checker one-liner as documented for operators, then the check-and-score script.
    runPython([
      '-c',
      'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)',
      modelPath,
    ]);
    const summary = runPython([
      path.join(__dirname, 'test-support', 'check_model.py'),
      modelPath,
      inputsPath,
      String(n),
      outputPath,
    ]);
    console.log(`python: ${summary.trim()}`);
    const info = JSON.parse(summary) as { inputs: string[]; outputs: string[]; output_shape: number[] };
    expect(info.inputs).toEqual(spec.inputs.map((i) => i.name));
    expect(info.outputs).toEqual(['probability']);
    expect(info.output_shape).toEqual([n]);

    const raw = readFileSync(outputPath);
    const fromPython = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const session = await PipelineSession.create(bytes);
    const { probability } = await session.run(toRecord(spec, columns));
    await session.dispose();
    const pyVsNode = maxAbsDiff(fromPython, probability);
    const pyVsRef = maxAbsDiff(fromPython, evaluatePipeline(spec, columns).probability!);
    console.log(
      `max |python ORT - node ORT| = ${pyVsNode.toExponential(3)}, max |python ORT - evaluatePipeline| = ${pyVsRef.toExponential(3)}`,
    );
    expect(pyVsNode).toBeLessThanOrEqual(1e-6);
    expect(pyVsRef).toBeLessThanOrEqual(1e-5);
  });

  it('passes the checker for the other graph shapes (one feature, no stages, scaler first)', () => {
    const one = randomSpec(1, 3);
    const base = randomSpec(3, 4);
    const variants = {
      one,
      bare: { ...base, stages: [] },
      scalerFirst: { ...base, stages: [base.stages[1], base.stages[0]] },
    };
    for (const [name, spec] of Object.entries(variants)) {
      const modelPath = path.join(dir, `${name}.onnx`);
      writeFileSync(modelPath, compilePipeline(spec));
      runPython([
        '-c',
        'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)',
        modelPath,
      ]);
    }
  });
});
