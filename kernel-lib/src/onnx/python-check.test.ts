/**
 * The compiled graph against the official ONNX checker and Python onnxruntime (what any other
 * consumer of Plinth models would use). Needs a Python with onnx, onnxruntime and numpy:
 * $PLINTH_PYTHON, else <repo>/.venv/bin/python (train/test-support/python.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePipeline, evaluatePipeline, type PipelineSpec } from './compile';
import { PipelineSession } from './runtime';
import { awkwardColumns, maxAbsDiff, randomSpec, toRecord } from './test-support/fixtures';
import { runPython, runPythonJson } from '../train/test-support/python';

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

  it('passes the checker and matches Python onnxruntime with string inputs and post-processors', async () => {
    const featureNames = ['price', 'country'];
    const inputs = [
      { name: 'price' },
      { name: 'country', type: 'string' as const, categories: ['de', 'fr', 'us'], default: 'us' },
    ];
    const specs: PipelineSpec[] = [
      {
        inputs,
        stages: [{ kind: 'imputer', featureNames, values: [10, 2] }],
        model: {
          kind: 'multinomialLogisticRegression',
          featureNames,
          classes: [1, 2, 3],
          coefficients: [
            [0.1, -1],
            [-0.05, 0.5],
            [0, 1],
          ],
          intercepts: [0, 0.2, -0.3],
        },
        postprocessor: { kind: 'topK', k: 2, items: ['shoes', 'hats', 'bags'] },
      },
      {
        inputs,
        stages: [{ kind: 'imputer', featureNames, values: [10, 2] }],
        model: { kind: 'logisticRegression', featureNames, coefficients: [0.05, -0.8], intercept: 0.3 },
        postprocessor: { kind: 'threshold', threshold: 0.5, labels: ['skip', 'show'] },
      },
    ];
    const feeds = { price: [3, NaN, 25, 12, 0.5], country: ['fr', 'xx', '', 'de', 'us'] };
    const script = [
      'import json, sys, numpy as np, onnx, onnxruntime as ort',
      'req = json.load(sys.stdin)',
      'onnx.checker.check_model(onnx.load(req["model"]), full_check=True)',
      'sess = ort.InferenceSession(req["model"], providers=["CPUExecutionProvider"])',
      'feeds = {"price": np.array(req["price"], dtype=np.float32).reshape(-1, 1),',
      '         "country": np.array(req["country"], dtype=object).reshape(-1, 1)}',
      'names = [o.name for o in sess.get_outputs()]',
      'out = sess.run(None, feeds)',
      'print(json.dumps({n: [None if isinstance(v, float) and v != v else v for v in np.asarray(o).reshape(-1).tolist()]',
      '                  for n, o in zip(names, out)}))',
    ].join('\n');
    for (const [k, spec] of specs.entries()) {
      const modelPath = path.join(dir, `post-${k}.onnx`);
      const bytes = compilePipeline(spec);
      writeFileSync(modelPath, bytes);
      const fromPython = runPythonJson<Record<string, (number | string | null)[]>>(script, {
        model: modelPath,
        price: feeds.price, // NaN travels as null, which numpy reads back as nan
        country: feeds.country,
      });
      const session = await PipelineSession.create(bytes);
      const node = await session.runTyped(feeds);
      await session.dispose();
      expect(Object.keys(fromPython)).toEqual(Object.keys(node));
      for (const [name, t] of Object.entries(node)) {
        const py = fromPython[name];
        if (t.type === 'string' || t.type === 'int64')
          expect(py, name).toEqual(Array.from(t.data as ArrayLike<number | string>));
        else
          expect(
            maxAbsDiff(
              Float64Array.from(py, (v) => (v === null ? NaN : (v as number))),
              t.data,
            ),
            name,
          ).toBeLessThanOrEqual(1e-6);
      }
      console.log(`python: ${spec.postprocessor!.kind} graph`, JSON.stringify(fromPython));
    }
  });
});
