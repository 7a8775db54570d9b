import { problem, ProblemError, type ModelVersion } from '@plinth/schema';
import { PipelineSession } from '@plinth/kernel-lib';
import type { Platform } from '../platform';
import { getArtifact } from './artifacts';
import { getModelVersion } from './models';

/** Sessions kept per artifact hash: loading a 500-tree graph costs far more than running it. */
const MAX_SESSIONS = 8;
const sessions = new Map<string, Promise<PipelineSession>>();

/**
 * Loads a published version (`3`, `latest` or an alias) in the control plane: the artifact is
 * read from the object store, its sha256 verified (409 when it no longer matches), and an
 * onnxruntime-node session created, the same way kernel-lib's `loadPipeline` does.
 */
export async function loadModelPipeline(
  p: Platform,
  name: string,
  ref?: string | number,
): Promise<{ version: ModelVersion; session: PipelineSession }> {
  const version = await getModelVersion(p, name, ref);
  const hash = version.artifact.sha256;
  let pending = sessions.get(hash);
  if (!pending) {
    pending = getArtifact(p.objects, hash).then((bytes) => PipelineSession.create(bytes));
    sessions.set(hash, pending);
    pending.catch(() => sessions.delete(hash));
    if (sessions.size > MAX_SESSIONS) {
      const [oldest] = sessions.keys();
      const evicted = sessions.get(oldest);
      sessions.delete(oldest);
      void evicted?.then((s) => s.dispose()).catch(() => undefined);
    }
  } else {
    // Re-verify the bytes on every load by reference: a corrupted object must not keep serving.
    await getArtifact(p.objects, hash);
  }
  return { version, session: await pending };
}

/** Forgets cached sessions (tests, and after an artifact is deleted). */
export function clearLoadedPipelines(): void {
  for (const s of sessions.values()) void s.then((x) => x.dispose()).catch(() => undefined);
  sessions.clear();
}

/**
 * Runs a version on input columns (`{ age: [31, null], country: ['fr', 'de'] }`, null =
 * missing, replaced by the input's default when it declares one) and returns its outputs as JSON arrays. Unknown or missing inputs are a 400 naming them.
 */
export async function predictWithVersion(
  p: Platform,
  name: string,
  ref: string | number | undefined,
  inputs: Record<string, (number | string | boolean | null)[]>,
): Promise<{
  model: string;
  version: number;
  outputs: Record<string, (number | string | null | (number | string | null)[])[]>;
}> {
  const { version, session } = await loadModelPipeline(p, name, ref);
  const errors = [];
  const expected = version.pipeline.inputs;
  for (const i of expected)
    if (!(i.name in inputs)) errors.push({ pointer: `/inputs/${i.name}`, detail: 'is required' });
  for (const k of Object.keys(inputs))
    if (!expected.some((i) => i.name === k))
      errors.push({ pointer: `/inputs/${k}`, detail: `is not an input of ${name}@${version.version}` });
  const lengths = new Set(Object.values(inputs).map((c) => c.length));
  if (lengths.size > 1) errors.push({ pointer: '/inputs', detail: 'every input needs the same number of values' });
  const columns: Record<string, unknown[]> = {};
  for (const i of expected) {
    const col = inputs[i.name];
    if (!col) continue;
    const isString = i.type === 'string';
    columns[i.name] = col.map((v, r) => {
      // Missing values take the input's declared default (cold start), as the inference tier does.
      if (v === null) return i.default ?? (isString ? null : NaN);
      if (isString !== (typeof v === 'string'))
        errors.push({ pointer: `/inputs/${i.name}/${r}`, detail: `must be a ${isString ? 'string' : 'number'}` });
      return typeof v === 'boolean' ? Number(v) : v;
    });
  }
  if (errors.length)
    throw new ProblemError(problem(400, 'Invalid inputs', `inputs of ${name}@${version.version}`, errors));
  const out = await session.runTyped(columns as Parameters<PipelineSession['runTyped']>[0]);
  const outputs: Record<string, (number | string | null | (number | string | null)[])[]> = {};
  const json = (x: number | string) => (typeof x === 'number' && Number.isNaN(x) ? null : x);
  for (const [k, t] of Object.entries(out)) {
    const flat = Array.from(t.data as ArrayLike<number | string>, json);
    // [N, K] outputs (class probabilities, top-k items) come back one row per instance.
    const width = t.dims.slice(1).reduce((a, b) => a * b, 1);
    const n = t.dims[0] ?? 0;
    outputs[k] = t.dims.length > 1 ? Array.from({ length: n }, (_, r) => flat.slice(r * width, (r + 1) * width)) : flat;
  }
  return { model: name, version: version.version, outputs };
}
