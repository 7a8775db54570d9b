import { connect, pipelineSpec, splitByTime, train, type Plinth } from '@plinth/kernel-lib';
import type { ExampleSet, ModelVersion } from '@plinth/schema';
import { materializeAll, startTestPlatform, type TestPlatform, type TestPlatformOptions } from './platform';

/** The demo's click-through model on a running test platform with the inference tier. */
export interface CtrFixture {
  t: TestPlatform;
  p: Plinth;
  es: ExampleSet;
  /** Real user/product pairs from the newest labels. */
  instances: { user_id: number; product_id: number }[];
  /** Trains a logistic regression with regularisation `C` and publishes it as the next version of 'ctr'. */
  publish(C: number): Promise<ModelVersion>;
}

/**
 * Demo lake -> materialized views -> example set, with a platform whose inference tier runs in
 * this process: what the inference tests share before they train, publish and deploy.
 */
export async function startCtrFixture(opts: TestPlatformOptions = {}, count = 60): Promise<CtrFixture> {
  const t = await startTestPlatform({ applyDemo: true, inference: true, ...opts });
  const p = connect({ url: t.url, inferenceUrl: t.infer!.url, token: opts.token });
  await materializeAll(t.client, ['user_features', 'product_features', 'clicks']);
  const es = await p.buildExampleSet({
    name: 'clicks_train',
    labelView: 'clicks',
    features: ['user_features', 'product_features'],
  });
  const rows = (await p.loadExampleSet(es.name)).toArray().slice(-count) as { user_id: bigint; product_id: bigint }[];
  const instances = rows.map((r) => ({ user_id: Number(r.user_id), product_id: Number(r.product_id) }));
  const publish = async (C: number) => {
    const table = await p.loadExampleSet(es.name, es.version);
    const { train: tr, test } = splitByTime(table, 0.8);
    const result = train({ data: tr, validation: test, C, display: false });
    return p.publish('ctr', pipelineSpec('ctr', result), result, { exampleSet: es, referenceData: test });
  };
  return { t, p, es, instances, publish };
}
