import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModelFile, saveModelFile } from './model-file';
import { train } from './train';
import { applyStages } from '../train/preprocess';
import { predict } from '../train/predict';
import { loadDataset } from '../train/test-support/datasets';
import { expectOnnxParity } from '../onnx/test-support/parity';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-model-file-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('model file', () => {
  const d = loadDataset('breast_cancer');
  const data = tableFromArrays({ ...Object.fromEntries(d.featureNames.map((f, j) => [f, d.columns[j]])), target: d.y });

  it.each(['gbt', 'logisticRegression'] as const)(
    'round-trips a %s model: same predictions, same ONNX outputs',
    async (model) => {
      const result = train({
        data,
        label: 'target',
        features: d.featureNames,
        model,
        params: model === 'gbt' ? { numIterations: 20 } : {},
        display: false,
      });
      const file = path.join(dir, `${model}.plinth.json`);
      saveModelFile(file, result, { run: 'r-1' });
      const back = loadModelFile(file);
      expect(back.format).toBe('plinth.model');
      expect(back.label).toBe('target');
      expect(back.metadata).toEqual({ run: 'r-1' });
      expect(back.metrics?.['train.auc']).toBeCloseTo(result.metrics.train.auc!, 12);
      expect(back.model).toEqual(result.model);
      const before = predict(result.model, applyStages(result.stages, d.columns)).probability!;
      const after = predict(back.model, applyStages(back.stages, d.columns)).probability!;
      expect(after).toEqual(before);
      await expectOnnxParity(
        { inputs: back.featureNames.map((name) => ({ name })), stages: back.stages, model: back.model },
        d.columns,
      );
      expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    },
  );

  it('names the file and the field of a bad model file', () => {
    const good = path.join(dir, 'gbt.plinth.json');
    const doc = JSON.parse(fs.readFileSync(good, 'utf8'));
    const write = (name: string, content: string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, content);
      return f;
    };
    expect(() => loadModelFile(path.join(dir, 'missing.json'))).toThrow(/cannot read model file .*missing\.json/);
    expect(() => loadModelFile(write('broken.json', '{"format":'))).toThrow(/broken\.json is not JSON/);
    expect(() => loadModelFile(write('other.json', JSON.stringify({ ...doc, format: 'onnx' })))).toThrow(
      /other\.json is not a valid Plinth model file: \/format/,
    );
    const tree = { ...doc.model.trees[0], left: [...doc.model.trees[0].left] };
    tree.left[0] = 0;
    const cyclic = { ...doc, model: { ...doc.model, trees: [tree, ...doc.model.trees.slice(1)] } };
    expect(() => loadModelFile(write('cyclic.json', JSON.stringify(cyclic)))).toThrow(
      /cyclic\.json: model \(treeEnsemble\), tree 0, node 0: left child 0 must be a later node/,
    );
    const renamed = { ...doc, featureNames: ['a', ...doc.featureNames.slice(1)] };
    expect(() => loadModelFile(write('renamed.json', JSON.stringify(renamed)))).toThrow(
      /renamed\.json: model \(treeEnsemble\)/,
    );
  });
});
