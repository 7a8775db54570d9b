/**
 * The Python reference libraries (scikit-learn, LightGBM, onnx, onnxruntime) that the trainers'
 * parity tests compare against: $PLINTH_PYTHON, else <repo>/.venv/bin/python, as set up by
 * the test command (scripts/test-all.sh installs scripts/requirements-test.txt).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '../../../..');
export const python = process.env.PLINTH_PYTHON ?? path.join(repo, '.venv', 'bin', 'python');
const SETUP_HINT =
  `run the test command (\`npm run test:all\`), which creates ${path.join(repo, '.venv')} from ` +
  `scripts/requirements-test.txt, or set PLINTH_PYTHON to a Python with those packages`;

/**
 * Runs the Python with `args`, `input` on stdin; returns stdout. A missing module fails with the
 * setup hint, anything else with Python's stderr. Never skips: the references are part of the test.
 */
export function runPython(args: string[], input?: string | Uint8Array): string {
  if (!existsSync(python)) throw new Error(`no Python at ${python}: ${SETUP_HINT}`);
  try {
    // One BLAS thread unless asked otherwise: on a shared 2-core machine more threads only contend.
    const env = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', ...process.env };
    return execFileSync(python, args, { input, env, stdio: 'pipe', maxBuffer: 1 << 30 }).toString();
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? String(e);
    const last = stderr.split('\n').pop() ?? '';
    if (/No module named/.test(stderr)) throw new Error(`${python} lacks a module (${last}): ${SETUP_HINT}`);
    throw new Error(`${python} ${args[0] === '-c' ? '-c <script>' : path.basename(args[0])} failed:\n${stderr}`);
  }
}

/** Runs a Python script given as text with a JSON document on stdin; parses its JSON stdout. */
export function runPythonJson<T>(script: string, input: unknown): T {
  return JSON.parse(runPython(['-c', script], JSON.stringify(input))) as T;
}
