/**
 * Deployments from the real `plinth` CLI (server/bin/plinth.js -> server/dist, built by vitest's
 * global setup) and from kernel-lib: deploy, list, canary, promote, history, rollback and
 * refusals against a real control plane and inference tier; kernel-lib's deploy/rollback must
 * resolve only once the tier serves the new state; and the docs' tritonclient example (test venv).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemError, type ExampleSet, type ModelVersion } from '@plinth/schema';
import { connect, pipelineSpec, splitByTime, train, type Plinth } from '@plinth/kernel-lib';
import { http, materializeAll, startTestPlatform, tempDir, type TestPlatform } from '../test-support/platform';

const bin = path.resolve(__dirname, '../../bin/plinth.js');

let t: TestPlatform;
let p: Plinth;
let es: ExampleSet;
let v1: ModelVersion;
let v2: ModelVersion;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI against the test platform, without the developer's PLINTH_* settings or ~/.plinth. */
async function cli(...args: string[]): Promise<Outcome> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PLINTH_')));
  return promisify(execFile)(process.execPath, [bin, ...args, '--control-plane', t.url], {
    env: { ...env, HOME: tempDir('home') },
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: Outcome) => e,
  );
}

type TierModel = {
  deployment: string;
  model: string;
  version: number;
  canary?: { version: number; share: number };
  shadow?: { version: number };
};

/** What the tier serves for `name` right now (no waiting). */
async function served(name: string): Promise<TierModel | undefined> {
  const h = (await http(t.infer!.url, 'GET', '/v1/health')).body as { models: TierModel[] };
  return h.models.find((m) => m.deployment === name);
}

