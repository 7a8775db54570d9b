/**
 * Executes examples/quickstart.ipynb headless on the real tslab kernel against a real
 * `plinth up` (control plane + inference tier, small demo lake), and checks what it printed:
 * the notebook's local ONNX prediction and the inference tier's HTTP answer must agree.
 * Needs the build and the venv (scripts/test-all.sh provides both).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../server/src/test-support/net';

const root = path.resolve(__dirname, '..');
const venv = process.env.PLINTH_VENV ?? path.join(root, '.venv');
const run = promisify(execFile);

interface NbOutput {
  output_type: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
}
interface Nb {
  cells: { cell_type: string; outputs?: NbOutput[] }[];
}
const text = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join('') : (t ?? ''));

describe('examples/quickstart.ipynb', () => {
  let dataDir: string;
  let up: ChildProcess;
  let ports: { cp: number; infer: number };
  let upLog = '';

  beforeAll(async () => {
    for (const f of [
      path.join(root, 'server', 'dist', 'cli', 'main.js'),
      path.join(root, 'kernel-lib', 'dist', 'index.js'),
    ]) {
      if (!fs.existsSync(f)) throw new Error(`${f} is missing: build first (npm run build, or npm run test:all)`);
    }
    if (!fs.existsSync(path.join(venv, 'bin', 'jupyter')))
      throw new Error(`no JupyterLab in ${venv}: run npm run test:all`);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-quickstart-'));
    ports = { cp: await freePort(), infer: await freePort() };
    up = spawn(
      process.execPath,
      [
        path.join(root, 'server', 'bin', 'plinth.js'),
        'up',
        '--no-jupyter',
        '--data-dir',
        dataDir,
        '--demo-size',
        'small',
        '--port',
        String(ports.cp),
        '--infer-port',
        String(ports.infer),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    up.stdout?.on('data', (d) => (upLog += String(d)));
    up.stderr?.on('data', (d) => (upLog += String(d)));
    const deadline = Date.now() + 120_000;
    while (!upLog.includes('Press Ctrl-C to stop.')) {
      if (up.exitCode !== null) throw new Error(`plinth up exited with ${up.exitCode}:\n${upLog}`);
      if (Date.now() > deadline) throw new Error(`plinth up did not come up:\n${upLog}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 180_000);

  afterAll(async () => {
    if (up && up.exitCode === null) {
      const exited = new Promise((r) => up.once('exit', r));
      up.kill('SIGTERM');
      await exited;
    }
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs from the lake to a deployed model, and the server agrees with the notebook', async () => {
    const out = path.join(dataDir, 'quickstart.out.ipynb');
    const t0 = Date.now();
    await run(
      path.join(venv, 'bin', 'jupyter'),
      [
        'nbconvert',
        '--to',
        'notebook',
        '--execute',
        path.join(__dirname, 'quickstart.ipynb'),
        '--output',
        out,
        '--ExecutePreprocessor.timeout=600',
        '--ExecutePreprocessor.kernel_name=tslab',
      ],
      {
        cwd: __dirname,
        env: {
          ...process.env,
          PLINTH_URL: `http://127.0.0.1:${ports.cp}`,
          PLINTH_INFERENCE_URL: `http://127.0.0.1:${ports.infer}`,
        },
        maxBuffer: 64 * 1024 * 1024,
      },
    ).catch((e: Error & { stderr?: string }) => {
      throw new Error(`the notebook failed:\n${e.stderr ?? e.message}`);
    });
    const nb = JSON.parse(fs.readFileSync(out, 'utf8')) as Nb;
    const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
    expect(outputs.filter((o) => o.output_type === 'error')).toEqual([]);
    // Progress and tables are rich displays, not just text.
    const html = outputs.map((o) => text(o.data?.['text/html'])).join('\n');
    expect(html).toContain('Materializing user_activity');
    // deploy shows the tier's sanity test, then what the tier serves once it has switched.
    expect(html).toMatch(/Deploying click_model: click_model@\d+[\s\S]*serving click_model@\d+/);
    expect(html).toContain('Inference tier (HTTP) vs. notebook (local ONNX)');

    const line = outputs
      .map((o) => text(o.text))
      .join('')
      .split('\n')
      .find((l) => l.startsWith('QUICKSTART_RESULT '));
    expect(line, 'the notebook prints its summary').toBeDefined();
    const result = JSON.parse((line as string).slice('QUICKSTART_RESULT '.length)) as {
      exampleRows: number;
      validationAuc: number;
      model: string;
      maxAbsDiff: number;
      predictions: { server: number; notebook: number; user_ctr: string; user_id: number }[];
    };
    console.log(
      `quickstart: ${((Date.now() - t0) / 1000).toFixed(1)}s, ${result.exampleRows} examples, validation AUC ${result.validationAuc.toFixed(4)}, max |server - notebook| = ${result.maxAbsDiff}`,
    );
    expect(result.exampleRows).toBeGreaterThan(100_000);
    expect(result.validationAuc).toBeGreaterThanOrEqual(0.7);
    expect(result.maxAbsDiff).toBeLessThanOrEqual(1e-6);
    for (const p of result.predictions) {
      expect(p.server).toBeGreaterThan(0);
      expect(p.server).toBeLessThan(1);
    }
    // Known users have online features; the brand-new one is served from defaults (cold start).
    expect(result.predictions.slice(0, 3).map((p) => p.user_ctr)).toEqual(['present', 'present', 'present']);
    expect(result.predictions[3].user_ctr).toBe('not_found');
    // Distinct inputs give distinct predictions: the server really read the features.
    expect(new Set(result.predictions.map((p) => p.server)).size).toBe(result.predictions.length);
  }, 600_000);
});
