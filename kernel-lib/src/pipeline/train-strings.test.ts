/**
 * Training on string (Utf8 and dictionary) features: codes in a sorted vocabulary learned from
 * the training rows, recorded in the result; pipelineSpec makes them `string` inputs, and the
 * compiled graph, fed the raw strings, gives the trained model's predictions.
 */
import { Dictionary, Float64, Int32, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { train, pipelineSpec, type TrainModel } from './train';
import { compilePipelineDocument, pipelineSpecOf, referenceExamplesOf } from './document';
import { featureColumns } from '../example-store';
import { evaluatePipeline } from '../onnx/compile';
import { PipelineSession } from '../onnx/runtime';
import { rng } from '../onnx/test-support/fixtures';
import { expectSameOutputs, maxDiffNaNEqual } from '../onnx/test-support/typed';
import { applyStages } from '../train/preprocess';
import { predict } from '../train/predict';

const COUNTRIES = ['us', 'fr', 'de', 'jp'];
const DEVICES = ['web', 'ios', 'android'];

/** Clicks that depend on country, device and price; some strings missing or unseen. */
function clicks(n: number, seed: number, unseen = false): Table {
  const r = rng(seed);
  const price = new Float64Array(n);
  const country: (string | null)[] = [];
  const device: (string | null)[] = [];
  const target = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    price[i] = r() < 0.03 ? NaN : Math.fround(100 * r());
    const c = r() < 0.03 ? null : unseen && r() < 0.05 ? 'br' : COUNTRIES[Math.floor(r() * 4)];
    const d = r() < 0.03 ? null : DEVICES[Math.floor(r() * 3)];
    country.push(c);
    device.push(d);
    const logit =
      -1 +
      (c === 'fr' ? 1.5 : c === 'jp' ? -1.5 : 0) +
      (d === 'ios' ? 1 : 0) -
      (Number.isNaN(price[i]) ? 0 : price[i] / 100);
    target[i] = r() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return new Table({
    price: vectorFromArray(price, new Float64()),
    country: vectorFromArray(country, new Utf8()),
    device: vectorFromArray(device, new Dictionary(new Utf8(), new Int32())),
    target: vectorFromArray(target, new Float64()),
  });
}

describe('train on string features', () => {
  const tr = clicks(3000, 1);
  const te = clicks(600, 2, true);
  const features = ['price', 'country', 'device'];

  it('reads Utf8 and dictionary columns as codes of a sorted vocabulary; numeric columns unchanged', () => {
    const { columns, vocabularies } = featureColumns(tr, features);
    expect(vocabularies).toEqual({ country: ['de', 'fr', 'jp', 'us'], device: ['android', 'ios', 'web'] });
    const country = tr.getChild('country')!;
    for (let i = 0; i < 50; i++) {
      const v = country.get(i) as string | null;
      expect(Number.isNaN(columns[1][i]) ? null : vocabularies.country[columns[1][i]]).toBe(v);
    }
    expect(Array.from(columns[0])).toEqual(Array.from(tr.getChild('price')!.toArray() as Float64Array));
    // Validation rows use the training vocabulary: an unseen country is NaN.
    const v = featureColumns(te, features, vocabularies);
    const br = te.getChild('country')!.toArray().indexOf('br');
    expect(br).toBeGreaterThanOrEqual(0);
    expect(v.columns[1][br]).toBeNaN();
  });

  it.each<TrainModel>(['gbt', 'logisticRegression'])(
    '%s: string inputs in the pipeline; the graph fed raw strings gives the trained model',
    async (model) => {
      const result = train({ data: tr, validation: te, label: 'target', features, model, display: false });
      expect(result.vocabularies).toEqual({ country: ['de', 'fr', 'jp', 'us'], device: ['android', 'ios', 'web'] });
      expect(result.metrics.validation!.auc).toBeGreaterThan(0.65);
      // The string features are used (country strongly).
      expect(result.importance.slice(0, 2).map((f) => f.feature)).toContain('country');
      expect(result.importance.find((f) => f.feature === 'device')!.importance).toBeGreaterThan(0);
      if (model === 'logisticRegression') {
        // Linear models one-hot encode the codes first.
        expect(result.stages.map((s) => s.kind)).toEqual([
          'oneHotEncoder',
          'oneHotEncoder',
          'imputer',
          'standardScaler',
        ]);
      }

      const doc = pipelineSpec('clicks', result, {
        requestFeatures: features,
        defaults: { country: 'us' },
        postprocessor: { kind: 'threshold', threshold: 0.5, labels: ['skip', 'show'] },
      });
      expect(doc.inputs.map((i) => [i.name, i.type, i.categories ?? null, i.default ?? null])).toEqual([
        ['price', 'float64', null, null],
        ['country', 'string', ['de', 'fr', 'jp', 'us'], 'us'],
        ['device', 'string', ['android', 'ios', 'web'], null],
      ]);
      expect(doc.outputs).toEqual([
        { name: 'probability', type: 'float32' },
        { name: 'decision', type: 'string' },
      ]);
      const { onnx, manifest } = compilePipelineDocument(doc);
      expect(manifest.inputs.map((i) => i.elementType)).toEqual(['float32', 'string', 'string']);

      const raw = {
        price: te.getChild('price')!.toArray() as Float64Array,
        country: Array.from({ length: te.numRows }, (_, i) => te.getChild('country')!.get(i) as string | null),
        device: Array.from({ length: te.numRows }, (_, i) => te.getChild('device')!.get(i) as string | null),
      };
      const session = await PipelineSession.create(onnx);
      const graph = await session.runTyped(raw);
      // Reference examples keep the strings, inputs and outputs alike, and the NaN as null.
      const examples = await referenceExamplesOf(doc, session, te, 40);
      await session.dispose();
      expect(examples.inputs.country).toEqual(raw.country.slice(0, 40));
      expect(examples.inputs.price).toEqual(Array.from(raw.price.slice(0, 40), (v) => (Number.isNaN(v) ? null : v)));
      expect(examples.outputs.decision).toEqual((graph.decision.data as string[]).slice(0, 40));
      expect(examples.outputs.probability).toEqual(Array.from((graph.probability.data as Float32Array).slice(0, 40)));
      expectSameOutputs(graph, evaluatePipeline(pipelineSpecOf(doc), [raw.price, raw.country, raw.device]), 1e-5);

      // Without a default, the graph's codes are train()'s: the trained model's own predictions.
      const noDefault = compilePipelineDocument(pipelineSpec('clicks', result, { requestFeatures: features }));
      const s2 = await PipelineSession.create(noDefault.onnx);
      const { probability } = await s2.run(raw);
      await s2.dispose();
      const trained = predict(
        result.model,
        applyStages(result.stages, featureColumns(te, features, result.vocabularies).columns),
      ).probability!;
      const diff = maxDiffNaNEqual(probability, trained);
      console.log(`${model}: max |graph - trained model| = ${diff.toExponential(3)} on ${te.numRows} rows`);
      expect(diff).toBeLessThanOrEqual(1e-5);
    },
  );
});