/** Waits until the tier serves `version` for `name` (and the canary version, when given). */
async function servedSoon(name: string, version: number, canary?: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = await served(name);
    if (m?.version === version && m.canary?.version === canary) return;
    if (Date.now() > deadline) throw new Error(`${name} not serving v${version}: ${JSON.stringify(m)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function trainAndPublish(C: number): Promise<ModelVersion> {
  const table = await p.loadExampleSet(es.name, es.version);
  const { train: tr, test } = splitByTime(table, 0.8);
  const result = train({ data: tr, validation: test, C, display: false });
  return p.publish('ctr', pipelineSpec('ctr', result), result, { exampleSet: es, referenceData: test });
}

beforeAll(async () => {
  // pollMs of a minute: the tier follows the control plane's notifications, as in production.
  t = await startTestPlatform({ applyDemo: true, inference: true, pollMs: 60_000 });
  p = connect({ url: t.url, inferenceUrl: t.infer!.url });
  await materializeAll(t.client, ['user_features', 'product_features', 'clicks']);
  es = await p.buildExampleSet({
    name: 'clicks_train',
    labelView: 'clicks',
    features: ['user_features', 'product_features'],
  });
  v1 = await trainAndPublish(1.0);
  v2 = await trainAndPublish(0.001);
});
afterAll(async () => {
  await t?.close();
});

describe('plinth deploy / plinth deployments', () => {
  it('deploys, lists, runs a canary, promotes, rolls back and shows the history', async () => {
    const first = await cli('deploy', 'ctr', `ctr@${v1.version}`, '--reason', 'first release');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^deployed ctr: ctr@1\n/);
    expect(first.stdout).toContain(`sanity test: 32 reference examples replayed on ${t.infer!.url}, max |diff| `);
    expect(first.stdout).toMatch(
      /features: user_features@1 newest event [\d.]+ (s|min|h|d) old \(limit 60 d\), \d+ entities online/,
    );
    await servedSoon('ctr', 1);

    const list = await cli('deployments', 'list');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(
      /^name\s+model\s+version\s+canary\s+shadow\s+since\s+by\nctr\s+ctr\s+1\s+\d{4}-\d\d-\d\d /,
    );

    const canary = await cli('deploy', 'ctr', `ctr@${v2.version}`, '--canary', '25%', '--reason', 'try the weak prior');
    expect(canary.code, canary.stderr).toBe(0);
    expect(canary.stdout).toMatch(/^deployed ctr: ctr@1, canary v2 at 25%\n/);
    await servedSoon('ctr', 1, 2);
    expect((await cli('deployments', 'list')).stdout).toMatch(/\nctr\s+ctr\s+1\s+v2 25%\s+\d{4}-/);

    const promoted = await cli('deployments', 'promote', 'ctr', '--reason', 'canary looks fine');
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toBe('promoted ctr: ctr@2\n');
    await servedSoon('ctr', 2);

    const back = await cli('deployments', 'rollback', 'ctr', '--reason', 'v2 underperforms');
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toBe('rolled back ctr: ctr@1\n');
    await servedSoon('ctr', 1);

    const history = await cli('deployments', 'history', 'ctr');
    expect(history.code, history.stderr).toBe(0);
    const lines = history.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^revision\s+action\s+version\s+canary\s+shadow\s+when\s+by\s+reason\s+live$/);
    expect(lines.slice(1)).toHaveLength(4);
    expect(lines[1]).toMatch(/^4\s+rollback\s+ctr@1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+local\s+v2 underperforms\s+\*$/);
    expect(lines[2]).toMatch(/^3\s+promote\s+ctr@2\s+\S+ \S+\s+local\s+canary looks fine$/);
    expect(lines[3]).toMatch(/^2\s+canary\s+ctr@1\s+v2 25%\s+\S+ \S+\s+local\s+try the weak prior$/);
    expect(lines[4]).toMatch(/^1\s+deploy\s+ctr@1\s+\S+ \S+\s+local\s+first release$/);
  });

  it('exits non-zero with the problem on stderr when a deploy is refused or a deployment is unknown', async () => {
    const stale = await cli('deploy', 'ctr', `ctr@${v2.version}`, '--max-staleness', '60');
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toMatch(
      /Online features stale: feature view (user|product)_features@1: .* over the limit of 60 s/,
    );
    expect(stale.stdout).toBe('');
    await servedSoon('ctr', 1);

    for (const args of [
      ['deployments', 'history', 'nope'],
      ['deployments', 'rollback', 'nope'],
      ['deployments', 'promote', 'nope'],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(/Not found: deployment 'nope' does not exist/);
    }
    const noCanary = await cli('deployments', 'promote', 'ctr');
    expect(noCanary.code).not.toBe(0);
    expect(noCanary.stderr).toMatch(/No canary: deployment 'ctr' has no canary to promote/);
    const badShare = await cli('deploy', 'ctr', 'ctr@2', '--canary', '1.5');
    expect(badShare.code).not.toBe(0);
    expect(badShare.stderr).toMatch(/--canary.*1\.5/);
    const both = await cli('deploy', 'ctr', 'ctr@2', '--canary', '0.1', '--shadow');
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/--canary or --shadow, not both/);
    const unknownVersion = await cli('deploy', 'ctr', 'ctr@99');
    expect(unknownVersion.code).not.toBe(0);
    expect(unknownVersion.stderr).toMatch(/99/);
  });
});

describe('kernel-lib deploy, rollback, promoteCanary, deploymentHistory', () => {
  it('resolves only once the inference tier serves the new state', async () => {
    // The tier serves ctr@1 (the CLI test left it there).
    const d = await p.deploy('ctr', { model: 'ctr', version: v2.version, mode: 'canary', share: 0.5, reason: 'nb' });
    expect(d).toMatchObject({ version: 1, action: 'canary', canary: { version: 2, share: 0.5 } });
    // No waiting here: when deploy resolved, the tier already served the canary.
    expect(await served('ctr')).toMatchObject({ model: 'ctr', version: 1, canary: { version: 2, share: 0.5 } });
    const variants = new Set<string>();
    for (let i = 0; i < 40 && variants.size < 2; i++) {
      const r = await p.predict('ctr', [{ user_id: 1, product_id: 1 }], { experiment: 'exp_nb' });
      expect(r.experiment).toBe('exp_nb');
      expect(r.version).toBe(r.variant === 'canary' ? 2 : 1);
      variants.add(r.variant ?? 'primary');
    }
    expect([...variants].sort()).toEqual(['canary', 'primary']);

    const ended = await p.rollback('ctr', 'canary ends');
    expect(ended).toMatchObject({ version: 1, action: 'rollback', reason: 'canary ends' });
    expect(ended.canary).toBeUndefined();
    const now = await served('ctr');
    expect(now).toMatchObject({ version: 1 });
    expect(now?.canary).toBeUndefined();

    await p.deploy('ctr', { model: 'ctr', version: v2.version, mode: 'shadow' });
    expect((await served('ctr'))?.shadow).toEqual({ version: 2 });
    await p.deploy('ctr', { model: 'ctr', version: v2.version, mode: 'canary', share: 0.2 });
    const promoted = await p.promoteCanary('ctr', 'fine');
    expect(promoted).toMatchObject({ version: 2, action: 'promote' });
    const after = await served('ctr');
    expect(after).toMatchObject({ version: 2 });
    expect(after?.canary).toBeUndefined();

    const items = await p.deploymentHistory('ctr');
    expect(items.map((h) => h.deployment.action).slice(0, 5)).toEqual([
      'promote',
      'canary',
      'shadow',
      'rollback',
      'canary',
    ]);
    expect(items[0].live).toBe(true);
  });

  it('rejects a refused deploy with the problem and leaves the tier as it was', async () => {
    const err = await p.deploy('ctr', { model: 'ctr', version: v1.version, maxStalenessSeconds: 60 }).catch((e) => e);
    expect(err).toBeInstanceOf(ProblemError);
    expect((err as ProblemError).problem).toMatchObject({ status: 409, title: 'Online features stale' });
    expect(await served('ctr')).toMatchObject({ version: 2 });
  });
});

describe('docs/deployments.md', () => {
  it("the tritonclient example gets the JSON route's numbers over v2 binary tensors", async () => {
    // The example as the docs give it, against this tier; needs the test venv (npm run test:all).
    const venv = process.env.PLINTH_VENV ?? path.resolve(__dirname, '../../../.venv');
    const doc = fs.readFileSync(path.resolve(__dirname, '../../../docs/deployments.md'), 'utf8');
    const example = /```python\n([\s\S]*?)```/.exec(doc)![1].replace('127.0.0.1:8788', new URL(t.infer!.url).host);
    const { stdout } = await promisify(execFile)(path.join(venv, 'bin', 'python'), ['-c', example]);
    const fromTriton = (stdout.match(/-?\d+(\.\d+)?(e-?\d+)?/g) ?? []).map(Number);
    const json = await p.predict('ctr', [
      { user_id: 7, product_id: 3 },
      { user_id: 8, product_id: 3 },
    ]);
    expect(fromTriton).toHaveLength(2);
    fromTriton.forEach((x, i) =>
      expect(Math.abs(x - (json.predictions[i].outputs.probability as number))).toBeLessThan(1e-6),
    );
  });
});
