/**
 * train() inside a real tslab kernel (started by jupyter_client from the test venv, as JupyterLab
 * starts it): the progress display must appear once and then be updated in place, iteration by
 * iteration (gbt: validation loss; random forest: trees; multinomial logistic regression: solver
 * loss), ending on the validation metric. Every iopub message of the execution is recorded, so
 * the updates themselves are checked, not only the notebook's final state.
 * Needs the build (vitest's global setup) and the venv (npm run test:all).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTslabCell } from './test-support/tslab';

const repo = path.resolve(__dirname, '../../..');

// Two noisy classes for gbt and the forest; three for the multinomial model. Deterministic.
const CELL = `
import * as plinth from '@plinth/kernel-lib';
import { tableFromArrays } from 'apache-arrow';

let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const make = (n: number) => {
  const a = new Float64Array(n), b = new Float64Array(n), y = new Float64Array(n), y3 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = rand() * 4 - 2;
    b[i] = rand() * 4 - 2;
    y[i] = a[i] * b[i] + 0.5 * a[i] + (rand() - 0.5) > 0 ? 1 : 0;
    y3[i] = a[i] + 0.3 * (rand() - 0.5) < -0.7 ? 0 : a[i] < 0.7 ? 1 : 2;
  }
  return tableFromArrays({ a, b, y, y3 });
};
const data = make(4000);
const validation = make(1000);
const gbt = plinth.train({ data, validation, label: 'y', features: ['a', 'b'], model: 'gbt', params: { numIterations: 40 } });
const forest = plinth.train({ data, validation, label: 'y', features: ['a', 'b'], model: 'randomForest', params: { nEstimators: 20 } });
const multi = plinth.train({ data, validation, label: 'y3', features: ['a', 'b'], model: 'logisticRegression', task: 'multiclass' });
console.log('RESULT ' + JSON.stringify({
  gbt: gbt.metrics.validation?.auc, forest: forest.metrics.validation?.auc, multi: multi.metrics.validation?.accuracy,
}));
`;

describe('train() progress in a tslab kernel', () => {
  it('shows one display per training run and updates it per iteration, ending on the validation metric', async () => {
    const events = await runTslabCell(CELL, repo);
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    const result = events
      .map((e) => e.text)
      .join('')
      .split('\n')
      .find((l) => l.startsWith('RESULT '));
    expect(result, `the cell prints its result; got ${JSON.stringify(events).slice(0, 500)}`).toBeDefined();
    const r = JSON.parse(result!.slice('RESULT '.length)) as { gbt: number; forest: number; multi: number };
    expect(r.gbt).toBeGreaterThan(0.8);
    expect(r.forest).toBeGreaterThan(0.8);
    expect(r.multi).toBeGreaterThan(0.8);

    const runs = [
      {
        title: 'Training gbt (binary)',
        step: /iteration (\d+)\/40, train loss [\d.]+, validation loss [\d.]+/,
        min: 40,
      },
      { title: 'Training randomForest (binary)', step: /tree (\d+)\/20/, min: 20 },
      { title: 'Training logisticRegression (multiclass)', step: /iteration (\d+), loss [\d.]+/, min: 3 },
    ];
    const shown = events.filter((e) => e.type === 'display_data' && e.id);
    expect(shown.map((e) => runs.findIndex((x) => e.html.includes(x.title)))).toEqual([0, 1, 2]);
    runs.forEach((run, k) => {
      const updates = events.filter((e) => e.type === 'update_display_data' && e.id === shown[k].id);
      // The display appears with the first step; each later one updates it.
      const steps = [shown[k], ...updates].map((e) => run.step.exec(e.html)).filter((m) => m !== null);
      console.log(`${run.title}: 1 display, ${updates.length} updates, ${steps.length} with a step number`);
      expect(steps.length).toBeGreaterThanOrEqual(run.min);
      // Steps only go forward, and the last update is the final status with the validation metric.
      const numbers = steps.map((m) => Number(m[1]));
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
      expect(updates.at(-1)!.html).toMatch(/done: train (AUC|accuracy) [\d.]+, validation (AUC|accuracy) [\d.]+/);
    });
  }, 300_000);
});
